/**
 * The session flags of `session` and `call`, their environment fallbacks, and their resolution into the
 * library's `KalturaConfig.Options` (which the library then validates).
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as FileSystem from "@effect/platform/FileSystem"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"

/**
 * Bad or missing input found by the CLI itself, before any request (exit code 2). The message never
 * contains a value that was passed in, only flag and variable names.
 *
 * @internal
 */
export class CliInputError extends Data.TaggedError("CliInputError")<{ readonly message: string }> {}

/** @internal one flag, the environment variable it falls back to, and what it accepts */
export interface FlagSpec {
  readonly flag: string
  readonly env: string
  readonly pseudo: string
  readonly expected: string
  readonly description: string
}

const env = KalturaConfig.envNames

/**
 * The session flags, keyed by the `KalturaConfig.Options` field they fill.
 *
 * @internal
 */
export const flags = {
  serviceUrl: {
    flag: "service-url",
    env: env.serviceUrl,
    pseudo: "URL",
    expected: "an absolute https:// URL (http:// only for 127.0.0.0/8, localhost or [::1])",
    description: `Kaltura API host. Default ${KalturaConfig.defaultServiceUrl}; http:// only for a loopback host.`
  },
  partnerId: {
    flag: "partner-id",
    env: env.partnerId,
    pseudo: "N",
    expected: "a positive integer",
    description: "Partner (account) id. Required."
  },
  widgetId: {
    flag: "widget-id",
    env: env.widgetId,
    pseudo: "ID",
    expected: "a non-empty widget id such as _12345",
    description: "Widget that mints the unprivileged KS. Default _<partnerId>."
  },
  appTokenId: {
    flag: "app-token-id",
    env: env.appTokenId,
    pseudo: "ID",
    expected: "the App Token id, e.g. 0_ab12cd34",
    description: "The App Token's id (not its token value). Required."
  },
  hashType: {
    flag: "hash-type",
    env: env.hashType,
    pseudo: "MD5|SHA1|SHA256|SHA512",
    expected: "one of MD5, SHA1, SHA256, SHA512",
    description: "The token's hash type. Default SHA256 (a token created without one is SHA1 on the server)."
  },
  userId: {
    flag: "user-id",
    env: env.userId,
    pseudo: "ID",
    expected: "a non-empty string when set",
    description: "User of the session (the token's sessionUserId wins)."
  },
  sessionType: {
    flag: "type",
    env: env.sessionType,
    pseudo: "USER|ADMIN|0|2",
    expected: "USER, ADMIN, 0 or 2",
    description: "Session type (the token's sessionType wins)."
  },
  expiry: {
    flag: "expiry",
    env: env.expiry,
    pseudo: "SECONDS",
    expected: "a positive whole number of seconds",
    description: "Requested lifetime in seconds (capped by the token)."
  },
  sessionPrivileges: {
    flag: "privileges",
    env: env.sessionPrivileges,
    pseudo: "STR",
    expected: "a non-empty string when set",
    description: "Extra privileges, e.g. urirestrict:*,edit:1_abc (cannot widen the token's)."
  }
} as const satisfies Partial<Record<keyof KalturaConfig.Options, FlagSpec>>

/**
 * The App Token itself has no flag (a flag would land in shell history and `ps`): it is read from
 * `KALTURA_APP_TOKEN` or from the file named by `--token-file`.
 *
 * @internal
 */
export const tokenSpec = {
  flag: "token-file",
  env: env.token,
  pseudo: "PATH",
  expected: "the App Token's token value (not its id)",
  description: "File holding the App Token's token value (trimmed); wins over KALTURA_APP_TOKEN."
} as const satisfies FlagSpec

/** @internal how a setting is named in messages: the flag and the variable */
export const describeSetting = (field: string): string => {
  if (field === "token") return `the app token (${tokenSpec.env} or --${tokenSpec.flag} PATH)`
  const spec = (flags as Record<string, FlagSpec>)[field]
  if (spec !== undefined) return `--${spec.flag} (env ${spec.env})`
  const variable = (env as Record<string, string>)[field]
  return variable !== undefined ? variable : field
}

const textFlag = (spec: FlagSpec) =>
  Options.text(spec.flag).pipe(
    Options.withPseudoName(spec.pseudo),
    Options.withDescription(`${spec.description} Env: ${spec.env}.`),
    Options.optional
  )

/**
 * The `@effect/cli` options of the session flags. All optional here: the environment fills the gaps,
 * and the library validates the result, so that a message can name both the flag and the variable.
 *
 * @internal
 */
export const sessionOptions = {
  serviceUrl: textFlag(flags.serviceUrl),
  partnerId: textFlag(flags.partnerId),
  widgetId: textFlag(flags.widgetId),
  appTokenId: textFlag(flags.appTokenId),
  tokenFile: Options.text(tokenSpec.flag).pipe(
    Options.withPseudoName(tokenSpec.pseudo),
    Options.withDescription(
      "File holding the App Token's token value (trimmed). Without it the token is read from KALTURA_APP_TOKEN; " +
        "it has no flag of its own, as it is a secret."
    ),
    Options.optional
  ),
  hashType: textFlag(flags.hashType),
  userId: textFlag(flags.userId),
  sessionType: textFlag(flags.sessionType),
  expiry: textFlag(flags.expiry),
  sessionPrivileges: textFlag(flags.sessionPrivileges)
}

