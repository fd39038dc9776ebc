/**
 * The handlers of `kaltura-apptoken token ...`, on `AppTokenAdmin` (an ADMIN KS from `session.start` with the admin
 * secret, obtained for each run: never a cached session). Every input is checked before any request; writes are never
 * re-sent after a failure that may have reached Kaltura (`AppTokenAdmin` and `KalturaApi` see to that). Secrets are
 * printed only where asked: the new token by `add`, any token by `list`/`get` with `--show-secret`.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import * as AppTokenAdmin from "@kaltura-effect/core/AppTokenAdmin"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import type { KalturaCallError } from "@kaltura-effect/core/KalturaError"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { adminSecretSources, requireAdminSecret } from "./adminSecret.js"
import * as Cache from "./cache.js"
import { CliFailure, ExitCode } from "./errors.js"
import * as Http from "./nodeHttp.js"
import { stderr, stdout } from "./output.js"
import { CliInputError, flags, normaliseHashType, pick } from "./settings.js"
import type { CommonInput, FieldInput } from "./tokenCommand.js"

const programName = "kaltura-apptoken"

// ---------------------------------------------------------------------------------------------------------------------
// input, checked before any request
// ---------------------------------------------------------------------------------------------------------------------

const invalid = (what: string, expected: string) =>
  new CliInputError({ message: `invalid ${what}: expected ${expected}` })

const wholeNumber = (text: string): number | undefined =>
  /^\s*\d+\s*$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined

const nonEmpty = (flag: string, value: Option.Option<string>) =>
  Option.isNone(value)
    ? Effect.succeed(undefined)
    : value.value.trim() === ""
    ? Effect.fail(invalid(`--${flag}`, "a non-empty string"))
    : Effect.succeed(value.value)

const checkId = (id: string) =>
  id.trim() === "" ? Effect.fail(invalid("ID", "an App Token id, e.g. 0_ab12cd34")) : Effect.succeed(id.trim())

/** The fields `add` and `update` send: only those given, each checked (the library checks them again). */
const fields = (input: FieldInput): Effect.Effect<AppTokenAdmin.UpdateOptions, CliInputError> =>
  Effect.gen(function*() {
    const result: { -readonly [K in keyof AppTokenAdmin.UpdateOptions]: AppTokenAdmin.UpdateOptions[K] } = {}
    if (Option.isSome(input.sessionType)) {
      const type = KalturaConfig.parseSessionType(input.sessionType.value.trim().toUpperCase())
      if (Option.isNone(type)) return yield* invalid("--session-type", "USER, ADMIN, 0 or 2")
      result.sessionType = type.value
    }
    if (Option.isSome(input.sessionDuration)) {
      const seconds = wholeNumber(input.sessionDuration.value)
      if (seconds === undefined || seconds <= 0) {
        return yield* invalid(
          "--session-duration",
          "a positive whole number of seconds (0 would give sessions that never work)"
        )
      }
      result.sessionDuration = seconds
    }
    if (Option.isSome(input.expiry)) {
      const expiry = wholeNumber(input.expiry.value)
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      if (expiry === undefined || expiry <= now) {
        return yield* invalid(
          "--expiry",
          "a future time in unix seconds, e.g. " + (now + 365 * 86400) +
            " for a year from now (0 or a past time is a token that is already expired; " +
            "a session's lifetime is --session-duration)"
        )
      }
      result.expiry = expiry
    }
    const userId = yield* nonEmpty("session-user-id", input.sessionUserId)
    if (userId !== undefined) result.sessionUserId = userId
    const privileges = yield* nonEmpty("privileges", input.privileges)
    if (privileges !== undefined) result.sessionPrivileges = privileges
    const description = yield* nonEmpty("description", input.description)
    if (description !== undefined) result.description = description
    return result
  })

/** The flag of each field `AppTokenAdmin` may refuse (a backstop: the CLI checks them first). */
const flagOfField: Readonly<Record<string, string>> = {
  hashType: "--hash-type",
  sessionType: "--session-type",
  sessionUserId: "--session-user-id",
  sessionDuration: "--session-duration",
  expiry: "--expiry",
  sessionPrivileges: "--privileges",
  description: "--description"
}

