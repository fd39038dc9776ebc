/**
 * Step 1 of the App Token flow: `session.startWidgetSession(widgetId, expiry)`, sent with no KS at all,
 * gives the unprivileged widget KS that `appToken.startSession` is then sent with (and hashed with).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Widget from "./internal/widget.js"
import { KalturaApi } from "./KalturaApi.js"
import { KalturaConfig } from "./KalturaConfig.js"
import type { KalturaCallError, KalturaSessionError } from "./KalturaError.js"

/**
 * The default widget session lifetime requested, in seconds (the server's own default).
 *
 * @since 0.1.0
 * @category Defaults
 */
export const defaultExpiry = 86400

/**
 * An unprivileged widget session.
 *
 * @since 0.1.0
 * @category Models
 */
export interface WidgetSessionInfo {
  readonly ks: Redacted.Redacted<string>
  readonly partnerId: number
  readonly widgetId: string
  /** The lifetime asked for, in seconds; the server may cap it by the partner's maximum. */
  readonly expiry: number
  /** When the request was sent (`Clock` ms). */
  readonly obtainedAt: number
  /**
   * A conservative local estimate of when it stops being usable (`Clock` ms): the requested lifetime
   * less the server's 10-minute response cache. The real expiry is encrypted in the KS.
   */
  readonly validUntil: number
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /**
   * Starts a widget session (by default for the configured widget, for 86400 s). A session for another partner
   * fails with `KalturaSessionError` (`InvalidSession`).
   */
  readonly start: (options?: {
    readonly widgetId?: string | undefined
    readonly expiry?: number | undefined
  }) => Effect.Effect<WidgetSessionInfo, KalturaCallError | KalturaSessionError>
}

/**
 * Starts widget sessions.
 *
 * @since 0.1.0
 * @category Context
 */
export class WidgetSession extends Context.Tag("@kaltura-effect/core/WidgetSession")<WidgetSession, Service>() {}

/**
 * Builds the service for the configured partner and widget.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<Service, never, KalturaApi | KalturaConfig> = Effect.gen(function*() {
  const api = yield* KalturaApi
  const config = yield* KalturaConfig
  return WidgetSession.of(
    Widget.service(api, { partnerId: config.partnerId, widgetId: config.widgetId, expiry: defaultExpiry })
  )
})

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<WidgetSession, never, KalturaApi | KalturaConfig> = Layer.effect(WidgetSession, make)

/**
 * A widget session service that always answers with `ks` (for partner `partnerId`), sending nothing.
 *
 * @since 0.1.0
 * @category Testing
 */
export const layerTest = (options: {
  readonly ks: string
  readonly partnerId: number
}): Layer.Layer<WidgetSession> =>
  Layer.succeed(
    WidgetSession,
    WidgetSession.of({
      start: (startOptions) =>
        Effect.clockWith((clock) => clock.currentTimeMillis).pipe(
          Effect.map((now): WidgetSessionInfo => {
            const expiry = startOptions?.expiry ?? defaultExpiry
            return {
              ks: Redacted.make(options.ks),
              partnerId: options.partnerId,
              widgetId: startOptions?.widgetId ?? `_${options.partnerId}`,
              expiry,
              obtainedAt: now,
              validUntil: Widget.validUntil(now, expiry)
            }
          })
        )
    })
  )
