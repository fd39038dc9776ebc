/**
 * The typed failures of a Kaltura API call, and which of them are worth retrying.
 *
 * No error here ever holds the App Token, a token hash or a whole KS: Kaltura's `INVALID_KS` message
 * repeats the KS it rejected, so messages and `args` are scrubbed before they are stored.
 *
 * @since 0.1.0
 */
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type { KalturaConfigError } from "./KalturaConfig.js"

/**
 * Kaltura error codes this library acts on. Any other code is still reported, as a plain string.
 *
 * @since 0.1.0
 * @category Codes
 */
export const KnownCode = {
  INVALID_APP_TOKEN_HASH: "INVALID_APP_TOKEN_HASH",
  APP_TOKEN_ID_NOT_FOUND: "APP_TOKEN_ID_NOT_FOUND",
  APP_TOKEN_NOT_ACTIVE: "APP_TOKEN_NOT_ACTIVE",
  APP_TOKEN_EXPIRED: "APP_TOKEN_EXPIRED",
  INVALID_KS: "INVALID_KS",
  SERVICE_FORBIDDEN: "SERVICE_FORBIDDEN",
  INVALID_WIDGET_ID: "INVALID_WIDGET_ID",
  MISSING_MANDATORY_PARAMETER: "MISSING_MANDATORY_PARAMETER",
  INVALID_ENUM_VALUE: "INVALID_ENUM_VALUE",
  ACTION_BLOCKED: "ACTION_BLOCKED",
  START_SESSION_ERROR: "START_SESSION_ERROR",
  INTERNAL_SERVERL_ERROR: "INTERNAL_SERVERL_ERROR"
} as const

/**
 * @since 0.1.0
 * @category Codes
 */
export type KnownCode = typeof KnownCode[keyof typeof KnownCode]

/** What to check, per code; part of the error message. */
const hints: Partial<Record<string, string>> = {
  INVALID_APP_TOKEN_HASH: "check that the configured hash type (KALTURA_APP_TOKEN_HASH_TYPE) matches the token's " +
    "hashType (a token created without one uses SHA1) and that KALTURA_APP_TOKEN is the token's `token` value, " +
    "not its id",
  APP_TOKEN_ID_NOT_FOUND: "check KALTURA_APP_TOKEN_ID and that the token belongs to KALTURA_PARTNER_ID and was not " +
    "deleted",
  APP_TOKEN_NOT_ACTIVE: "the App Token is disabled; ask the account's administrator to re-enable it",
  APP_TOKEN_EXPIRED: "the App Token itself has expired; create a new one or extend its expiry",
  SERVICE_FORBIDDEN: "the session lacks permission for this action (for appToken.startSession: no widget KS " +
    "was sent, or its role does not allow it)",
  INVALID_WIDGET_ID: "check KALTURA_WIDGET_ID (default _<partnerId>) and KALTURA_PARTNER_ID",
  INVALID_KS: "the KS was rejected; a new session is needed",
  ACTION_BLOCKED: "Kaltura rate-limited this action; retry later",
  MISSING_MANDATORY_PARAMETER: "a required parameter was not sent",
  INVALID_ENUM_VALUE: "a parameter had a value outside its enumeration (session type must be 0 or 2)"
}

/**
 * Kaltura codes that a retry may cure: rate limiting and the server's own internal failures.
 *
 * @since 0.1.0
 * @category Classification
 */
export const transientCodes: ReadonlySet<string> = new Set([
  KnownCode.ACTION_BLOCKED,
  KnownCode.START_SESSION_ERROR,
  KnownCode.INTERNAL_SERVERL_ERROR
])

/**
 * HTTP statuses that a retry may cure.
 *
 * @since 0.1.0
 * @category Classification
 */
export const transientStatuses: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504])

/** `service.action` as the docs write it; a multirequest is just `multirequest`. */
const callName = (service: string, action: string) => action === "" ? service : `${service}.${action}`

const ksLike = /\b(?:djJ8|[A-Za-z0-9+/_-]{40,})[A-Za-z0-9+/_=-]*/g

