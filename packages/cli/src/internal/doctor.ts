/**
 * `kaltura-apptoken doctor`: checks a configuration against Kaltura itself, step by step, and says what to do about
 * each problem. The checks, in order: the service is reachable (and its TLS), the local clock against the server's
 * `Date`, the widget session, the App Token (trying the other hash types on `INVALID_APP_TOKEN_HASH`), the granted
 * session against what was asked, and, with an admin secret, the token's status and expiry.
 *
 * @internal
 */
import type * as AppTokenAdmin from "@kaltura-effect/core/AppTokenAdmin"
import type * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import type * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import type { KalturaCallError, KalturaSessionError } from "@kaltura-effect/core/KalturaError"
import type * as TokenHasher from "@kaltura-effect/core/TokenHasher"
import type * as WidgetSession from "@kaltura-effect/core/WidgetSession"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { ExitCode } from "./errors.js"

/** One line of the report. */
export interface Check {
  readonly name: string
  /** `ok` passes; `warning` passes but deserves attention; `failed` stops the run. */
  readonly result: "ok" | "warning" | "failed"
  readonly detail: string
  /** What to do, for a warning or a failure. */
  readonly hint?: string | undefined
  /** Facts for `--json`. */
  readonly data?: Readonly<Record<string, unknown>> | undefined
}

/** The whole report and the exit code: 0 when every check passed (warnings included), else the first failure's. */
export interface Report {
  readonly checks: ReadonlyArray<Check>
  readonly exitCode: number
}

/** What the doctor works with: the validated settings, and services built on them. */
export interface Deps {
  readonly settings: KalturaConfig.KalturaSettings
  readonly api: KalturaApi.Service
  readonly hasher: TokenHasher.Service
  readonly startWidget: (options: { readonly widgetId: string; readonly expiry: number }) => Effect.Effect<
    WidgetSession.WidgetSessionInfo,
    KalturaCallError | KalturaSessionError
  >
  /** With an admin secret: the token's own record. */
  readonly admin?: AppTokenAdmin.Service | undefined
}

const hashTypes = ["SHA256", "SHA1", "MD5", "SHA512"] as const satisfies ReadonlyArray<KalturaConfig.HashType>

/** A skew above this is worth a warning (the library trusts a `Date` header within 10 minutes). */
const skewWarningMillis = 30_000
/** A token expiring within this many days is worth a warning. */
const expiryWarningDays = 30

const SessionInfo = Schema.Struct({
  ks: Schema.String,
  sessionType: Schema.Union(Schema.Number, Schema.NumberFromString),
  partnerId: Schema.Union(Schema.Number, Schema.NumberFromString),
  userId: Schema.optionalWith(Schema.Union(Schema.String, Schema.Number), { default: () => "" }),
  expiry: Schema.Union(Schema.Number, Schema.NumberFromString),
  privileges: Schema.optionalWith(Schema.String, { default: () => "" })
})

const codeOf = (error: KalturaCallError | KalturaSessionError) =>
  error._tag === "KalturaApiError" ? error.code : error._tag

const exitCodeOf = (error: KalturaCallError | KalturaSessionError) =>
  error._tag === "KalturaApiError" || error._tag === "KalturaSessionError" ||
    (error._tag === "KalturaDecodeError" && error.reason === "UnexpectedShape")
    ? ExitCode.Rejected
    : ExitCode.Unreachable

const sessionTypeName = (type: number | undefined) => type === 2 ? "ADMIN" : type === 0 ? "USER" : "unset"

/** The privileges without the two entries the server adds to every App Token session. */
const ownPrivileges = (privileges: string) =>
  privileges.split(",").filter((item) => item !== "" && !/^(sessionid|apptoken):/.test(item)).join(",")

/**
 * Runs the checks; stops at the first failure (the later checks need what it would have given).
 *
 * @internal
 */
