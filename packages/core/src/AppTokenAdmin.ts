/**
 * Managing App Tokens themselves: `appToken.add`, `get`, `list`, `update` and `delete`, on an ADMIN KS from
 * `session.start` with the partner's admin secret. The admin secret stays `Redacted` from the options to the request
 * body; it is never in a URL, a log, a span or an error.
 *
 * Creating a token always sends an explicit hash type (default `SHA256`, as Kaltura's guide recommends): the server's
 * own default for a token created without one is `SHA1`, the most common reason for `INVALID_APP_TOKEN_HASH`. Only the
 * fields that are set are sent (a JSON `null` is not "unset" there: `"expiry": null` becomes 0, an expired token), and
 * values the server would turn into a surprise (an expiry or a session duration of 0 or in the past) are refused
 * before any request. Writes are never re-sent after a failure that may have reached Kaltura: a retried `add` would
 * create a second token.
 *
 * @since 0.2.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { KsString, LenientNumber, LenientString } from "./internal/schemas.js"
import * as KalturaApi from "./KalturaApi.js"
import {
  defaultServiceUrl,
  envNames,
  HashType,
  KalturaConfigError,
  parseSessionType,
  type SessionType,
  validateServiceUrl
} from "./KalturaConfig.js"
import type { KalturaCallError } from "./KalturaError.js"
import { KnownCode } from "./KalturaError.js"

/**
 * An App Token as Kaltura returns it. `token` is the secret the flow hashes with.
 *
 * @since 0.2.0
 * @category Models
 */
export interface AppToken {
  readonly id: string
  readonly token: Redacted.Redacted<string>
  readonly partnerId: number
  readonly status: Status
  readonly hashType: HashType
  /** Unix seconds; after it the token stops working. */
  readonly expiry: number | undefined
  /** The type of every session of the token, whatever is asked (`undefined`: the caller chooses). */
  readonly sessionType: SessionType | undefined
  /** The user of every session of the token, whatever is asked (`undefined`: the caller chooses). */
  readonly sessionUserId: string | undefined
  /** The longest session the token gives, in seconds. */
  readonly sessionDuration: number | undefined
  readonly sessionPrivileges: string | undefined
  readonly description: string | undefined
  /** Unix seconds. */
  readonly createdAt: number
  /** Unix seconds. */
  readonly updatedAt: number
}

/**
 * `KalturaAppTokenStatus`.
 *
 * @since 0.2.0
 * @category Models
 */
export type Status = "DISABLED" | "ACTIVE" | "DELETED"

const statuses: Record<number, Status> = { 1: "DISABLED", 2: "ACTIVE", 3: "DELETED" }

/**
 * The fields of a new token; all optional.
 *
 * @since 0.2.0
 * @category Models
 */
export interface AddOptions {
  /** Default `SHA256`, always sent. */
  readonly hashType?: HashType | undefined
  /** Fixes the type of every session of the token. */
  readonly sessionType?: SessionType | "USER" | "ADMIN" | undefined
  /** Fixes the user of every session of the token. */
  readonly sessionUserId?: string | undefined
  /** The longest session, in seconds (positive). Default: the partner's maximum (usually 86400). */
  readonly sessionDuration?: number | undefined
  /** When the token stops working, unix seconds (in the future). Default: never. */
  readonly expiry?: number | undefined
  /** Privileges every session of the token gets, e.g. `"setrole:123"`. */
  readonly sessionPrivileges?: string | undefined
  readonly description?: string | undefined
}

/**
 * The fields `update` may change (the hash type is chosen when the token is created).
 *
 * @since 0.2.0
 * @category Models
 */
export type UpdateOptions = Omit<AddOptions, "hashType">

/**
 * How an admin operation fails: a Kaltura call's error (a wrong admin secret is `START_SESSION_ERROR` from
 * `session.start`, permanent here; an unknown token `APP_TOKEN_ID_NOT_FOUND`), or a value refused before any request.
 *
 * @since 0.2.0
 * @category Errors
 */
export type AppTokenAdminError = KalturaCallError | KalturaConfigError

/**
 * @since 0.2.0
 * @category Models
 */
export interface Service {
  /** Creates a token; the result carries its secret `token` (print it once, store it safely). */
  readonly add: (options?: AddOptions) => Effect.Effect<AppToken, AppTokenAdminError>
  readonly get: (id: string) => Effect.Effect<AppToken, AppTokenAdminError>
  /** Every token of the partner that is not deleted. */
  readonly list: Effect.Effect<ReadonlyArray<AppToken>, AppTokenAdminError>
  readonly update: (id: string, options: UpdateOptions) => Effect.Effect<AppToken, AppTokenAdminError>
  /** Deletes a token: every session it gave stops working at once (`INVALID_KS` `LOGOUT`). */
  readonly delete: (id: string) => Effect.Effect<void, AppTokenAdminError>
}