/**
 * Replaces anything that looks like a KS (v2 starts with `djJ8`; v1 is long base64) in server text,
 * keeping a short prefix so logs stay useful.
 *
 * @since 0.1.0
 * @category Scrubbing
 */
export const scrub = (text: string): string =>
  text.replace(ksLike, (match) => match.length <= 12 ? match : `${match.slice(0, 8)}…[redacted]`)

/**
 * Kaltura answered with a `KalturaAPIException` (HTTP 200). `code` is Kaltura's code, e.g.
 * `INVALID_APP_TOKEN_HASH`; `kalturaMessage` and `args` are the server's, scrubbed of any KS.
 *
 * @since 0.1.0
 * @category Errors
 */
export class KalturaApiError extends Schema.TaggedError<KalturaApiError>("@kaltura-effect/core/KalturaApiError")(
  "KalturaApiError",
  {
    service: Schema.String,
    action: Schema.String,
    code: Schema.String,
    kalturaMessage: Schema.String,
    args: Schema.Record({ key: Schema.String, value: Schema.String }),
    attempts: Schema.Number,
    /**
     * Set when the request declared this code permanent although it is in {@link transientCodes} (e.g.
     * `START_SESSION_ERROR` from `session.start`: a wrong admin secret).
     *
     * @since 0.2.0
     */
    permanent: Schema.optional(Schema.Boolean)
  }
) {
  /**
   * Whether a retry may help (rate limiting, internal server errors).
   *
   * @since 0.1.0
   */
  get isTransient(): boolean {
    return this.permanent !== true && transientCodes.has(this.code)
  }

  /**
   * For `INVALID_KS`: the reason the server gave (`EXPIRED`, `LOGOUT`, ...), or `INVALID_STR` when the
   * KS could not be parsed at all. `undefined` for other codes.
   *
   * @since 0.1.0
   */
  get ksReason(): string | undefined {
    if (this.code !== KnownCode.INVALID_KS) return undefined
    const reason = this.args.KSID
    return reason !== undefined && /^[A-Z_]+$/.test(reason) ? reason : "INVALID_STR"
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    const hint = hints[this.code]
    return `Kaltura rejected ${callName(this.service, this.action)} with ${this.code}: ${this.kalturaMessage}` +
      (hint ? ` (${hint})` : "")
  }
}

/**
 * The server answered with an HTTP status other than 200 (Kaltura reports its own errors with 200).
 *
 * @since 0.1.0
 * @category Errors
 */
export class KalturaHttpError extends Schema.TaggedError<KalturaHttpError>("@kaltura-effect/core/KalturaHttpError")(
  "KalturaHttpError",
  {
    service: Schema.String,
    action: Schema.String,
    status: Schema.Number,
    attempts: Schema.Number
  }
) {
  /**
   * @since 0.1.0
   */
  get isTransient(): boolean {
    return transientStatuses.has(this.status)
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${callName(this.service, this.action)} failed with HTTP ${this.status} after ${this.attempts} attempt(s)` +
      (this.isTransient ? "" : " (check the service URL)")
  }
}

/**
 * The request did not complete: connection refused or reset, DNS failure, or the per-attempt timeout.
 *
 * @since 0.1.0
 * @category Errors
 */
export class KalturaTransportError extends Schema.TaggedError<KalturaTransportError>(
  "@kaltura-effect/core/KalturaTransportError"
)("KalturaTransportError", {
  service: Schema.String,
  action: Schema.String,
  reason: Schema.Literal("Timeout", "Transport"),
  description: Schema.String,
  attempts: Schema.Number
}) {
  /**
   * @since 0.1.0
   */
  get isTransient(): boolean {
    return true
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${callName(this.service, this.action)} could not reach Kaltura after ${this.attempts} attempt(s): ` +
      this.description
  }
}

/**
 * The response could not be understood. `NotJson`: the body was not JSON (a proxy page, a truncated body,
 * or a wrong service URL), retried as transient. `UnexpectedShape`: valid JSON of the wrong shape, or a
 * session that fails validation (another partner, already expired); not retried.
 *
 * @since 0.1.0
 * @category Errors
 */