export const run = (deps: Deps): Effect.Effect<Report> =>
  Effect.gen(function*() {
    const { api, hasher, settings } = deps
    const checks: Array<Check> = []
    const done = (exitCode: number) => ({ checks, exitCode })
    const failed = (name: string, error: KalturaCallError | KalturaSessionError, hint: string | undefined) => {
      checks.push({ name, result: "failed", detail: error.message, hint, data: { code: codeOf(error) } })
      return done(exitCodeOf(error))
    }

    // 1. reachable, and the clock
    const ping = yield* Effect.either(
      api.execute({ service: "system", action: "ping", idempotent: true }, Schema.Unknown)
    )
    if (Either.isLeft(ping)) {
      const hint = ping.left._tag === "KalturaApiError"
        ? undefined
        : `check the service URL (${settings.serviceUrl}), the network and, for https, the server's certificate`
      return failed("service reachable", ping.left, hint)
    }
    checks.push({
      name: "service reachable",
      result: "ok",
      detail: `${settings.serviceUrl} answers${settings.serviceUrl.startsWith("https:") ? " (TLS verified)" : ""}`,
      data: { serviceUrl: settings.serviceUrl, tls: settings.serviceUrl.startsWith("https:") }
    })
    const { receivedAt, serverDate } = ping.right
    if (Option.isNone(serverDate)) {
      checks.push({
        name: "clock",
        result: "warning",
        detail: "the server sends no Date header: clock skew cannot be measured or corrected",
        hint: "keep this host's clock synchronised (NTP)"
      })
    } else {
      const skew = serverDate.value - receivedAt
      const seconds = Math.round(skew / 1000)
      checks.push({
        name: "clock",
        result: Math.abs(skew) > skewWarningMillis ? "warning" : "ok",
        detail: `the server's clock is ${Math.abs(seconds)} s ${skew >= 0 ? "ahead of" : "behind"} this host's`,
        hint: Math.abs(skew) > skewWarningMillis
          ? "synchronise this host's clock (NTP): beyond 10 minutes the server's Date header is not trusted and an " +
            "expired KS is only noticed when Kaltura rejects it"
          : undefined,
        data: { skewSeconds: seconds }
      })
    }

    // 2. the widget session
    const widget = yield* Effect.either(deps.startWidget({ widgetId: settings.widgetId, expiry: 86400 }))
    if (Either.isLeft(widget)) {
      return failed(
        "widget session",
        widget.left,
        `check the partner id (${settings.partnerId}) and the widget id (${settings.widgetId}; the default is _<partner>)`
      )
    }
    checks.push({
      name: "widget session",
      result: "ok",
      detail: `partner ${settings.partnerId}, widget ${settings.widgetId}`,
      data: { partnerId: settings.partnerId, widgetId: settings.widgetId }
    })

    // 3. the App Token, with the other hash types tried on INVALID_APP_TOKEN_HASH
    const startSession = (hashType: KalturaConfig.HashType) =>
      Effect.flatMap(hasher.hash(hashType, widget.right.ks, settings.token), (tokenHash) =>
        api.execute({
          service: "appToken",
          action: "startSession",
          ks: widget.right.ks,
          params: {
            id: settings.appTokenId,
            tokenHash,
            userId: Option.getOrUndefined(settings.userId),
            type: Option.getOrUndefined(settings.sessionType),
            expiry: Option.getOrUndefined(settings.expiry),
            sessionPrivileges: Option.getOrUndefined(settings.sessionPrivileges)
          },
          idempotent: true
        }, SessionInfo))
    const first = yield* Effect.either(startSession(settings.hashType))
    let granted: KalturaApi.Response<typeof SessionInfo.Type>
    if (Either.isRight(first)) {
      granted = first.right
      checks.push({
        name: "app token",
        result: "ok",
        detail: `${settings.appTokenId} accepted with ${settings.hashType}`,
        data: { appTokenId: settings.appTokenId, hashType: settings.hashType }
      })
    } else if (first.left._tag === "KalturaApiError" && first.left.code === "INVALID_APP_TOKEN_HASH") {
      let found: KalturaConfig.HashType | undefined
      for (const hashType of hashTypes.filter((type) => type !== settings.hashType)) {
        const attempt = yield* Effect.either(startSession(hashType))
        if (Either.isRight(attempt)) {
          found = hashType
          break
        }
        if (attempt.left._tag !== "KalturaApiError" || attempt.left.code !== "INVALID_APP_TOKEN_HASH") break
      }
      checks.push({
        name: "app token",
        result: "failed",
        detail: found === undefined
          ? `INVALID_APP_TOKEN_HASH with every hash type: the token value does not belong to ${settings.appTokenId}`
          : `INVALID_APP_TOKEN_HASH with ${settings.hashType}: the token's hash type is ${found}`,
        hint: found === undefined
          ? "KALTURA_APP_TOKEN (or --token-file) must be the token's `token` value, not its id"
          : `set --hash-type/KALTURA_APP_TOKEN_HASH_TYPE to ${found}` +
            (found === "SHA1" ? " (a token created without a hash type is SHA1)" : ""),
        data: { code: "INVALID_APP_TOKEN_HASH", configuredHashType: settings.hashType, tokenHashType: found ?? null }
      })
      return done(ExitCode.Rejected)
    } else {
      return failed("app token", first.left, undefined)
    }

    // 4. what was granted against what was asked (the lifetime on the server's clock)
    const now = yield* Clock.currentTimeMillis
    const session = granted.result
    const serverNow = Option.getOrElse(granted.serverDate, () => granted.receivedAt)
    const lifetime = Math.round(session.expiry - serverNow / 1000)
    const mismatches: Array<string> = []
    const askedType = Option.getOrUndefined(settings.sessionType)
    if (askedType !== undefined && askedType !== session.sessionType) {
      mismatches.push(`type ${sessionTypeName(session.sessionType)}, not ${sessionTypeName(askedType)}`)
    }
    const askedUser = Option.getOrUndefined(settings.userId)
    if (askedUser !== undefined && askedUser !== String(session.userId)) {
      mismatches.push(`user "${session.userId}", not "${askedUser}"`)
    }
    const askedPrivileges = Option.getOrUndefined(settings.sessionPrivileges)
    const grantedPrivileges = ownPrivileges(session.privileges)
    if (askedPrivileges !== undefined && askedPrivileges !== grantedPrivileges) {
      mismatches.push(`privileges "${grantedPrivileges}", not "${askedPrivileges}"`)
    }
    const askedExpiry = Option.getOrUndefined(settings.expiry)
    if (askedExpiry !== undefined && lifetime < askedExpiry - 5) {
      mismatches.push(`a lifetime of ${lifetime} s, not ${askedExpiry} s`)
    }
    checks.push({
      name: "granted session",
      result: mismatches.length === 0 ? "ok" : "warning",
      detail:
        `type ${sessionTypeName(session.sessionType)}, user "${session.userId}", privileges "${grantedPrivileges}", ` +
        `lifetime ${lifetime} s` + (mismatches.length === 0 ? "" : `: the token fixes ${mismatches.join("; ")}`),
      hint: mismatches.length === 0
        ? undefined
        : "the token's own sessionType, sessionUserId, sessionPrivileges and sessionDuration win over what is asked",
      data: {
        sessionType: sessionTypeName(session.sessionType),
        userId: String(session.userId),
        privileges: grantedPrivileges,
        lifetimeSeconds: lifetime,
        mismatches
      }
    })

    // 5. with an admin secret: the token's own record
    if (deps.admin !== undefined) {
      const record = yield* Effect.either(deps.admin.get(settings.appTokenId))
      if (Either.isLeft(record)) {
        const error = record.left
        if (error._tag === "KalturaConfigError") {
          checks.push({ name: "token record", result: "failed", detail: error.message })
          return done(ExitCode.Usage)
        }
        return failed("token record", error, "check the admin secret (KALTURA_ADMIN_SECRET or --admin-secret-file)")
      }
      const token = record.right
      const daysLeft = token.expiry === undefined ? undefined : Math.floor((token.expiry * 1000 - now) / 86_400_000)
      const expiring = daysLeft !== undefined && daysLeft < expiryWarningDays
      checks.push({
        name: "token record",
        result: token.status !== "ACTIVE" ? "failed" : expiring ? "warning" : "ok",
        detail: `status ${token.status}, hash type ${token.hashType}, ` +
          (daysLeft === undefined ? "no expiry" : `expires in ${daysLeft} day(s)`),
        hint: token.status !== "ACTIVE"
          ? "the token is not active: create a new one (kaltura-apptoken token add)"
          : expiring
          ? "create a new token before this one expires (kaltura-apptoken token add) and switch to it"
          : undefined,
        data: {
          status: token.status,
          hashType: token.hashType,
          expiry: token.expiry ?? null,
          daysLeft: daysLeft ?? null
        }
      })
      if (token.status !== "ACTIVE") return done(ExitCode.Rejected)
    }
    return done(ExitCode.Ok)
  })

/** The report as lines for a terminal: `✓`, `!` or `✗`, the check, what was found, and what to do. */
export const render = (report: Report): ReadonlyArray<string> =>
  report.checks.map((check) =>
    `${check.result === "ok" ? "✓" : check.result === "warning" ? "!" : "✗"} ${check.name}: ${check.detail}` +
    (check.hint === undefined ? "" : ` — ${check.hint}`)
  )

/** The report as data for `--json`. */
export const toJson = (report: Report): unknown => ({
  ok: report.exitCode === ExitCode.Ok,
  exitCode: report.exitCode,
  checks: report.checks.map(({ data, detail, hint, name, result }) => ({
    name,
    result,
    detail,
    ...(hint === undefined ? {} : { hint }),
    ...(data === undefined ? {} : { data })
  }))
})
