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
import * as Schema from "effect/Schema"
import { KalturaApi, LenientNumber, LenientString } from "./KalturaApi.js"
import type * as KalturaApiModule from "./KalturaApi.js"
import { KalturaConfig } from "./KalturaConfig.js"
import { type KalturaCallError, KalturaDecodeError } from "./KalturaError.js"

/**
 * A KS as it may appear on the wire: base64 (v1) or url-safe base64 (v2), nothing else.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const KsString = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9+/_=-]{16,4096}$/, { message: () => "a KS (base64 text of 16 to 4096 characters)" })
)

/**
 * The body of a `startWidgetSession` answer. There is no expiry field: the server does not say.
 *
 * @since 0.1.0
 * @category Schemas
 */
export const StartWidgetSessionResponse = Schema.Struct({
  partnerId: LenientNumber,
  ks: KsString,
  userId: Schema.optional(LenientString)
})

/**
 * The default widget session lifetime requested, in seconds (the server's own default).
 *
 * @since 0.1.0
 * @category Defaults
 */
export const defaultExpiry = 86400

/**
 * The server may answer an identical `startWidgetSession` from its API cache for up to this long (ms),
 * so a widget KS can be up to 10 minutes older than it looks.
 *
 * @since 0.1.0
 * @category Defaults
 */
export const serverCacheMillis = 600_000

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
  readonly start: (options?: {
    readonly widgetId?: string | undefined
    readonly expiry?: number | undefined
  }) => Effect.Effect<WidgetSessionInfo, KalturaCallError>
}

/**
 * Starts widget sessions.
 *
 * @since 0.1.0
 * @category Context
 */
export class WidgetSession extends Context.Tag("@kaltura-effect/core/WidgetSession")<WidgetSession, Service>() {}

/**
 * Calls `session.startWidgetSession` through `api`. Checks that the session is for `partnerId`.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const start = (
  api: KalturaApiModule.Service,
  options: { readonly partnerId: number; readonly widgetId: string; readonly expiry: number }
): Effect.Effect<WidgetSessionInfo, KalturaCallError> =>
  api.execute({
    service: "session",
    action: "startWidgetSession",
    params: { widgetId: options.widgetId, expiry: options.expiry }
  }, StartWidgetSessionResponse).pipe(
    Effect.flatMap(({ result, sentAt }) =>
      result.partnerId === options.partnerId
        ? Effect.succeed<WidgetSessionInfo>({
          ks: Redacted.make(result.ks),
          partnerId: result.partnerId,
          widgetId: options.widgetId,
          expiry: options.expiry,
          obtainedAt: sentAt,
          validUntil: sentAt + options.expiry * 1000 - serverCacheMillis
        })
        : Effect.fail(
          new KalturaDecodeError({
            service: "session",
            action: "startWidgetSession",
            reason: "UnexpectedShape",
            description: `the widget session is for partner ${result.partnerId}, not ${options.partnerId}`,
            attempts: 1
          })
        )
    ),
    Effect.withSpan("WidgetSession.start", {
      attributes: { "kaltura.partner_id": options.partnerId, "kaltura.widget_id": options.widgetId }
    })
  )

/**
 * Builds the service for the configured partner and widget.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<Service, never, KalturaApi | KalturaConfig> = Effect.gen(function*() {
  const api = yield* KalturaApi
  const config = yield* KalturaConfig
  return WidgetSession.of({
    start: (options) =>
      start(api, {
        partnerId: config.partnerId,
        widgetId: options?.widgetId ?? config.widgetId,
        expiry: options?.expiry ?? defaultExpiry
      })
  })
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
              validUntil: now + expiry * 1000 - serverCacheMillis
            }
          })
        )
    })
  )
