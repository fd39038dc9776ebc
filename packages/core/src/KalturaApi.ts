/**
 * The Kaltura API v3 transport that every service here uses: one call is one
 * `POST {serviceUrl}/api_v3/service/{service}/action/{action}` with a JSON body, decoded with `Schema`,
 * with Kaltura's HTTP-200 errors turned into typed failures and transient faults retried.
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"
import { KalturaConfig } from "./KalturaConfig.js"
import {
  KalturaApiError,
  type KalturaCallError,
  KalturaDecodeError,
  KalturaHttpError,
  KalturaTransportError,
  KnownCode,
  scrub,
  withAttempts
} from "./KalturaError.js"

/**
 * One Kaltura API call. Parameter values may be `Redacted`: they are unwrapped only into the request
 * body. `undefined` and `null` parameters are not sent. The KS, when given, goes in the body as `ks`,
 * never in the URL or a header.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Request {
  readonly service: string
  readonly action: string
  readonly params?: Readonly<Record<string, unknown>> | undefined
  readonly ks?: Redacted.Redacted<string> | undefined
  /**
   * Whether sending the request twice is harmless. Default: {@link isIdempotentAction} of the action (reads such as
   * `get` and `list` are; `add`, `update`, `delete` and anything unknown are not). A request that is not idempotent is
   * retried only after a failure that certainly did not reach Kaltura (connection refused, `ACTION_BLOCKED`, HTTP
   * 429), never after a timeout or a broken connection: a retried `add` could create a second object.
   *
   * @since 0.2.0
   */
  readonly idempotent?: boolean | undefined
  /**
   * Kaltura codes that are permanent for this request although {@link KalturaError.transientCodes} lists them,
   * e.g. `START_SESSION_ERROR` of `session.start`, which there means a wrong secret.
   *
   * @since 0.2.0
   */
  readonly permanentCodes?: ReadonlyArray<string> | undefined
}

/**
 * One call of a multirequest.
 *
 * @since 0.2.0
 * @category Models
 */
export interface BatchRequest {
  readonly service: string
  readonly action: string
  readonly params?: Readonly<Record<string, unknown>> | undefined
}

/**
 * Whether an action is a read that is harmless to repeat: its name starts with `get`, `list`, `count`, `search`,
 * `serve`, `check` or `validate` (any case), as Kaltura's reads do.
 *
 * @since 0.2.0
 * @category Classification
 */
export const isIdempotentAction = (action: string): boolean =>
  /^(get|list|count|search|serve|check|validate)/i.test(action)

/**
 * A decoded result with the timing facts needed to turn server times into local deadlines: when the
 * request was sent and answered (`Clock` milliseconds) and the server's `Date` header, if any.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Response<A> {
  readonly result: A
  readonly sentAt: number
  readonly receivedAt: number
  readonly serverDate: Option.Option<number>
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** The API host calls go to, without a trailing slash. */
  readonly serviceUrl: string
  /** Sends a request and decodes its result with `schema`, with retries for transient faults. */
  readonly execute: <A, I>(
    request: Request,
    schema: Schema.Schema<A, I>
  ) => Effect.Effect<Response<A>, KalturaCallError>
  /** Like `execute`, returning only the result. */
  readonly call: <A, I>(request: Request, schema: Schema.Schema<A, I>) => Effect.Effect<A, KalturaCallError>
  /**
   * Sends several calls in one multirequest (`service=multirequest`, the calls numbered from 1, the KS sent once and
   * inherited by each). Its result is one raw JSON value per call that ran, in order: the call's result, or a
   * `KalturaAPIException` object in its place (see `KalturaClient.batch` for typed slots). It is idempotent only if
   * every call is (see {@link Request.idempotent}).
   *
   * @since 0.2.0
   */
  readonly executeBatch: (
    requests: ReadonlyArray<BatchRequest>,
    options?: { readonly ks?: Redacted.Redacted<string> | undefined; readonly idempotent?: boolean | undefined }
  ) => Effect.Effect<Response<ReadonlyArray<unknown>>, KalturaCallError>
  /**
   * Turns one raw JSON value (a call's result, or a slot of a multirequest) into the result or the typed error, as
   * the transport does for a whole response.
   *
   * @since 0.2.0
   */
  readonly interpret: <A, I>(
    request: BatchRequest,
    json: unknown,
    schema: Schema.Schema<A, I>
  ) => Effect.Effect<A, KalturaCallError>
}

