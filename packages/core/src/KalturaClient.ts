/**
 * Authenticated Kaltura API calls: the "now make other API calls" step. Each call carries the current
 * App Token KS in its body; a call told that its KS expired or was revoked (`INVALID_KS` with
 * `EXPIRED` or `LOGOUT`) invalidates that session generation, waits for the one refresh, and is retried
 * once.
 *
 * @since 0.1.0
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as Brand from "effect/Brand"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import type * as Schema from "effect/Schema"
import * as AppTokenSessionModule from "./AppTokenSession.js"
import { AppTokenSession, type AppTokenSessionError } from "./AppTokenSession.js"
import * as Widget from "./internal/widget.js"
import * as KalturaApiModule from "./KalturaApi.js"
import { KalturaApi } from "./KalturaApi.js"
import { KalturaConfig } from "./KalturaConfig.js"
import { isExpiredOrRevokedKs, type KalturaApiError, KalturaDecodeError } from "./KalturaError.js"
import type { SessionStore } from "./SessionStore.js"
import type { TokenHasher } from "./TokenHasher.js"
import * as WidgetSessionModule from "./WidgetSession.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /**
   * Calls `service.action` with `params` and the current KS, decoding the result with `schema`.
   *
   * @example
   * ```ts
   * import { KalturaClient } from "@kaltura-effect/core"
   * import { Effect, Schema } from "effect"
   *
   * const EntryList = Schema.Struct({ totalCount: Schema.Number })
   * const program = Effect.gen(function*() {
   *   const client = yield* KalturaClient.KalturaClient
   *   const list = yield* client.call("baseEntry", "list", { pager: { pageSize: 5 } }, EntryList)
   *   return list.totalCount
   * })
   * ```
   */
  readonly call: <A, I>(
    service: string,
    action: string,
    params: Readonly<Record<string, unknown>>,
    schema: Schema.Schema<A, I>
  ) => Effect.Effect<A, AppTokenSessionError>
  /**
   * Sends several calls in one request (Kaltura's multirequest) with the current KS, and gives each call's outcome
   * decoded with its own schema: `Either.right(result)`, or `Either.left` of its typed error (a
   * `KalturaApiError` in its slot, or a `KalturaDecodeError`) without failing the others. Only a fault of the whole
   * request (transport, HTTP, a KS rejected for every call) fails the effect. A later call can use a scalar field of
   * an earlier call's result with `slot.ref("field")`: the server substitutes it, as a string, before running the
   * later call (a reference into a failed call gives `""`). If every call that ran was told its KS expired or was
   * revoked, the session is refreshed and the batch sent once more, as `call` does. A batch with a write in it
   * (`add`, `update`, `delete`, ...) is never re-sent after a failure that may have reached Kaltura.
   *
   * @since 0.2.0
   * @example
   * ```ts
   * import { KalturaClient } from "@kaltura-effect/core"
   * import { Effect, Schema } from "effect"
   *
   * const Entry = Schema.Struct({ id: Schema.String, name: Schema.String })
   * const Flavors = Schema.Struct({ totalCount: Schema.Number })
   * const program = Effect.gen(function*() {
   *   const client = yield* KalturaClient.KalturaClient
   *   const [entry, flavors] = yield* client.batch((add) => {
   *     const entry = add(KalturaClient.request("baseEntry", "get", { entryId: "0_abc" }, Entry))
   *     const flavors = add(KalturaClient.request("flavorAsset", "list", {
   *       filter: { entryIdEqual: entry.ref("id") }
   *     }, Flavors))
   *     return [entry, flavors] as const
   *   })
   *   return { entry, flavors } // each an Either
   * })
   * ```
   */
  readonly batch: {
    <const Slots extends ReadonlyArray<Slot<any>>>(
      build: (add: <A>(call: Call<A>) => Slot<A>) => Slots
    ): Effect.Effect<BatchResults<Slots>, AppTokenSessionError>
    <const Calls extends ReadonlyArray<Call<any>>>(
      calls: Calls
    ): Effect.Effect<
      { readonly [K in keyof Calls]: Calls[K] extends Call<infer A> ? SlotResult<A> : never },
      AppTokenSessionError
    >
  }
}

