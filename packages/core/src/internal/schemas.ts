/**
 * The wire schemas the services decode Kaltura's answers with. Kaltura emits PHP's runtime types, so numbers
 * may arrive as numeric strings and the widget session's `userId` as the number `0`.
 *
 * Internal to the package: not part of its public API.
 */
import * as Schema from "effect/Schema"
import type { SessionType } from "../KalturaConfig.js"

/** A number that may arrive as a JSON number or a numeric string. */
export const LenientNumber: Schema.Schema<number, number | string> = Schema.Union(
  Schema.Number,
  Schema.NumberFromString
).pipe(Schema.filter((n) => Number.isFinite(n), { message: () => "a finite number" }))

/** A string that may arrive as a number (e.g. the widget session's `userId: 0`). */
export const LenientString: Schema.Schema<string, string | number> = Schema.Union(
  Schema.String,
  Schema.Number.pipe(Schema.transform(Schema.String, { strict: true, decode: String, encode: Number }))
)

/** A KS as it may appear on the wire: base64 (v1) or url-safe base64 (v2), nothing else. */
export const KsString = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9+/_=-]{16,4096}$/, { message: () => "a KS (base64 text of 16 to 4096 characters)" })
)

/** The body of a `session.startWidgetSession` answer. There is no expiry field: the server does not say. */
export const StartWidgetSessionResponse = Schema.Struct({
  partnerId: LenientNumber,
  ks: KsString,
  userId: Schema.optional(LenientString)
})

/** The body of an `appToken.startSession` answer (`KalturaSessionInfo`). */
export const SessionInfoResponse = Schema.Struct({
  ks: KsString,
  sessionType: LenientNumber.pipe(
    Schema.filter((n): n is SessionType => n === 0 || n === 2, { message: () => "0 or 2" })
  ),
  partnerId: LenientNumber,
  userId: Schema.optionalWith(LenientString, { default: () => "" }),
  expiry: LenientNumber,
  privileges: Schema.optionalWith(Schema.String, { default: () => "" })
})

/** A decoded `KalturaSessionInfo`. */
export type SessionInfo = typeof SessionInfoResponse.Type