/**
 * The Kaltura API transport.
 *
 * @since 0.1.0
 * @category Context
 */
export class KalturaApi extends Context.Tag("@kaltura-effect/core/KalturaApi")<KalturaApi, Service>() {}

/**
 * Transport options; every field has a default.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** How long one attempt (request and body) may take. Default 10 seconds. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * When to retry a transient failure (it receives the error). Default {@link defaultRetrySchedule}.
   * Permanent failures are never retried, whatever the schedule.
   */
  readonly retrySchedule?: Schedule.Schedule<unknown, KalturaCallError> | undefined
  /** Changes the injected `HttpClient`, e.g. to add a proxy header or tracing. */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/**
 * The default per-attempt timeout.
 *
 * @since 0.1.0
 * @category Defaults
 */
export const defaultTimeout: Duration.Duration = Duration.seconds(10)

/**
 * The default retry policy for transient faults: about 200 ms doubling, jittered, at most 4 retries;
 * a rate-limited call (`ACTION_BLOCKED`) waits five times longer.
 *
 * @since 0.1.0
 * @category Defaults
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, KalturaCallError> = Schedule.identity<
  KalturaCallError
>().pipe(
  Schedule.intersect(Schedule.exponential("200 millis", 2)),
  Schedule.modifyDelay(([error], delay) =>
    error._tag === "KalturaApiError" && error.code === KnownCode.ACTION_BLOCKED ? Duration.times(delay, 5) : delay
  ),
  Schedule.intersect(Schedule.recurs(4)),
  Schedule.jittered
)

// ---------------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------------

const ApiException = Schema.Struct({
  objectType: Schema.Literal("KalturaAPIException"),
  code: Schema.String,
  message: Schema.optionalWith(Schema.String, { default: () => "" }),
  // `args` is an object of strings, or PHP's empty array `[]` when the error has none
  args: Schema.optionalWith(
    Schema.Union(
      Schema.Record({ key: Schema.String, value: Schema.Union(Schema.String, Schema.Number, Schema.Boolean) }),
      Schema.Array(Schema.Unknown)
    ),
    { default: () => [] }
  )
})

const describePath = (path: ReadonlyArray<PropertyKey>) =>
  path.length === 0 ? "the body" : path.map((key) => JSON.stringify(String(key))).join(".")

interface LeafIssue {
  readonly missing: boolean
  readonly path: ReadonlyArray<PropertyKey>
  /** What the schema expected, from its own message or its type; never the offending value. */
  readonly expected: string | undefined
}

/** A schema's own message (a constant string), if it has one. */
const messageOf = (ast: AST.AST): string | undefined => {
  const annotation = AST.getMessageAnnotation(ast)
  if (annotation._tag === "None") return undefined
  try {
    const message: unknown = (annotation.value as (issue: unknown) => unknown)(undefined)
    return typeof message === "string" ? message : undefined
  } catch {
    return undefined
  }
}

const expectationOf = (ast: AST.AST): string => {
  const text = messageOf(ast) ?? String(ast)
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}

/**
 * The leaf issues of a parse failure with their paths. Walks the issue tree itself: Effect's formatters render
 * each offending value, which is slow for a huge body and overflows the stack for a deeply nested one (and the
 * value may be a KS). The tree is as deep as the schema, not as the data.
 */
const leafIssues = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, out: Array<LeafIssue>): void => {
  switch (issue._tag) {
    case "Pointer":
      return leafIssues(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])], out)
    case "Refinement":
      // a failed predicate is described by the refinement's own message ("a KS (base64 text of ...)")
      if (issue.kind === "Predicate" && messageOf(issue.ast) !== undefined) {
        out.push({ missing: false, path, expected: messageOf(issue.ast) })
        return
      }
      return leafIssues(issue.issue, path, out)
    case "Transformation":
      return leafIssues(issue.issue, path, out)
    case "Composite":
      for (const inner of Array.isArray(issue.issues) ? issue.issues : [issue.issues]) leafIssues(inner, path, out)
      return
    case "Missing":
      out.push({ missing: true, path, expected: undefined })
      return
    case "Type":
      out.push({ missing: false, path, expected: expectationOf(issue.ast) })
      return
    default:
      out.push({ missing: false, path, expected: undefined })
  }
}

