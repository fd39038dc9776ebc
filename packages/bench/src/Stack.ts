/**
 * The library stacks the benchmarks build: one `AppTokenSession` on an injected `HttpClient`, with the
 * `node:crypto` hasher, as a program would assemble it.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as WidgetSession from "@kaltura-effect/core/WidgetSession"
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
  AppTokenSession.layer(tuning?.session).pipe(
    Layer.provide(WidgetSession.layer),
    Layer.provide(KalturaApi.layer(tuning?.api)),
    Layer.provide(NodeTokenHasher.layer),
    Layer.provide(KalturaConfig.layer(config))
  )
