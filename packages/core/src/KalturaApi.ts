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
}

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
  request: Request,
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
        return new KalturaApiError({ ...fail, code: exception.code, kalturaMessage: scrub(exception.message), args })
      })
    )
  }
  return Effect.mapError(decode(json), decodeError)
}

const toBody = (request: Request, clientTag: string): string => {
  const body: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(request.params ?? {})) {
    if (value === undefined || value === null) continue
    body[name] = Redacted.isRedacted(value) ? Redacted.value(value) : value
  }
  if (request.ks !== undefined) body.ks = Redacted.value(request.ks)
  body.format = 1
  body.clientTag = clientTag
  return JSON.stringify(body)
}

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

    const attemptOnce = <A>(
      request: Request,
      decode: (u: unknown) => Effect.Effect<A, ParseResult.ParseError>
    ): Effect.Effect<Response<A>, KalturaCallError> => {
      const { action, service } = request
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
        // service ids are lower case on the wire (as the official clients send them); errors keep the caller's spelling
        const path = `/api_v3/service/${service.toLowerCase()}/action/${action}`
        const httpRequest = HttpClientRequest.post(`${serviceUrl}${path}`).pipe(
          HttpClientRequest.bodyText(toBody(request, options.clientTag), "application/json")
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
        const result = yield* interpret(request, json, decode)
        return { result, sentAt, receivedAt, serverDate: parseDateHeader(headers["date"]) }
      })
    }

    const execute = <A, I>(
      request: Request,
      schema: Schema.Schema<A, I>
    ): Effect.Effect<Response<A>, KalturaCallError> => {
      const decode = Schema.decodeUnknown(schema, { onExcessProperty: "ignore", errors: "all" })
      return Effect.suspend(() => {
        let attempts = 0
        return Effect.suspend(() => {
          attempts++
          return attemptOnce(request, decode)
        }).pipe(
          Effect.tapError((error) =>
            error.isTransient
              ? Effect.logDebug("Kaltura call failed; retrying if the policy allows").pipe(
                Effect.annotateLogs({ error: error._tag, attempt: attempts })
              )
              : Effect.void
          ),
          Effect.retry({ schedule: retrySchedule, while: (error) => error.isTransient }),
          Effect.mapError((error) => withAttempts(error, attempts))
        )
      }).pipe(
        Effect.annotateLogs({ "kaltura.service": request.service, "kaltura.action": request.action }),
        Effect.withSpan("KalturaApi.call", {
          attributes: { "kaltura.service": request.service, "kaltura.action": request.action },
          captureStackTrace: false
        })
      )
    }

    return KalturaApi.of({
      serviceUrl,
      execute,
      call: (request, schema) => Effect.map(execute(request, schema), (response) => response.result)
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
  const execute = <A, I>(request: Request, schema: Schema.Schema<A, I>): Effect.Effect<Response<A>, KalturaCallError> =>
    Effect.gen(function*() {
      const sentAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      const answer = handler(request.service, request.action, request.params ?? {}, { ks: request.ks })
      const json = Effect.isEffect(answer) ? yield* (answer as Effect.Effect<unknown, KalturaCallError>) : answer
      const result = yield* interpret(
        request,
        json,
        Schema.decodeUnknown(schema, { onExcessProperty: "ignore", errors: "all" })
      )
      const receivedAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      return { result, sentAt, receivedAt, serverDate: Option.none() }
    }).pipe(
      Effect.withSpan("KalturaApi.call", {
        attributes: { "kaltura.service": request.service, "kaltura.action": request.action },
        captureStackTrace: false
      })
    )
  return KalturaApi.of({
    serviceUrl: options?.serviceUrl ?? "https://kaltura.test",
    execute,
    call: (request, schema) => Effect.map(execute(request, schema), (response) => response.result)
  })
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