/**
 * Describes a parse failure by where and what was expected, never by the offending value (which may be a KS).
 */
const describeParseError = (error: ParseResult.ParseError): string => {
  const issues: Array<LeafIssue> = []
  leafIssues(error.issue, [], issues)
  const parts = issues.slice(0, 3).map((issue) =>
    issue.missing
      ? `missing at ${describePath(issue.path)}`
      : `unexpected value at ${describePath(issue.path)}${
        issue.expected === undefined ? "" : `: expected ${issue.expected}`
      }`
  )
  return parts.join("; ") + (issues.length > 3 ? ` (+${issues.length - 3} more)` : "")
}

/**
 * Turns a JSON body into the result or the typed error, as Kaltura means it: a `KalturaAPIException` object (sent
 * with HTTP 200) is a `KalturaApiError`, anything else is decoded with the caller's schema.
 */
const interpret = <A>(
  request: BatchRequest & { readonly permanentCodes?: ReadonlyArray<string> | undefined },
  json: unknown,
  decode: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>
): Effect.Effect<A, KalturaCallError> => {
  const fail = { service: request.service, action: request.action, attempts: 1 }
  const decodeError = (error: ParseResult.ParseError) =>
    new KalturaDecodeError({ ...fail, reason: "UnexpectedShape", description: describeParseError(error) })
  if (Predicate.isRecord(json) && json.objectType === "KalturaAPIException") {
    return Schema.decodeUnknown(ApiException)(json).pipe(
      Effect.mapError(decodeError),
      Effect.flatMap((exception) => {
        const args: Record<string, string> = {}
        if (!Array.isArray(exception.args)) {
          for (const [name, value] of Object.entries(exception.args)) args[name] = scrub(String(value))
        }
        return new KalturaApiError({
          ...fail,
          code: exception.code,
          kalturaMessage: scrub(exception.message),
          args,
          ...(request.permanentCodes?.includes(exception.code) ? { permanent: true } : {})
        })
      })
    )
  }
  return Effect.mapError(decode(json), decodeError)
}

/** The parameters as sent: `Redacted` values unwrapped, `undefined` and `null` left out (a JSON `null` is not "unset"). */
const paramsOf = (params: Readonly<Record<string, unknown>> | undefined): Record<string, unknown> => {
  const body: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null) continue
    body[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  return body
}

const toBody = (
  params: Record<string, unknown>,
  ks: Redacted.Redacted<string> | undefined,
  clientTag: string
): string => {
  const body = { ...params }
  if (ks !== undefined) body.ks = Redacted.value(ks)
  body.format = 1
  body.clientTag = clientTag
  return JSON.stringify(body)
}

/** A multirequest's body: the calls under "1", "2", ..., each with its service and action. */
const batchParams = (requests: ReadonlyArray<BatchRequest>): Record<string, unknown> => {
  const body: Record<string, unknown> = {}
  requests.forEach((request, i) => {
    body[String(i + 1)] = { service: request.service, action: request.action, ...paramsOf(request.params) }
  })
  return body
}

/** A multirequest's answer: one JSON value per call that ran. */
const BatchBody: Schema.Schema<ReadonlyArray<unknown>> = Schema.Array(Schema.Unknown)

/** A failure that certainly did not reach Kaltura, so that even a write may be sent again. */
const certainlyNotDelivered = (error: KalturaCallError): boolean =>
  (error._tag === "KalturaTransportError" && error.description.includes("ECONNREFUSED")) ||
  (error._tag === "KalturaApiError" && error.code === KnownCode.ACTION_BLOCKED) ||
  (error._tag === "KalturaHttpError" && error.status === 429)

/** The operating system's error code (`ECONNREFUSED`, `ENOTFOUND`, ...) somewhere in a cause chain, if any. */
const systemErrorCode = (cause: unknown): string | undefined => {
  for (let depth = 0; depth < 5 && Predicate.isObject(cause); depth++) {
    const code = (cause as { readonly code?: unknown }).code
    if (typeof code === "string" && /^E[A-Z_]+$/.test(code)) return code
    cause = (cause as { readonly cause?: unknown }).cause
  }
  return undefined
}