/**
 * App Token administration.
 *
 * @since 0.2.0
 * @category Context
 */
export class AppTokenAdmin extends Context.Tag("@kaltura-effect/core/AppTokenAdmin")<AppTokenAdmin, Service>() {}

/**
 * What the admin service needs.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /** Default `https://www.kaltura.com`; `http://` only for loopback hosts. */
  readonly serviceUrl?: string | undefined
  readonly partnerId: number
  /** The partner's admin secret (KMC > Settings > Integration Settings). */
  readonly adminSecret: Redacted.Redacted<string>
  /** Default `kaltura-effect`. */
  readonly clientTag?: string | undefined
  /** Transport options. */
  readonly api?: KalturaApi.Options | undefined
}

/**
 * The admin secret's environment variable; the others are those of `KalturaConfig.envNames`.
 *
 * @since 0.2.0
 * @category Config
 */
export const adminSecretEnv = "KALTURA_ADMIN_SECRET"

const AppTokenResponse = Schema.Struct({
  id: Schema.String,
  token: Schema.Redacted(Schema.String),
  partnerId: LenientNumber,
  status: LenientNumber,
  hashType: Schema.transform(Schema.String, HashType, {
    strict: false,
    decode: (s) => s.toUpperCase(),
    encode: (s) => s
  }),
  expiry: Schema.optional(LenientNumber),
  sessionType: Schema.optional(LenientNumber),
  sessionUserId: Schema.optional(LenientString),
  sessionDuration: Schema.optional(LenientNumber),
  sessionPrivileges: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  createdAt: LenientNumber,
  updatedAt: LenientNumber
})

const ListResponse = Schema.Struct({
  objects: Schema.optionalWith(Schema.Array(AppTokenResponse), { default: () => [] }),
  totalCount: LenientNumber
})

const toAppToken = (raw: typeof AppTokenResponse.Type): AppToken => ({
  id: raw.id,
  token: raw.token,
  partnerId: raw.partnerId,
  status: statuses[raw.status] ?? "DISABLED",
  hashType: raw.hashType,
  expiry: raw.expiry,
  sessionType: raw.sessionType === 0 || raw.sessionType === 2 ? raw.sessionType : undefined,
  sessionUserId: raw.sessionUserId,
  sessionDuration: raw.sessionDuration,
  sessionPrivileges: raw.sessionPrivileges,
  description: raw.description,
  createdAt: raw.createdAt,
  updatedAt: raw.updatedAt
})

const envOf = (field: string): string =>
  field === "adminSecret" ? adminSecretEnv : (envNames as Record<string, string>)[field] ?? ""

const refuse = (field: string, expected: string) =>
  new KalturaConfigError({ field, env: envOf(field), expected, source: "options" })

const isPositiveInteger = (n: unknown): n is number => typeof n === "number" && Number.isSafeInteger(n) && n > 0

/** The `KalturaAppToken` object to send: only the fields that are set, each checked first. */
const appTokenObject = (
  options: AddOptions,
  now: number,
  withHashType: boolean
): Effect.Effect<Record<string, unknown>, KalturaConfigError> =>
  Effect.gen(function*() {
    const object: Record<string, unknown> = { objectType: "KalturaAppToken" }
    if (withHashType) {
      const hashType = typeof options.hashType === "string" ? options.hashType.toUpperCase() : "SHA256"
      if (!(HashType.literals as ReadonlyArray<string>).includes(hashType)) {
        return yield* refuse("hashType", "one of MD5, SHA1, SHA256, SHA512")
      }
      object.hashType = hashType
    }
    if (options.sessionType !== undefined) {
      const sessionType = parseSessionType(options.sessionType)
      if (Option.isNone(sessionType)) return yield* refuse("sessionType", "USER, ADMIN, 0 or 2")
      object.sessionType = sessionType.value
    }
    if (options.sessionDuration !== undefined) {
      if (!isPositiveInteger(options.sessionDuration)) {
        return yield* refuse(
          "sessionDuration",
          "a positive whole number of seconds (0 would give sessions that never work)"
        )
      }
      object.sessionDuration = options.sessionDuration
    }
    if (options.expiry !== undefined) {
      if (!isPositiveInteger(options.expiry) || options.expiry <= Math.floor(now / 1000)) {
        return yield* refuse("expiry", "a time in the future, in unix seconds (0 or a past time is an expired token)")
      }
      object.expiry = options.expiry
    }
    for (const field of ["sessionUserId", "sessionPrivileges", "description"] as const) {
      const value: unknown = options[field]
      if (value === undefined) continue
      if (typeof value !== "string" || value.trim() === "") return yield* refuse(field, "a non-empty string when set")
      object[field] = value
    }
    return object
  })