export class KalturaDecodeError extends Schema.TaggedError<KalturaDecodeError>(
  "@kaltura-effect/core/KalturaDecodeError"
)("KalturaDecodeError", {
  service: Schema.String,
  action: Schema.String,
  reason: Schema.Literal("NotJson", "UnexpectedShape"),
  description: Schema.String,
  attempts: Schema.Number
}) {
  /**
   * @since 0.1.0
   */
  get isTransient(): boolean {
    return this.reason === "NotJson"
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${callName(this.service, this.action)} returned a response that could not be decoded: ${this.description}` +
      (this.reason === "NotJson" ? " (is the service URL a Kaltura API host?)" : "")
  }
}

/**
 * A session could not be handed out, for a reason of this library's own:
 * - `InvalidSession`: the server returned a session (widget or privileged) for another partner, already expired,
 *   or longer-lived than requested;
 * - `MinRemainingTooLong`: `getWith({ minRemaining })` asks for more time than any session can have;
 * - `Evicted`: the keyed session was evicted from `AppTokenSessions` (ask `AppTokenSessions.get` again);
 * - `Closed`: the session's layer was released (its scope closed);
 * - `Defect`: obtaining a session failed unexpectedly (a bug; the cause is logged at Warning level).
 *
 * @since 0.1.0
 * @category Errors
 */
export class KalturaSessionError extends Schema.TaggedError<KalturaSessionError>(
  "@kaltura-effect/core/KalturaSessionError"
)("KalturaSessionError", {
  reason: Schema.Literal("InvalidSession", "MinRemainingTooLong", "Evicted", "Closed", "Defect"),
  description: Schema.String
}) {
  /**
   * @since 0.1.0
   */
  get isTransient(): boolean {
    return false
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    return this.description
  }
}

/**
 * Every way one Kaltura API call can fail.
 *
 * @since 0.1.0
 * @category Errors
 */
export type KalturaCallError = KalturaApiError | KalturaHttpError | KalturaTransportError | KalturaDecodeError

/**
 * Every error a public method of this library can fail with: a call's, a session's, or a setting's.
 *
 * @since 0.2.0
 * @category Errors
 */
export type KalturaAnyError = KalturaCallError | KalturaSessionError | KalturaConfigError

/**
 * Whether an error may be cured by retrying: transport faults and timeouts, HTTP 408/429/5xx, a body
 * that is not JSON, and the Kaltura codes in {@link transientCodes}. Everything else is permanent, including every
 * `KalturaSessionError` and `KalturaConfigError`. Accepts any error the public methods return.
 *
 * @since 0.1.0
 * @category Classification
 */
export const isTransient = (error: KalturaAnyError): boolean => error.isTransient

/**
 * Whether an error is Kaltura's `INVALID_KS` for a KS that expired or was revoked, i.e. one that a new
 * session cures.
 *
 * @since 0.1.0
 * @category Classification
 */
export const isExpiredOrRevokedKs = (error: unknown): error is KalturaApiError =>
  Predicate.isTagged(error, "KalturaApiError") &&
  (error as KalturaApiError).code === KnownCode.INVALID_KS &&
  ((error as KalturaApiError).ksReason === "EXPIRED" || (error as KalturaApiError).ksReason === "LOGOUT")

/**
 * Returns a copy of a call error carrying the number of attempts made.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const withAttempts = <E extends KalturaCallError>(error: E, attempts: number): E => {
  if (error.attempts === attempts) return error
  switch (error._tag) {
    case "KalturaApiError":
      return new KalturaApiError({ ...error, attempts }) as E
    case "KalturaHttpError":
      return new KalturaHttpError({ ...error, attempts }) as E
    case "KalturaTransportError":
      return new KalturaTransportError({ ...error, attempts }) as E
    case "KalturaDecodeError":
      return new KalturaDecodeError({ ...error, attempts }) as E
  }
}