/**
 * A redirect is answered as it is (a `KalturaHttpError`), never followed: `fetch` follows redirects by default,
 * which would take the call, and with a 307 or 308 its body (the KS and the token hash), to another origin, and
 * take that origin's answer as Kaltura's. The undici and `node:http` clients do not follow redirects.
 */
const noRedirects = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.serviceOption(FetchHttpClient.RequestInit),
    (init) =>
      Effect.provideService(effect, FetchHttpClient.RequestInit, { ...Option.getOrUndefined(init), redirect: "manual" })
  )

const parseDateHeader = (value: string | undefined): Option.Option<number> => {
  if (value === undefined) return Option.none()
  const ms = Date.parse(value)
  return Number.isFinite(ms) ? Option.some(ms) : Option.none()
}

/**
 * Builds the transport on the injected `HttpClient`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options: Options & {
    /** The API host, e.g. `https://www.kaltura.com`. Validate it with `KalturaConfig.validateServiceUrl`. */
    readonly serviceUrl: string
    /** Sent as `clientTag`. */
    readonly clientTag: string
  }
): Effect.Effect<Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const serviceUrl = options.serviceUrl.replace(/\/+$/, "")
    const timeout = Duration.decode(options.timeout ?? defaultTimeout)
    const retrySchedule = options.retrySchedule ?? defaultRetrySchedule
    const httpClient = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.acceptJson),
      options.transformClient ?? identity
    )

    /** What one HTTP request carries: the names for errors and spans, the path, the body, how to retry. */
    interface Target {
      readonly service: string
      readonly action: string
      readonly path: string
      readonly body: string
      readonly idempotent: boolean
      readonly permanentCodes: ReadonlyArray<string> | undefined
    }

    const attemptOnce = <A>(
      target: Target,
      decode: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>
    ): Effect.Effect<Response<A>, KalturaCallError> => {
      const { action, service } = target
      const fail = { service, action, attempts: 1 }
      const transportError = (error: HttpClientError.HttpClientError) => {
        const code = systemErrorCode(error.cause)
        const detail = [code, error._tag === "RequestError" ? error.description : "reading the response"]
          .filter((part) => part !== undefined && part !== "")
          .map((part) => scrub(part!))
          .join(", ")
        return new KalturaTransportError({
          ...fail,
          reason: "Transport",
          description: `${error.reason} error${detail === "" ? "" : ` (${detail})`}`
        })
      }
      return Effect.gen(function*() {
        const sentAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        const httpRequest = HttpClientRequest.post(`${serviceUrl}${target.path}`).pipe(
          HttpClientRequest.bodyText(target.body, "application/json")
        )
        const { body, headers, status } = yield* noRedirects(httpClient.execute(httpRequest)).pipe(
          Effect.flatMap((response) =>
            response.status === 200
              ? Effect.map(response.text, (body) => ({ status: response.status, headers: response.headers, body }))
              : Effect.succeed({ status: response.status, headers: response.headers, body: "" })
          ),
          Effect.scoped,
          Effect.mapError(transportError),
          Effect.timeoutFail({
            duration: timeout,
            onTimeout: () =>
              new KalturaTransportError({
                ...fail,
                reason: "Timeout",
                description: `no complete response within ${Duration.format(timeout)}`
              })
          })
        )
        const receivedAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
        if (status !== 200) return yield* new KalturaHttpError({ ...fail, status })
        let json: unknown
        try {
          json = JSON.parse(body)
        } catch {
          return yield* new KalturaDecodeError({
            ...fail,
            reason: "NotJson",
            description: `the body is not JSON (${body.length} characters, content-type ${
              headers["content-type"] ?? "none"
            })`
          })
        }
        const result = yield* interpret(target, json, decode)
        return { result, sentAt, receivedAt, serverDate: parseDateHeader(headers["date"]) }
      })
    }

    // One target sent until it succeeds or the policy stops: transient faults only, and for a request that is not
    // idempotent only those that certainly did not reach Kaltura.
    const send = <A>(
      target: Target,
      decode: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>
    ): Effect.Effect<Response<A>, KalturaCallError> =>
      Effect.suspend(() => {
        let attempts = 0
        const retryable = (error: KalturaCallError) =>
          error.isTransient && (target.idempotent || certainlyNotDelivered(error))
        return Effect.suspend(() => {
          attempts++
          return attemptOnce(target, decode)
        }).pipe(
          Effect.tapError((error) =>
            retryable(error)
              ? Effect.logDebug("Kaltura call failed; retrying if the policy allows").pipe(
                Effect.annotateLogs({ error: error._tag, attempt: attempts })
              )
              : Effect.void
          ),
          Effect.retry({ schedule: retrySchedule, while: retryable }),
          Effect.mapError((error) => withAttempts(error, attempts))
        )
      }).pipe(
        Effect.annotateLogs({ "kaltura.service": target.service, "kaltura.action": target.action }),
        Effect.withSpan("KalturaApi.call", {
          attributes: { "kaltura.service": target.service, "kaltura.action": target.action },
          captureStackTrace: false
        })
      )

    const decoder = <A, I>(schema: Schema.Schema<A, I>) =>
      Schema.decodeUnknown(schema, { onExcessProperty: "ignore", errors: "all" })

    const execute = <A, I>(
      request: Request,
      schema: Schema.Schema<A, I>
    ): Effect.Effect<Response<A>, KalturaCallError> =>
      Effect.suspend(() =>
        send({
          service: request.service,
          action: request.action,
          // service ids are lower case on the wire (as the official clients send them); errors keep the caller's
          // spelling
          path: `/api_v3/service/${request.service.toLowerCase()}/action/${request.action}`,
          body: toBody(paramsOf(request.params), request.ks, options.clientTag),
          idempotent: request.idempotent ?? isIdempotentAction(request.action),
          permanentCodes: request.permanentCodes
        }, decoder(schema))
      )

    const executeBatch: Service["executeBatch"] = (requests, batchOptions) =>
      Effect.suspend(() =>
        send({
          service: "multirequest",
          action: "",
          path: "/api_v3/service/multirequest",
          body: toBody(batchParams(requests), batchOptions?.ks, options.clientTag),
          idempotent: batchOptions?.idempotent ?? requests.every((request) => isIdempotentAction(request.action)),
          permanentCodes: undefined
        }, decoder(BatchBody))
      )

    return KalturaApi.of({
      serviceUrl,
      execute,
      call: (request, schema) => Effect.map(execute(request, schema), (response) => response.result),
      executeBatch,
      interpret: (request, json, schema) => interpret(request, json, decoder(schema))
    })
  })