/**
 * Builds the admin service on the `HttpClient` in context. The ADMIN KS is obtained on first use and reused for up
 * to 50 minutes (it is asked for an hour).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options: Options): Effect.Effect<Service, KalturaConfigError, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const serviceUrl = yield* validateServiceUrl(options.serviceUrl ?? defaultServiceUrl)
    if (!isPositiveInteger(options.partnerId)) return yield* refuse("partnerId", "a positive integer")
    if (!Redacted.isRedacted(options.adminSecret) || Redacted.value(options.adminSecret).trim() === "") {
      return yield* refuse("adminSecret", "the partner's admin secret (not empty)")
    }
    const api = yield* KalturaApi.make({
      ...options.api,
      serviceUrl,
      clientTag: options.clientTag ?? "kaltura-effect"
    })
    const partnerId = options.partnerId
    const lifetimeSeconds = 3600
    const reuseMillis = 50 * 60_000
    let admin: { readonly ks: Redacted.Redacted<string>; readonly until: number } | undefined
    const lock = yield* Effect.makeSemaphore(1)

    // session.start, sent with no KS; START_SESSION_ERROR there means a wrong secret: permanent
    const adminKs = lock.withPermits(1)(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      if (admin !== undefined && now < admin.until) return admin.ks
      const ks = yield* api.call({
        service: "session",
        action: "start",
        params: { secret: options.adminSecret, userId: "", type: 2, partnerId, expiry: lifetimeSeconds },
        idempotent: true,
        permanentCodes: [KnownCode.START_SESSION_ERROR]
      }, KsString)
      admin = { ks: Redacted.make(ks), until: now + reuseMillis }
      return admin.ks
    }))

    const call = <A, I>(action: string, params: Record<string, unknown>, schema: Schema.Schema<A, I>) =>
      Effect.flatMap(adminKs, (ks) => api.call({ service: "appToken", action, params, ks }, schema)).pipe(
        Effect.withSpan(`AppTokenAdmin.${action}`, {
          attributes: { "kaltura.partner_id": partnerId },
          captureStackTrace: false
        })
      )

    const listPage = (pageIndex: number) =>
      call("list", {
        filter: { objectType: "KalturaAppTokenFilter" },
        pager: { objectType: "KalturaFilterPager", pageSize: 500, pageIndex }
      }, ListResponse)

    return AppTokenAdmin.of({
      add: (addOptions) =>
        Effect.gen(function*() {
          const appToken = yield* appTokenObject(addOptions ?? {}, yield* Clock.currentTimeMillis, true)
          return toAppToken(yield* call("add", { appToken }, AppTokenResponse))
        }),
      get: (id) => Effect.map(call("get", { id }, AppTokenResponse), toAppToken),
      list: Effect.gen(function*() {
        const tokens: Array<AppToken> = []
        for (let pageIndex = 1;; pageIndex++) {
          const page = yield* listPage(pageIndex)
          tokens.push(...page.objects.map(toAppToken))
          if (page.objects.length === 0 || tokens.length >= page.totalCount) return tokens
        }
      }),
      update: (id, updateOptions) =>
        Effect.gen(function*() {
          const appToken = yield* appTokenObject(updateOptions, yield* Clock.currentTimeMillis, false)
          return toAppToken(yield* call("update", { id, appToken }, AppTokenResponse))
        }),
      delete: (id) => Effect.asVoid(call("delete", { id }, Schema.Unknown))
    })
  })

/**
 * The admin service for explicit options.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<AppTokenAdmin, KalturaConfigError, HttpClient.HttpClient> =>
  Layer.effect(AppTokenAdmin, make(options))

/**
 * The admin service from `KALTURA_SERVICE_URL`, `KALTURA_PARTNER_ID` and `KALTURA_ADMIN_SECRET` (read as `Redacted`).
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerConfig = (
  api?: KalturaApi.Options
): Layer.Layer<AppTokenAdmin, KalturaConfigError, HttpClient.HttpClient> =>
  Layer.effect(
    AppTokenAdmin,
    Effect.gen(function*() {
      const read = <A>(field: string, env: string, expected: string, config: Config.Config<A>) =>
        Effect.mapError(config, (error) =>
          new KalturaConfigError({
            field,
            env,
            expected: ConfigError.isMissingDataOnly(error) ? "a value (it is not set)" : expected,
            source: "environment"
          }))
      const partnerId = yield* read(
        "partnerId",
        envNames.partnerId,
        "a positive integer",
        Config.integer(envNames.partnerId)
      )
      const adminSecret = yield* read(
        "adminSecret",
        adminSecretEnv,
        "a readable value",
        Config.redacted(adminSecretEnv)
      )
      const serviceUrl = yield* read(
        "serviceUrl",
        envNames.serviceUrl,
        "a readable value",
        Config.option(Config.string(envNames.serviceUrl))
      )
      return yield* make({ partnerId, adminSecret, serviceUrl: Option.getOrUndefined(serviceUrl), api }).pipe(
        Effect.mapError((error) => new KalturaConfigError({ ...error, source: "environment" }))
      )
    })
  )