/**
 * One call of a batch: where it goes, its parameters, and the schema of its result.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Call<A> {
  readonly service: string
  readonly action: string
  readonly params: Readonly<Record<string, unknown>>
  readonly schema: Schema.Schema<A, any>
}

/**
 * A call for {@link Service.batch}.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const request = <A, I>(
  service: string,
  action: string,
  params: Readonly<Record<string, unknown>>,
  schema: Schema.Schema<A, I>
): Call<A> => ({ service, action, params, schema })

/**
 * A reference to a field of an earlier call's result (`{N:result:field}` on the wire), for a later call's parameters.
 *
 * @since 0.2.0
 * @category Models
 */
export type Reference = string & Brand.Brand<"@kaltura-effect/core/KalturaClient/Reference">

type Scalar = string | number | boolean | bigint
type ScalarKeys<A> = A extends object ?
  { [K in keyof A]-?: NonNullable<A[K]> extends Scalar ? K : never }[keyof A] & string
  : never
type ObjectKeys<A> = A extends object ?
    & {
      [K in keyof A]-?: NonNullable<A[K]> extends Scalar ? never : NonNullable<A[K]> extends object ? K : never
    }[keyof A]
    & string
  : never

/**
 * A call added to a batch, whose result later calls can refer to.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Slot<A> {
  /** Its position in the batch, from 0. */
  readonly index: number
  readonly call: Call<A>
  /** A scalar field of this call's result, or of an object field of it (`ref("objects", ...)` is not typed). */
  readonly ref: {
    <K extends ScalarKeys<A>>(field: K): Reference
    <K extends ObjectKeys<A>, F extends ScalarKeys<NonNullable<A[K]>>>(field: K, nested: F): Reference
  }
  /** The whole result, when it is a scalar (e.g. the KS `session.start` returns). */
  readonly result: Reference
}

/**
 * The outcome of one call of a batch.
 *
 * @since 0.2.0
 * @category Models
 */
export type SlotResult<A> = Either.Either<A, KalturaApiError | KalturaDecodeError>

/**
 * The outcomes of the slots a batch's builder returned.
 *
 * @since 0.2.0
 * @category Models
 */
export type BatchResults<Slots extends ReadonlyArray<Slot<any>>> = {
  readonly [K in keyof Slots]: Slots[K] extends Slot<infer A> ? SlotResult<A> : never
}

const makeSlot = <A>(index: number, call: Call<A>): Slot<A> => ({
  index,
  call,
  ref: (...path: ReadonlyArray<string>) => `{${index + 1}:result:${path.join(":")}}` as Reference,
  result: `{${index + 1}:result}` as Reference
})

/**
 * Authenticated Kaltura API calls.
 *
 * @since 0.1.0
 * @category Context
 */
export class KalturaClient extends Context.Tag("@kaltura-effect/core/KalturaClient")<KalturaClient, Service>() {}

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<Service, never, AppTokenSession | KalturaApi> = Effect.gen(function*() {
  return makeWith(yield* AppTokenSession, yield* KalturaApi)
})

const notRun = (call: Call<unknown>) =>
  new KalturaDecodeError({
    service: call.service,
    action: call.action,
    reason: "UnexpectedShape",
    description: "no result for this call: the multirequest stopped before it",
    attempts: 1
  })

