/**
 * Everything an App Token session needs on Node, in one layer: the `KALTURA_*` configuration (or explicit
 * options), the `HttpClient` on `node:http`/`node:https` with a keep-alive agent, the `node:crypto` hasher, the
 * transport, the widget session service (step 1), the session and the authenticated client.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import type * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import * as KalturaClient from "@kaltura-effect/core/KalturaClient"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import type * as WidgetSession from "@kaltura-effect/core/WidgetSession"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as NodeTokenHasher from "./NodeTokenHasher.js"

/**
 * The services {@link layer} provides.
 *
 * @since 0.1.0
 * @category Models
 */
export type Services =
  | AppTokenSession.AppTokenSession
  | KalturaClient.KalturaClient
  | KalturaApi.KalturaApi
  | KalturaConfig.KalturaConfig
  | WidgetSession.WidgetSession

/**
 * Tuning for the transport and the session lifecycle; every field has a default.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Tuning {
  readonly api?: KalturaApi.Options | undefined
  readonly session?: AppTokenSession.Options | undefined
  /**
   * A session store shared with other processes (`FileSessionStore.layer(...)`, `RedisSessionStore.layer(...)`), so
   * that a fleet shares one KS and refreshes it once. Default: none.
   *
   * @since 0.2.0
   */
  readonly store?: Layer.Layer<SessionStore.SessionStore> | undefined
}

/**
 * `node:http` frees a connection once the response's body has been read to its end, so a body nobody reads pins its
 * socket until the response is garbage-collected; and `KalturaApi` reads only the body of a 200 (a 503 or a 302 would
 * each hold a connection). Each request is therefore bound, as `HttpClient.withScope` does it, to the scope it runs
 * in when there is one (`KalturaApi` runs every attempt in its own `Effect.scoped`): when that scope closes, an
 * unread response is aborted and its connection closed, while a response read to its end is already back in the
 * pool (aborting it does nothing).
 */
const releaseUnread = (client: HttpClient.HttpClient): HttpClient.HttpClient => {
  const scoped = HttpClient.withScope(client)
  return HttpClient.makeWith(
    (request: Effect.Effect<HttpClientRequest.HttpClientRequest>) =>
      Effect.flatMap(request, (request) =>
        Effect.flatMap(
          Effect.serviceOption(Scope.Scope),
          (scope) =>
            Option.isSome(scope)
              ? Effect.provideService(scoped.execute(request), Scope.Scope, scope.value)
              : client.execute(request)
        )),
    Effect.succeed
  )
}

/**
 * The `HttpClient` of {@link layerFrom}: `node:http`/`node:https` (`NodeHttpClient.layerWithoutAgent`) on a
 * keep-alive agent of its own, configured as Node's global agent is (`keepAlive`, idle sockets closed after 5 s or
 * the server's `Keep-Alive: timeout` hint, whichever is sooner), destroyed with the layer, with unread responses
 * released (`releaseUnread`). Like undici's client it follows no redirect, and a failed connection's error carries
 * the system code (`ECONNREFUSED`, ...); unlike it, a cold start's two calls share one connection. Chosen over
 * `NodeHttpClient.layerUndici` because a process gets its first KS sooner and with less memory: no WebAssembly HTTP
 * parser compiled on the first request, and, bundled, no undici to load (about 1 MiB of code before minifying).
 * Figures in packages/node/README.md.
 */
const httpClient: Layer.Layer<HttpClient.HttpClient> = Layer.effect(
  HttpClient.HttpClient,
  Effect.map(HttpClient.HttpClient, releaseUnread)
).pipe(
  Layer.provide(NodeHttpClient.layerWithoutAgent),
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true, timeout: 5000 }))
)

/**
 * Builds the whole stack on a configuration layer.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerFrom = <E, R>(
  config: Layer.Layer<KalturaConfig.KalturaConfig, E, R>,
  tuning?: Tuning
): Layer.Layer<Services, E, R> =>
  KalturaClient.layerAppToken(tuning).pipe(
    Layer.provide(
      Layer.mergeAll(NodeTokenHasher.layer, httpClient, tuning?.store ?? SessionStore.layerNone)
    ),
    Layer.provideMerge(config)
  )

/**
 * The whole stack for explicit options.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { AppTokenSession } from "@kaltura-effect/core"
 * import { NodeAppToken } from "@kaltura-effect/node"
 * import { Effect, Redacted } from "effect"
 *
 * const Kaltura = NodeAppToken.layer({
 *   partnerId: 12345,
 *   appTokenId: "0_ab12cd34",
 *   token: Redacted.make(process.env.MY_TOKEN ?? "")
 * })
 * const program = Effect.flatMap(AppTokenSession.AppTokenSession, (session) => session.ks)
 * // run it with Effect.runPromise(main), NodeRuntime.runMain(main), ...
 * export const main = Effect.provide(program, Kaltura)
 * ```
 */
export const layer = (
  options: KalturaConfig.Options,
  tuning?: Tuning
): Layer.Layer<Services, KalturaConfig.KalturaConfigError> => layerFrom(KalturaConfig.layer(options), tuning)

/**
 * The whole stack configured from the `KALTURA_*` environment variables.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerConfig = (tuning?: Tuning): Layer.Layer<Services, KalturaConfig.KalturaConfigError> =>
  layerFrom(KalturaConfig.layerConfig(), tuning)

/**
 * {@link layerConfig} with the defaults: `Layer.provide(AppTokenLive)` is all a program needs.
 *
 * @since 0.1.0
 * @category Layers
 */
export const AppTokenLive: Layer.Layer<Services, KalturaConfig.KalturaConfigError> = layerConfig()