/**
 * The transport for the configured service URL and client tag, on the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options?: Options): Layer.Layer<KalturaApi, never, HttpClient.HttpClient | KalturaConfig> =>
  Layer.effect(
    KalturaApi,
    Effect.flatMap(
      KalturaConfig,
      (config) => make({ ...options, serviceUrl: config.serviceUrl, clientTag: config.clientTag })
    )
  )

// ---------------------------------------------------------------------------------------------------------
// Testing
// ---------------------------------------------------------------------------------------------------------

/**
 * Answers one call in tests: with the JSON body Kaltura would send (decoded with the caller's schema; a
 * `KalturaAPIException` object, see {@link exception}, becomes a `KalturaApiError` exactly as from the server), or
 * with an `Effect` of it (to fail with any `KalturaCallError`, to take time, to count calls). `params` are the
 * call's parameters as the caller passed them; `ks` the KS it was sent with.
 *
 * @since 0.2.0
 * @category Testing
 */
export type TestHandler = (
  service: string,
  action: string,
  params: Readonly<Record<string, unknown>>,
  context: { readonly ks: Redacted.Redacted<string> | undefined }
) => unknown

/**
 * The body of a Kaltura API error, as the server sends it (HTTP 200), for {@link TestHandler}s.
 *
 * @since 0.2.0
 * @category Testing
 */
export const exception = (
  code: string,
  message: string = code,
  args?: Readonly<Record<string, string>>
): {
  readonly code: string
  readonly message: string
  readonly objectType: "KalturaAPIException"
  readonly args: Readonly<Record<string, string>> | ReadonlyArray<never>
} => ({ code, message, objectType: "KalturaAPIException", args: args ?? [] })

/**
 * A transport answered by `handler` instead of Kaltura: no HTTP, no retries. Errors, spans and decoding are those of
 * the real transport, so code under test sees what it would see in production.
 *
 * @since 0.2.0
 * @category Testing
 */
