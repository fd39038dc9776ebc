/**
 * The library stacks the benchmarks build: one `AppTokenSession` on an injected `HttpClient`, with the
 * `node:crypto` hasher, as `NodeAppToken` assembles it (`KalturaClient.layerAppToken`).
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import type * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import * as KalturaClient from "@kaltura-effect/core/KalturaClient"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import * as NodeTokenHasher from "@kaltura-effect/node/NodeTokenHasher"
import * as Layer from "effect/Layer"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Tuning {
  readonly api?: KalturaApi.Options | undefined
  readonly session?: AppTokenSession.Options | undefined
}

/**
 * One session for `config`, on the `HttpClient` in context.
 *
 * @since 0.1.0
 * @category Layers
 */
export const session = (
  config: KalturaConfig.Options,
  tuning?: Tuning
): Layer.Layer<AppTokenSession.AppTokenSession, KalturaConfig.KalturaConfigError, HttpClient.HttpClient> =>
  KalturaClient.layerAppToken(tuning).pipe(
    Layer.provide(NodeTokenHasher.layer),
    Layer.provide(SessionStore.layerNone),
    Layer.provide(KalturaConfig.layer(config))
  )
