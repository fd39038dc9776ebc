/**
 * Step 1 of the flow on a transport: `session.startWidgetSession`, sent with no KS.
 *
 * Internal to the package: not part of its public API.
 */
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import type * as KalturaApi from "../KalturaApi.js"
import { type KalturaCallError, KalturaSessionError } from "../KalturaError.js"
import type * as WidgetSession from "../WidgetSession.js"
import { StartWidgetSessionResponse } from "./schemas.js"

/**
 * The server may answer an identical `startWidgetSession` from its API cache for up to this long (ms), so a widget
 * KS can be up to 10 minutes older than it looks.
 */
export const serverCacheMillis = 600_000

/** When a widget session obtained at `obtainedAt` for `expiry` seconds is estimated to stop being usable. */
export const validUntil = (obtainedAt: number, expiry: number): number => obtainedAt + expiry * 1000 - serverCacheMillis

/** Calls `session.startWidgetSession` through `api`; a session for another partner is refused. */
export const start = (
  api: KalturaApi.Service,
  options: { readonly partnerId: number; readonly widgetId: string; readonly expiry: number }
): Effect.Effect<WidgetSession.WidgetSessionInfo, KalturaCallError | KalturaSessionError> =>
  api.execute({
    service: "session",
    action: "startWidgetSession",
    params: { widgetId: options.widgetId, expiry: options.expiry },
    idempotent: true
  }, StartWidgetSessionResponse).pipe(
    Effect.flatMap(({ result, sentAt }) =>
      result.partnerId === options.partnerId
        ? Effect.succeed<WidgetSession.WidgetSessionInfo>({
          ks: Redacted.make(result.ks),
          partnerId: result.partnerId,
          widgetId: options.widgetId,
          expiry: options.expiry,
          obtainedAt: sentAt,
          validUntil: validUntil(sentAt, options.expiry)
        })
        : Effect.fail(
          new KalturaSessionError({
            reason: "InvalidSession",
            description: `session.startWidgetSession: the widget session is for partner ${result.partnerId}, ` +
              `not ${options.partnerId}`
          })
        )
    ),
    Effect.withSpan("WidgetSession.start", {
      attributes: { "kaltura.partner_id": options.partnerId, "kaltura.widget_id": options.widgetId },
      captureStackTrace: false
    })
  )

/** The widget session service of one partner on one transport. */
export const service = (
  api: KalturaApi.Service,
  defaults: { readonly partnerId: number; readonly widgetId: string; readonly expiry: number }
): WidgetSession.Service => ({
  start: (options) =>
    start(api, {
      partnerId: defaults.partnerId,
      widgetId: options?.widgetId ?? defaults.widgetId,
      expiry: options?.expiry ?? defaults.expiry
    })
})