// ---------------------------------------------------------------------------------------------------------------------
// the admin service, and what its failures mean here
// ---------------------------------------------------------------------------------------------------------------------

/**
 * The admin service for the partner and service URL of the flags or the environment. Builds without a request: the
 * ADMIN KS is asked for by the first call.
 */
const admin = (input: CommonInput) =>
  Effect.gen(function*() {
    const partnerText = pick(input.partnerId, flags.partnerId.env)
    if (partnerText === undefined) {
      return yield* new CliInputError({
        message:
          `missing --${flags.partnerId.flag} (or env ${flags.partnerId.env}): expected ${flags.partnerId.expected}`
      })
    }
    const adminSecret = yield* requireAdminSecret(input.adminSecretFile)
    const partnerId = /^\s*\d+\s*$/.test(partnerText) ? Number(partnerText) : Number.NaN
    const clientTag = process.env[KalturaConfig.envNames.clientTag]
    const service = yield* AppTokenAdmin.make({
      serviceUrl: pick(input.serviceUrl, flags.serviceUrl.env),
      partnerId,
      adminSecret,
      clientTag: clientTag === undefined || clientTag.trim() === "" ? "kaltura-apptoken-cli" : clientTag
    })
    return { service, partnerId }
  })

/** Rewrites the failures a user acts on differently here than in `session`, each with what to do. */
const explain =
  (options: { readonly partnerId: number; readonly id?: string | undefined; readonly write: boolean }) =>
  <A, R>(
    effect: Effect.Effect<A, AppTokenAdmin.AppTokenAdminError, R>
  ): Effect.Effect<A, CliFailure | CliInputError | KalturaCallError, R> =>
    Effect.catchAll(effect, (error): Effect.Effect<never, CliFailure | CliInputError | KalturaCallError> => {
      switch (error._tag) {
        case "KalturaConfigError":
          return Effect.fail(invalid(flagOfField[error.field] ?? error.field, error.expected))
        case "KalturaApiError":
          if (error.code === "START_SESSION_ERROR") {
            return Effect.fail(
              new CliFailure({
                code: ExitCode.Rejected,
                message: `Kaltura refused the admin session for partner ${options.partnerId} (session.start: ` +
                  `START_SESSION_ERROR): check the admin secret (${adminSecretSources}) and ` +
                  `--${flags.partnerId.flag}/${flags.partnerId.env}`
              })
            )
          }
          if (error.code === "APP_TOKEN_ID_NOT_FOUND" && options.id !== undefined) {
            return Effect.fail(
              new CliFailure({
                code: ExitCode.Rejected,
                message: `Kaltura has no App Token ${options.id} for partner ${options.partnerId} ` +
                  `(APP_TOKEN_ID_NOT_FOUND): check the id with \`${programName} token list\``
              })
            )
          }
          return Effect.fail(error)
        case "KalturaHttpError":
        case "KalturaTransportError":
        case "KalturaDecodeError":
          // a failure after which the write may have been applied: say so, as it was not sent again
          return options.write && (error._tag !== "KalturaDecodeError" || error.reason === "NotJson")
            ? Effect.fail(
              new CliFailure({
                code: ExitCode.Unreachable,
                message: error.message +
                  (error._tag === "KalturaDecodeError"
                    ? ""
                    : " (check --service-url/KALTURA_SERVICE_URL and the network)") +
                  `. It was not sent again, as it may have reached Kaltura: check with \`${programName} token list\` first`
              })
            )
            : Effect.fail(error)
        default:
          return Effect.fail(error)
      }
    })

type Handler<I> = (input: I) => Effect.Effect<void, unknown, FileSystem.FileSystem>

// ---------------------------------------------------------------------------------------------------------------------
// output
// ---------------------------------------------------------------------------------------------------------------------

const sessionTypeName = (type: number | undefined) => type === 2 ? "ADMIN" : type === 0 ? "USER" : null