const makeWith = (session: AppTokenSessionModule.Service, api: KalturaApiModule.Service): Service => {
  // One multirequest with the current KS; each slot interpreted with its own schema; `ran`: how many calls ran.
  const sendBatch = (calls: ReadonlyArray<Call<any>>, ks: Redacted.Redacted<string>) =>
    Effect.flatMap(
      api.executeBatch(calls.map(({ action, params, service }) => ({ service, action, params })), { ks }),
      ({ result }) =>
        Effect.map(
          Effect.forEach(calls, (call, i) =>
            i < result.length
              ? Effect.either(api.interpret(call, result[i], call.schema)) as Effect.Effect<SlotResult<unknown>>
              : Effect.succeed(Either.left(notRun(call)))),
          (outcomes) => ({ outcomes, ran: Math.min(result.length, calls.length) })
        )
    )

  const batch = (
    input: ((add: <A>(call: Call<A>) => Slot<A>) => ReadonlyArray<Slot<any>>) | ReadonlyArray<Call<any>>
  ) =>
    Effect.suspend(() => {
      const calls: Array<Call<any>> = []
      const add = <A>(call: Call<A>): Slot<A> => {
        calls.push(call)
        return makeSlot(calls.length - 1, call)
      }
      const slots = typeof input === "function" ? input(add) : input.map(add)
      return Effect.gen(function*() {
        const current = yield* session.get
        let sent = yield* Effect.either(sendBatch(calls, current.ks))
        // the KS was refused for the whole request, or for every call that ran: refresh once and send again
        const rejected = Either.isLeft(sent)
          ? isExpiredOrRevokedKs(sent.left)
          : sent.right.ran > 0 &&
            sent.right.outcomes.slice(0, sent.right.ran).every((r) => Either.isLeft(r) && isExpiredOrRevokedKs(r.left))
        if (rejected) {
          yield* session.invalidateGeneration(current.generation)
          yield* logReauth(current, "multirequest", "")
          sent = yield* Effect.either(sendBatch(calls, (yield* session.get).ks))
        }
        if (Either.isLeft(sent)) return yield* sent.left
        const { outcomes } = sent.right
        return slots.map((slot) => outcomes[slot.index]!)
      }).pipe(
        Effect.withSpan("KalturaClient.batch", {
          attributes: { "kaltura.calls": calls.length },
          captureStackTrace: false
        })
      )
    })

  return KalturaClient.of({
    batch: batch as Service["batch"],
    call: (service, action, params, schema) =>
      Effect.gen(function*() {
        const current = yield* session.get
        const first = yield* Effect.either(api.call({ service, action, params, ks: current.ks }, schema))
        if (Either.isRight(first)) return first.right
        if (!isExpiredOrRevokedKs(first.left)) return yield* first.left
        // Only the first of N concurrent failures with this generation drops it; all join one refresh.
        yield* session.invalidateGeneration(current.generation)
        yield* logReauth(current, service, action)
        const renewed = yield* session.get
        return yield* api.call({ service, action, params, ks: renewed.ks }, schema)
      }).pipe(
        Effect.withSpan("KalturaClient.call", {
          attributes: { "kaltura.service": service, "kaltura.action": action },
          captureStackTrace: false
        })
      )
  })
}

const logReauth = (current: AppTokenSessionModule.Session, service: string, action: string) =>
  Effect.logDebug("Kaltura rejected the KS as expired or revoked; refreshing and retrying once").pipe(
    Effect.annotateLogs({
      partner_id: current.partnerId,
      app_token_id: current.appTokenId,
      generation: current.generation,
      "kaltura.service": service,
      "kaltura.action": action
    })
  )

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<KalturaClient, never, AppTokenSession | KalturaApi> = Layer.effect(KalturaClient, make)

/**
 * The client and everything it stands on (transport, widget session, App Token session), built in one layer on the
 * configuration, a hasher, the session store (`SessionStore.layerNone` for none) and an `HttpClient`: what
 * `NodeAppToken` uses. One layer instead of four keeps a short-lived
 * process's start cheap (Effect's layer machinery costs more than building these services).
 *
 * @since 0.2.0
 * @category Layers
 * @example
 * ```ts
 * import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
 * import { KalturaClient, KalturaConfig, SessionStore, TokenHasher } from "@kaltura-effect/core"
 * import { Layer, Redacted } from "effect"
 *
 * const Kaltura = KalturaClient.layerAppToken().pipe(
 *   Layer.provide(Layer.mergeAll(TokenHasher.layer, FetchHttpClient.layer, SessionStore.layerNone)),
 *   Layer.provideMerge(KalturaConfig.layer({ partnerId: 12345, appTokenId: "0_ab12cd34", token: Redacted.make("...") }))
 * )
 * ```
 */
export const layerAppToken = (options?: {
  readonly api?: KalturaApiModule.Options | undefined
  readonly session?: AppTokenSessionModule.Options | undefined
}): Layer.Layer<
  KalturaClient | AppTokenSession | WidgetSessionModule.WidgetSession | KalturaApi,
  never,
  KalturaConfig | TokenHasher | SessionStore | HttpClient.HttpClient
