/**
 * One acquisition of an App Token session: a widget session (unless one is reused), the token hash, then
 * `appToken.startSession` sent with the widget KS. Falling back from a rejected reused widget KS is the state
 * machine's decision, not this function's.
 *
 * Internal to the package: not part of its public API.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { AppTokenSessionError } from "../AppTokenSession.js"
import type * as KalturaApi from "../KalturaApi.js"
import type { KalturaSettings } from "../KalturaConfig.js"
import type * as TokenHasher from "../TokenHasher.js"
import type * as WidgetSession from "../WidgetSession.js"
import { type SessionInfo, SessionInfoResponse } from "./schemas.js"

/** What one acquisition produced. */
export interface Acquired {
  readonly response: KalturaApi.Response<SessionInfo>
  /** The widget session used, kept for the next refresh while it is safely valid. */
  readonly widget: WidgetSession.WidgetSessionInfo
}

/** The settings one acquisition sends. */
export type FlowSettings = Pick<
  KalturaSettings,
  | "partnerId"
  | "widgetId"
  | "appTokenId"
  | "token"
  | "hashType"
  | "userId"
  | "sessionType"
  | "expiry"
  | "sessionPrivileges"
>

/** An acquisition, given the widget session to reuse, if any. */
export type Acquire = (
  widget: WidgetSession.WidgetSessionInfo | undefined
) => Effect.Effect<Acquired, AppTokenSessionError>

/** Builds the acquisition of one App Token on its transport, hasher and widget session service. */
export const make = (deps: {
  readonly api: KalturaApi.Service
  readonly hasher: TokenHasher.Service
  readonly widgetSession: WidgetSession.Service
  readonly settings: FlowSettings
  /** Requested for new widget sessions, in seconds. */
  readonly widgetExpiry: number
}): Acquire => {
  const { api, hasher, settings } = deps
  const attributes = { "kaltura.partner_id": settings.partnerId, "kaltura.app_token_id": settings.appTokenId }
  const params = {
    id: settings.appTokenId,
    userId: Option.getOrUndefined(settings.userId),
    type: Option.getOrUndefined(settings.sessionType),
    expiry: Option.getOrUndefined(settings.expiry),
    sessionPrivileges: Option.getOrUndefined(settings.sessionPrivileges)
  }
  // built on use: a held session keeps no effect tree (nor the stack traces its spans capture) per key
  const newWidget = Effect.suspend(() =>
    deps.widgetSession.start({ widgetId: settings.widgetId, expiry: deps.widgetExpiry })
  )
  const startSession = (widget: WidgetSession.WidgetSessionInfo) =>
    hasher.hash(settings.hashType, widget.ks, settings.token).pipe(
      Effect.flatMap((tokenHash) =>
        api.execute({
          service: "appToken",
          action: "startSession",
          ks: widget.ks,
          params: { ...params, tokenHash },
          // a second session is harmless: issuing one revokes nothing
          idempotent: true
        }, SessionInfoResponse)
      ),
      Effect.map((response): Acquired => ({ response, widget })),
      Effect.withSpan("AppTokenSession.startSession", { attributes, captureStackTrace: false })
    )
  return (widget) => widget === undefined ? Effect.flatMap(newWidget, startSession) : startSession(widget)
}
