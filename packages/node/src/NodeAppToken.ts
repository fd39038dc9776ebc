/**
 * Everything an App Token session needs on Node, in one layer: the `KALTURA_*` configuration (or explicit
 * options), the undici `HttpClient`, the `node:crypto` hasher, the transport, the widget session service (step 1),
 * the session and the authenticated client.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import type * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import * as KalturaClient from "@kaltura-effect/core/KalturaClient"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import type * as WidgetSession from "@kaltura-effect/core/WidgetSession"
import * as Layer from "effect/Layer"
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
      Layer.mergeAll(NodeTokenHasher.layer, NodeHttpClient.layerUndici, tuning?.store ?? SessionStore.layerNone)
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