/** @internal the parsed session flags */
export interface SessionFlags {
  readonly serviceUrl: Option.Option<string>
  readonly partnerId: Option.Option<string>
  readonly widgetId: Option.Option<string>
  readonly appTokenId: Option.Option<string>
  readonly tokenFile: Option.Option<string>
  readonly hashType: Option.Option<string>
  readonly userId: Option.Option<string>
  readonly sessionType: Option.Option<string>
  readonly expiry: Option.Option<string>
  readonly sessionPrivileges: Option.Option<string>
}

/**
 * The value of a setting: the flag if given, else the environment variable unless it is empty.
 *
 * @internal
 */
export const pick = (flag: Option.Option<string>, variable: string): string | undefined => {
  if (Option.isSome(flag)) return flag.value
  const value = process.env[variable]
  return value === undefined || value.trim() === "" ? undefined : value
}

const missing = (spec: FlagSpec) =>
  new CliInputError({ message: `missing --${spec.flag} (or env ${spec.env}): expected ${spec.expected}` })

/** Like the library's own env parsing: an integer, or NaN so that validation names the setting. */
const strictInteger = (text: string): number => /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : Number.NaN

/** @internal a hash type as typed: any case, surrounding blanks ignored (validated by the library) */
export const normaliseHashType = (text: string): KalturaConfig.HashType =>
  text.trim().toUpperCase() as KalturaConfig.HashType

/**
 * Reads a secret that has no flag of its own: from the file of `--<spec.flag>` (trimmed) if given, else from the
 * variable `spec.env` (trimmed), else `undefined`. A file that cannot be read, or is empty, is bad input.
 *
 * @internal
 */
export const readSecret = (
  spec: { readonly flag: string; readonly env: string; readonly expected: string },
  file: Option.Option<string>
): Effect.Effect<Redacted.Redacted<string> | undefined, CliInputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    if (Option.isSome(file)) {
      const fs = yield* FileSystem.FileSystem
      const content = yield* fs.readFileString(file.value).pipe(
        Effect.mapError((error) =>
          new CliInputError({
            message: `cannot read --${spec.flag} ${JSON.stringify(file.value)} (${
              error._tag === "SystemError" ? error.reason : "not a text file"
            }): expected a file holding ${spec.expected}`
          })
        )
      )
      const secret = content.trim()
      if (secret === "") {
        return yield* new CliInputError({
          message: `--${spec.flag} ${JSON.stringify(file.value)} is empty: expected ${spec.expected}`
        })
      }
      return Redacted.make(secret)
    }
    const value = process.env[spec.env]?.trim()
    return value === undefined || value === "" ? undefined : Redacted.make(value)
  })

/**
 * Reads the App Token: `--token-file PATH` (trimmed) if given, else `KALTURA_APP_TOKEN` (trimmed).
 *
 * @internal
 */
export const readToken = (
  tokenFile: Option.Option<string>
): Effect.Effect<Redacted.Redacted<string>, CliInputError, FileSystem.FileSystem> =>
  Effect.flatMap(readSecret(tokenSpec, tokenFile), (token) =>
    token === undefined
      ? Effect.fail(
        new CliInputError({
          message: `missing app token: set ${tokenSpec.env} or pass --${tokenSpec.flag} PATH ` +
            `(it has no flag of its own, it is a secret): expected ${tokenSpec.expected}`
        })
      )
      : Effect.succeed(token))

/**
 * Merges flags and environment into `KalturaConfig.Options`. Only presence is checked here; every value
 * is validated by the library (`KalturaConfig.make`), whose `KalturaConfigError` names the setting.
 *
 * @internal
 */
export const resolveSession = (
  input: SessionFlags
): Effect.Effect<KalturaConfig.Options, CliInputError, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const partnerId = pick(input.partnerId, flags.partnerId.env)
    if (partnerId === undefined) return yield* missing(flags.partnerId)
    const appTokenId = pick(input.appTokenId, flags.appTokenId.env)
    if (appTokenId === undefined) return yield* missing(flags.appTokenId)
    const token = yield* readToken(input.tokenFile)
    const hashType = pick(input.hashType, flags.hashType.env)
    const expiry = pick(input.expiry, flags.expiry.env)
    const clientTag = process.env[env.clientTag]
    return {
      serviceUrl: pick(input.serviceUrl, flags.serviceUrl.env),
      partnerId: strictInteger(partnerId),
      widgetId: pick(input.widgetId, flags.widgetId.env),
      appTokenId,
      token,
      hashType: hashType === undefined ? undefined : normaliseHashType(hashType),
      userId: pick(input.userId, flags.userId.env),
      // any text: the library refuses what is not USER, ADMIN, 0 or 2
      sessionType: pick(input.sessionType, flags.sessionType.env) as KalturaConfig.Options["sessionType"],
      expiry: expiry === undefined ? undefined : strictInteger(expiry),
      sessionPrivileges: pick(input.sessionPrivileges, flags.sessionPrivileges.env),
      clientTag: clientTag === undefined || clientTag.trim() === "" ? "kaltura-apptoken-cli" : clientTag
    }
  })