/** One token as JSON: every field (`null` when unset), the secret only when asked. */
const toJson = (token: AppTokenAdmin.AppToken, withSecret: boolean) => ({
  id: token.id,
  hashType: token.hashType,
  status: token.status,
  ...(withSecret ? { token: Redacted.value(token.token) } : {}),
  partnerId: token.partnerId,
  expiry: token.expiry ?? null,
  sessionType: sessionTypeName(token.sessionType),
  sessionUserId: token.sessionUserId ?? null,
  sessionDuration: token.sessionDuration ?? null,
  sessionPrivileges: token.sessionPrivileges ?? null,
  description: token.description ?? null,
  createdAt: token.createdAt,
  updatedAt: token.updatedAt
})

const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z")

const expiryText = (expiry: number | undefined, now: number) =>
  expiry === undefined || expiry === 0
    ? expiry === 0 ? "0 (expired)" : "never"
    : `${isoSeconds(expiry)} (${expiry})${expiry * 1000 <= now ? " (expired)" : ""}`

/** One token as `name: value` lines, id first, then the secret when asked. */
const toLines = (token: AppTokenAdmin.AppToken, withSecret: boolean, now: number): ReadonlyArray<string> => {
  const rows: Array<[string, string]> = [
    ["id", token.id],
    ...(withSecret ? [["token", Redacted.value(token.token)] as [string, string]] : []),
    ["hashType", token.hashType],
    ["status", token.status],
    ["partnerId", String(token.partnerId)],
    ["expiry", expiryText(token.expiry, now)],
    ["sessionType", sessionTypeName(token.sessionType) ?? "(the caller's)"],
    ["sessionUserId", token.sessionUserId ?? "(the caller's)"],
    [
      "sessionDuration",
      token.sessionDuration === undefined ? "(the partner's maximum)" : `${token.sessionDuration} s`
    ],
    ["sessionPrivileges", token.sessionPrivileges ?? ""],
    ["description", token.description ?? ""],
    ["createdAt", isoSeconds(token.createdAt)],
    ["updatedAt", isoSeconds(token.updatedAt)]
  ]
  const width = Math.max(...rows.map(([name]) => name.length)) + 1
  return rows.map(([name, value]) => `${`${name}:`.padEnd(width)} ${value}`.trimEnd())
}

const printToken = (token: AppTokenAdmin.AppToken, json: boolean, withSecret: boolean) =>
  Effect.flatMap(
    Clock.currentTimeMillis,
    (now) =>
      stdout(json ? JSON.stringify(toJson(token, withSecret), null, 2) : toLines(token, withSecret, now).join("\n"))
  )

/** The tokens as a table, one row each. */
const toTable = (tokens: ReadonlyArray<AppTokenAdmin.AppToken>, withSecret: boolean): ReadonlyArray<string> => {
  const header = ["ID", "STATUS", "HASH", "EXPIRY", "TYPE", "USER", "DURATION", "DESCRIPTION"]
  const rows = tokens.map((token) => [
    token.id,
    token.status,
    token.hashType,
    token.expiry === undefined ? "never" : isoSeconds(token.expiry),
    sessionTypeName(token.sessionType) ?? "-",
    token.sessionUserId ?? "-",
    token.sessionDuration === undefined ? "-" : `${token.sessionDuration}s`,
    token.description ?? ""
  ])
  const columns = withSecret ? [...header.slice(0, 1), "TOKEN", ...header.slice(1)] : header
  const cells = withSecret
    ? rows.map((row, i) => [row[0]!, Redacted.value(tokens[i]!.token), ...row.slice(1)])
    : rows
  const widths = columns.map((title, c) => Math.max(title.length, ...cells.map((row) => row[c]!.length)))
  const line = (row: ReadonlyArray<string>) => row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd()
  return [line(columns), ...cells.map(line)]
}

// ---------------------------------------------------------------------------------------------------------------------
// the commands
// ---------------------------------------------------------------------------------------------------------------------