export const makeTest = (handler: TestHandler, options?: { readonly serviceUrl?: string | undefined }): Service => {
  const now = Effect.clockWith((clock) => clock.currentTimeMillis)
  const answer = (
    request: BatchRequest,
    ks: Redacted.Redacted<string> | undefined
  ): Effect.Effect<unknown, KalturaCallError> => {
    const reply = handler(request.service, request.action, request.params ?? {}, { ks })
    return Effect.isEffect(reply) ? (reply as Effect.Effect<unknown, KalturaCallError>) : Effect.succeed(reply)
  }
  const span = (service: string, action: string) =>
    Effect.withSpan("KalturaApi.call", {
      attributes: { "kaltura.service": service, "kaltura.action": action },
      captureStackTrace: false
    })
  const decoder = <A, I>(schema: Schema.Schema<A, I>) =>
    Schema.decodeUnknown(schema, { onExcessProperty: "ignore", errors: "all" })
  const execute = <A, I>(request: Request, schema: Schema.Schema<A, I>): Effect.Effect<Response<A>, KalturaCallError> =>
    Effect.gen(function*() {
      const sentAt = yield* now
      const json = yield* answer(request, request.ks)
      const result = yield* interpret(request, json, decoder(schema))
      return { result, sentAt, receivedAt: yield* now, serverDate: Option.none() }
    }).pipe(span(request.service, request.action))
  // A multirequest answered call by call, with references to earlier results resolved as the server does.
  const executeBatch: Service["executeBatch"] = (requests, batchOptions) =>
    Effect.gen(function*() {
      const sentAt = yield* now
      const results: Array<unknown> = []
      for (const request of requests) {
        const params = resolveReferences(request.params ?? {}, results) as Record<string, unknown>
        const json = yield* answer({ ...request, params }, batchOptions?.ks).pipe(
          Effect.catchTag("KalturaApiError", (error) =>
            Effect.succeed(exception(error.code, error.kalturaMessage, error.args)))
        )
        results.push(json)
      }
      return { result: results, sentAt, receivedAt: yield* now, serverDate: Option.none() }
    }).pipe(span("multirequest", ""))
  return KalturaApi.of({
    serviceUrl: options?.serviceUrl ?? "https://kaltura.test",
    execute,
    call: (request, schema) => Effect.map(execute(request, schema), (response) => response.result),
    executeBatch,
    interpret: (request, json, schema) => interpret(request, json, decoder(schema))
  })
}

const referencePattern = /\{([0-9]*):result:?(.*)?\}/

/** Resolves `{N:result:a:b}` in every string parameter, as Kaltura does between the calls of a multirequest. */
const resolveReferences = (value: unknown, results: ReadonlyArray<unknown>): unknown => {
  if (typeof value === "string") {
    const match = referencePattern.exec(value)
    if (match === null) return value
    // a value holding a reference is replaced whole (the server's pattern is greedy)
    let target: unknown = results[Number(match[1]) - 1]
    if (Predicate.isRecord(target) && target.objectType === "KalturaAPIException") target = undefined
    for (const key of (match[2] ?? "").split(":").filter((part) => part !== "")) {
      target = Predicate.isRecord(target) ? target[key] : undefined
    }
    return target === undefined || target === null || typeof target === "object" ? "" : String(target)
  }
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, results))
  if (Predicate.isRecord(value) && !Redacted.isRedacted(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveReferences(item, results)]))
  }
  return value
}

/**
 * {@link makeTest} as a layer.
 *
 * @since 0.2.0
 * @category Testing
 * @example
 * ```ts
 * import { KalturaApi } from "@kaltura-effect/core"
 * import { Effect, Schema } from "effect"
 *
 * const Api = KalturaApi.layerTest((service, action) =>
 *   service === "baseEntry" && action === "get"
 *     ? { id: "0_abc", name: "Intro" }
 *     : KalturaApi.exception("ENTRY_ID_NOT_FOUND", "Entry id not found")
 * )
 * const program = Effect.flatMap(KalturaApi.KalturaApi, (api) =>
 *   api.call({ service: "baseEntry", action: "get", params: { entryId: "0_abc" } }, Schema.Struct({ name: Schema.String })))
 * const test = Effect.provide(program, Api)
 * ```
 */
export const layerTest = (handler: TestHandler): Layer.Layer<KalturaApi> =>
  Layer.sync(KalturaApi, () => makeTest(handler))