> =>
  Layer.scopedContext(Effect.gen(function*() {
    const config = yield* KalturaConfig
    const api = yield* KalturaApiModule.make({
      ...options?.api,
      serviceUrl: config.serviceUrl,
      clientTag: config.clientTag
    })
    const widgetSession = WidgetSessionModule.WidgetSession.of(
      Widget.service(api, {
        partnerId: config.partnerId,
        widgetId: config.widgetId,
        expiry: WidgetSessionModule.defaultExpiry
      })
    )
    const session = yield* AppTokenSessionModule.make(options?.session).pipe(
      Effect.provideService(KalturaApi, api),
      Effect.provideService(WidgetSessionModule.WidgetSession, widgetSession)
    )
    return Context.make(KalturaApi, api).pipe(
      Context.add(WidgetSessionModule.WidgetSession, widgetSession),
      Context.add(AppTokenSession, session),
      Context.add(KalturaClient, makeWith(session, api))
    )
  }))

/**
 * A client for unit tests of code that calls `client.call`: one layer, no server. `handler` answers each call with
 * the JSON Kaltura would send (decoded with the caller's schema) or a Kaltura error (`KalturaApi.exception(...)`),
 * exactly as the real transport would surface them; the session is `AppTokenSession.layerTest(session)` (a fixed
 * KS, by default `"test-ks"` for partner 12345). An `INVALID_KS` `EXPIRED`/`LOGOUT` answer is refreshed and retried
 * once, as in production. Also provides the mock `KalturaApi` and `AppTokenSession` it is built on.
 *
 * @since 0.2.0
 * @category Testing
 * @example
 * ```ts
 * import { KalturaApi, KalturaClient } from "@kaltura-effect/core"
 * import { Effect, Schema } from "effect"
 *
 * const Kaltura = KalturaClient.layerTest((service, action, params) =>
 *   service === "baseEntry" && action === "list"
 *     ? { totalCount: 1, objects: [{ id: "0_abc", name: "Intro" }] }
 *     : KalturaApi.exception("SERVICE_FORBIDDEN", `The access to service [${service}->${action}] is forbidden`)
 * )
 * const names = Effect.gen(function*() {
 *   const client = yield* KalturaClient.KalturaClient
 *   const list = yield* client.call("baseEntry", "list", {}, Schema.Struct({ totalCount: Schema.Number }))
 *   return list.totalCount
 * })
 * const test = Effect.provide(names, Kaltura)
 * ```
 */
export const layerTest = (
  handler: KalturaApiModule.TestHandler,
  options?: { readonly session?: Parameters<typeof AppTokenSessionModule.layerTest>[0] | undefined }
): Layer.Layer<KalturaClient | KalturaApi | AppTokenSession> =>
  layer.pipe(
    Layer.provideMerge(KalturaApiModule.layerTest(handler)),
    Layer.provideMerge(AppTokenSessionModule.layerTest(options?.session ?? { ks: "test-ks", partnerId: 12345 }))
  )

/**
 * An `HttpClient` transformer for users who build their own Kaltura requests: it adds the current KS
 * as the `ks` field of each request's JSON body (only `POST` requests with a JSON object body are
 * changed). Re-authentication on `INVALID_KS` is up to the caller, through `invalidateGeneration`.
 *
 * @since 0.1.0
 * @category Transformers
 */
export const withKs = (
  session: AppTokenSession["Type"]
) =>
<E, R>(client: HttpClient.HttpClient.With<E, R>): HttpClient.HttpClient.With<E | AppTokenSessionError, R> =>
  HttpClient.mapRequestEffect(client, (request) => {
    if (request.method !== "POST" || request.body._tag !== "Uint8Array") return Effect.succeed(request)
    const body = request.body
    const text = new TextDecoder().decode(body.body)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return Effect.succeed(request)
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) return Effect.succeed(request)
    return Effect.map(session.ks, (ks) =>
      HttpClientRequest.setBody(
        request,
        HttpBody.text(JSON.stringify({ ...json, ks: Redacted.value(ks) }), body.contentType)
      ))
  })