/** @internal `token add` */
export const add: Handler<CommonInput & FieldInput & { readonly hashType: Option.Option<string> }> = (input) =>
  Effect.gen(function*() {
    const hashType = Option.isNone(input.hashType) ? "SHA256" : normaliseHashType(input.hashType.value)
    if (!KalturaConfig.HashType.literals.includes(hashType)) {
      return yield* invalid("--hash-type", flags.hashType.expected)
    }
    const options = yield* fields(input)
    const { partnerId, service } = yield* admin(input)
    const token = yield* explain({ partnerId, write: true })(service.add({ ...options, hashType }))
    yield* printToken(token, input.json, true)
    yield* stderr(
      `${programName}: store the token now (e.g. in your secret store, for KALTURA_APP_TOKEN): it is not shown ` +
        `again, except by \`${programName} token get ${token.id} --show-secret\``
    )
  }).pipe(Effect.provide(Http.layer))

/** @internal `token list` */
export const list: Handler<CommonInput & { readonly showSecret: boolean }> = (input) =>
  Effect.gen(function*() {
    const { partnerId, service } = yield* admin(input)
    const tokens = yield* explain({ partnerId, write: false })(service.list)
    if (input.json) {
      yield* stdout(JSON.stringify(tokens.map((token) => toJson(token, input.showSecret)), null, 2))
    } else if (tokens.length === 0) {
      yield* stderr(`${programName}: partner ${partnerId} has no App Tokens (create one with \`token add\`)`)
    } else {
      yield* stdout(toTable(tokens, input.showSecret).join("\n"))
    }
  }).pipe(Effect.provide(Http.layer))

/** @internal `token get ID` */
export const get: Handler<CommonInput & { readonly showSecret: boolean; readonly id: string }> = (input) =>
  Effect.gen(function*() {
    const id = yield* checkId(input.id)
    const { partnerId, service } = yield* admin(input)
    const token = yield* explain({ partnerId, id, write: false })(service.get(id))
    yield* printToken(token, input.json, input.showSecret)
  }).pipe(Effect.provide(Http.layer))

/** @internal `token update ID` */
export const update: Handler<CommonInput & FieldInput & { readonly id: string }> = (input) =>
  Effect.gen(function*() {
    const id = yield* checkId(input.id)
    const options = yield* fields(input)
    if (Object.keys(options).length === 0) {
      return yield* new CliInputError({
        message: "nothing to update: expected at least one of --session-type, --session-user-id, " +
          "--session-duration, --expiry, --privileges, --description (the hash type cannot be changed)"
      })
    }
    const { partnerId, service } = yield* admin(input)
    const token = yield* explain({ partnerId, id, write: true })(service.update(id, options))
    yield* printToken(token, input.json, false)
  }).pipe(Effect.provide(Http.layer))

/** @internal `token delete ID --yes` */
export const del: Handler<CommonInput & Cache.CacheInput & { readonly id: string; readonly yes: boolean }> = (
  input
) =>
  Effect.gen(function*() {
    const id = yield* checkId(input.id)
    if (!input.yes) {
      return yield* new CliInputError({
        message: `deleting App Token ${id} needs --yes: every session it gave stops working at once ` +
          "(INVALID_KS LOGOUT); nothing was sent"
      })
    }
    const cache = yield* Cache.resolveCache(input)
    const { partnerId, service } = yield* admin(input)
    // its token value names the token's entries in the session cache: they can only be found with it
    const deleted = yield* explain({ partnerId, id, write: false })(service.get(id))
    yield* explain({ partnerId, id, write: true })(service.delete(id))
    yield* stdout(input.json ? JSON.stringify({ id, deleted: true }, null, 2) : `deleted ${id}`)
    yield* stderr(
      `${programName}: warning: every session of App Token ${id} has stopped working (INVALID_KS LOGOUT); ` +
        "programs using it need a new token"
    )
    // `session` must not print one of those sessions from the cache
    const removed = yield* Effect.flatMap(SessionStore.SessionStore, (store) => store.clearAppToken(id, deleted.token))
      .pipe(Effect.provide(Cache.storeLayer(cache)))
    if (removed > 0) {
      yield* stderr(
        `${programName}: removed ${removed} cached session${removed === 1 ? "" : "s"} of App Token ${id} from ` +
          Cache.describeCache(cache)
      )
    }
  }).pipe(Effect.provide(Http.layer))
