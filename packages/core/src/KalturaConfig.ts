/**
 * The settings of one App Token: where the Kaltura API is, which partner and token, and what kind
 * of session to ask for. Validated once, before any request is sent.
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"

/**
 * The digest an App Token was created with. Kaltura's App Token guide uses `SHA256`, which is our
 * default; note that the server treats a token created **without** a hash type as `SHA1`.
 *
 * @since 0.1.0
 * @category Models
 */
export const HashType = Schema.Literal("MD5", "SHA1", "SHA256", "SHA512")

/**
 * @since 0.1.0
 * @category Models
 */
export type HashType = typeof HashType.Type

/**
 * Kaltura's `KalturaSessionType`: `USER` (0) or `ADMIN` (2). Type 1 does not exist in the API.
 *
 * @since 0.1.0
 * @category Models
 */
export const SessionType = {
  USER: 0,
  ADMIN: 2
} as const

/**
 * @since 0.1.0
 * @category Models
 */
export type SessionType = typeof SessionType[keyof typeof SessionType]

/**
 * A setting that was missing or malformed, refused before any request was sent. `field` is the option
 * name, `env` the environment variable it is read from, `expected` what would have been accepted, and `source`
 * where the value came from: options passed in code (the message names the option), the `KALTURA_*` environment
 * variables (the message names the variable) or a `Config` of your own (`env` is then the path of a value that is
 * missing or unreadable).
 * The rejected value is never echoed, so a misplaced secret cannot end up in a log.
 *
 * @since 0.1.0
 * @category Errors
 */
export class KalturaConfigError extends Schema.TaggedError<KalturaConfigError>(
  "@kaltura-effect/core/KalturaConfigError"
)("KalturaConfigError", {
  field: Schema.String,
  env: Schema.String,
  expected: Schema.String,
  /** @since 0.2.0 */
  source: Schema.optionalWith(Schema.Literal("options", "environment", "config"), { default: () => "options" })
}) {
  /**
   * Never: a setting is fixed by changing it, not by retrying.
   *
   * @since 0.2.0
   */
  get isTransient(): boolean {
    return false
  }

  /**
   * @since 0.1.0
   */
  override get message(): string {
    switch (this.source) {
      case "options":
        return `Invalid Kaltura option "${this.field}": expected ${this.expected}`
      case "environment":
        return `Invalid Kaltura setting ${this.env} ("${this.field}"): expected ${this.expected}`
      case "config":
        return `Invalid Kaltura setting "${this.field}" in the given Config: expected ${this.expected}`
    }
  }
}

/**
 * What a caller supplies. Only `partnerId`, `appTokenId` and `token` are required.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** Base URL of the Kaltura API host. Default `https://www.kaltura.com`. `http://` only for loopback hosts. */
  readonly serviceUrl?: string | undefined
  /** The partner (account) id, a positive integer. */
  readonly partnerId: number
  /** The widget that mints the unprivileged KS. Default `_<partnerId>`, the partner's default widget. */
  readonly widgetId?: string | undefined
  /** The App Token's `id`, e.g. `0_ab12cd34`. */
  readonly appTokenId: string
  /** The App Token's `token` value (32 hex characters), not its id. */
  readonly token: Redacted.Redacted<string>
  /** The token's hash type. Default `SHA256`; a token created without one is `SHA1` on the server. */
  readonly hashType?: HashType | undefined
  /** The user the session is for. Ignored by the server when the token has a `sessionUserId`. */
  readonly userId?: string | undefined
  /** `USER` (0) or `ADMIN` (2). Ignored by the server when the token has a `sessionType`. */
  readonly sessionType?: SessionType | "USER" | "ADMIN" | undefined
  /** Requested lifetime in seconds; the server caps it by the token's `sessionDuration` and expiry. */
  readonly expiry?: number | undefined
  /** Extra privileges, e.g. `"urirestrict:*,edit:1_abc"`; the token's own privileges cannot be widened. */
  readonly sessionPrivileges?: string | undefined
  /** Sent as `clientTag` with every call, for Kaltura's logs. Default `kaltura-effect`. */
  readonly clientTag?: string | undefined
}

/**
 * A validated configuration, as the services read it from the context.
 *
 * @since 0.1.0
 * @category Models
 */
export interface KalturaSettings {
  /** Normalised, without a trailing slash. */
  readonly serviceUrl: string
  readonly partnerId: number
  readonly widgetId: string
  readonly appTokenId: string
  readonly token: Redacted.Redacted<string>
  readonly hashType: HashType
  readonly userId: Option.Option<string>
  readonly sessionType: Option.Option<SessionType>
  readonly expiry: Option.Option<number>
  readonly sessionPrivileges: Option.Option<string>
  readonly clientTag: string
}

/**
 * The validated settings of one App Token.
 *
 * @since 0.1.0
 * @category Context
 */
export class KalturaConfig extends Context.Tag("@kaltura-effect/core/KalturaConfig")<
  KalturaConfig,
  KalturaSettings
>() {}

/**
 * The environment variable each option is read from by {@link layerConfig}.
 *
 * @since 0.1.0
 * @category Config
 */
export const envNames = {
  serviceUrl: "KALTURA_SERVICE_URL",
  partnerId: "KALTURA_PARTNER_ID",
  widgetId: "KALTURA_WIDGET_ID",
  appTokenId: "KALTURA_APP_TOKEN_ID",
  token: "KALTURA_APP_TOKEN",
  hashType: "KALTURA_APP_TOKEN_HASH_TYPE",
  userId: "KALTURA_USER_ID",
  sessionType: "KALTURA_SESSION_TYPE",
  expiry: "KALTURA_SESSION_EXPIRY",
  sessionPrivileges: "KALTURA_SESSION_PRIVILEGES",
  clientTag: "KALTURA_CLIENT_TAG"
} as const satisfies Record<keyof Options, string>

/**
 * Default API host.
 *
 * @since 0.1.0
 * @category Config
 */
export const defaultServiceUrl = "https://www.kaltura.com"

const invalid = (field: keyof Options, expected: string) =>
  new KalturaConfigError({ field, env: envNames[field], expected })

const isLoopbackHost = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)

/**
 * Checks a service URL: absolute `https:`, or `http:` to a loopback host only (a KS must not cross a
 * network in clear text). Returns it without a trailing slash.
 *
 * @since 0.1.0
 * @category Validation
 */
export const validateServiceUrl = (serviceUrl: string): Effect.Effect<string, KalturaConfigError> => {
  const expected = "an absolute https:// URL (http:// only for 127.0.0.0/8, localhost or [::1])"
  let url: URL
  try {
    url = new URL(serviceUrl)
  } catch {
    return Effect.fail(invalid("serviceUrl", expected))
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    return Effect.fail(invalid("serviceUrl", `${expected}, with no credentials, query or fragment`))
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) {
    return Effect.succeed(url.href.replace(/\/+$/, ""))
  }
  return Effect.fail(invalid("serviceUrl", expected))
}

const isPositiveInteger = (n: number) => Number.isSafeInteger(n) && n > 0
const hashTypes: ReadonlyArray<string> = HashType.literals

/**
 * Parses a session type as users write it: `USER`/`ADMIN` (any case) or `0`/`2`.
 *
 * @since 0.1.0
 * @category Validation
 */
export const parseSessionType = (input: SessionType | string): Option.Option<SessionType> => {
  switch (typeof input === "string" ? input.trim().toUpperCase() : input) {
    case 0:
    case "0":
    case "USER":
      return Option.some(SessionType.USER)
    case 2:
    case "2":
    case "ADMIN":
      return Option.some(SessionType.ADMIN)
    default:
      return Option.none()
  }
}

/** Untyped (JavaScript) callers may pass anything: a non-string is refused like an empty string. */
const isBlank = (value: unknown): boolean => typeof value !== "string" || value.trim() === ""

const optionalString = (field: keyof Options, value: string | undefined) =>
  value === undefined
    ? Effect.succeed(Option.none<string>())
    : isBlank(value)
    ? Effect.fail(invalid(field, "a non-empty string when set"))
    : Effect.succeed(Option.some(value))

/**
 * Validates options into settings, or fails with the first problem found.
 *
 * @since 0.1.0
 * @category Constructors
 * @example
 * ```ts
 * import { KalturaConfig } from "@kaltura-effect/core"
 * import { Redacted } from "effect"
 *
 * const settings = KalturaConfig.make({
 *   partnerId: 12345,
 *   appTokenId: "0_ab12cd34",
 *   token: Redacted.make("a1b2c3d4e5f60718293a4b5c6d7e8f90")
 * })
 * ```
 */
export const make = (options: Options): Effect.Effect<KalturaSettings, KalturaConfigError> =>
  Effect.gen(function*() {
    const serviceUrl = yield* validateServiceUrl(options.serviceUrl ?? defaultServiceUrl)
    if (!isPositiveInteger(options.partnerId)) {
      return yield* invalid("partnerId", "a positive integer")
    }
    const widgetId = options.widgetId ?? `_${options.partnerId}`
    if (isBlank(widgetId)) return yield* invalid("widgetId", "a non-empty widget id such as _12345")
    if (isBlank(options.appTokenId)) {
      return yield* invalid("appTokenId", "the App Token id, e.g. 0_ab12cd34")
    }
    if (!Redacted.isRedacted(options.token) || isBlank(Redacted.value(options.token))) {
      return yield* invalid("token", "the App Token's token value (not empty)")
    }
    const hashTypeInput: unknown = options.hashType ?? "SHA256"
    const hashType = (typeof hashTypeInput === "string" ? hashTypeInput.toUpperCase() : "") as HashType
    if (!hashTypes.includes(hashType)) return yield* invalid("hashType", "one of MD5, SHA1, SHA256, SHA512")
    let sessionType = Option.none<SessionType>()
    if (options.sessionType !== undefined) {
      sessionType = parseSessionType(options.sessionType)
      if (Option.isNone(sessionType)) return yield* invalid("sessionType", "USER, ADMIN, 0 or 2")
    }
    if (options.expiry !== undefined && !isPositiveInteger(options.expiry)) {
      return yield* invalid("expiry", "a positive whole number of seconds")
    }
    const clientTag = options.clientTag ?? "kaltura-effect"
    if (isBlank(clientTag)) return yield* invalid("clientTag", "a non-empty string when set")
    return {
      serviceUrl,
      partnerId: options.partnerId,
      widgetId,
      appTokenId: options.appTokenId,
      token: options.token,
      hashType,
      userId: yield* optionalString("userId", options.userId),
      sessionType,
      expiry: Option.fromNullable(options.expiry),
      sessionPrivileges: yield* optionalString("sessionPrivileges", options.sessionPrivileges),
      clientTag
    }
  })

const parseStrictInteger = (text: string): number => /^\s*[+-]?\d+\s*$/.test(text) ? Number(text) : Number.NaN

/** Reads one variable; a missing or unreadable one is a {@link KalturaConfigError} naming it. */
const readEnv = <A>(field: keyof Options, config: Config.Config<A>) =>
  Effect.mapError(
    config,
    (error) => invalid(field, ConfigError.isMissingDataOnly(error) ? "a value (it is not set)" : "a readable value")
  )

/** Marks a validation error as found in the environment variables, so that its message names the variable. */
const fromSource = (source: KalturaConfigError["source"]) => (error: KalturaConfigError) =>
  new KalturaConfigError({ ...error, source })

const requiredEnv = (field: keyof Options) => readEnv(field, Config.string(envNames[field]))
const optionalEnv = (field: keyof Options) =>
  Effect.map(readEnv(field, Config.option(Config.string(envNames[field]))), Option.getOrUndefined)

/** The `KALTURA_*` variables, each read on its own so that a missing one is named. */
const fromEnv: Effect.Effect<KalturaSettings, KalturaConfigError> = Effect.mapError(
  Effect.suspend(() => readEnvOptions),
  fromSource("environment")
)

const readEnvOptions: Effect.Effect<KalturaSettings, KalturaConfigError> = Effect.gen(function*() {
  const partnerId = yield* requiredEnv("partnerId")
  const appTokenId = yield* requiredEnv("appTokenId")
  const token = yield* readEnv("token", Config.redacted(envNames.token))
  const hashType = yield* optionalEnv("hashType")
  const expiry = yield* optionalEnv("expiry")
  return yield* make({
    serviceUrl: yield* optionalEnv("serviceUrl"),
    partnerId: parseStrictInteger(partnerId),
    widgetId: yield* optionalEnv("widgetId"),
    appTokenId,
    token,
    hashType: hashType?.trim().toUpperCase() as HashType | undefined,
    userId: yield* optionalEnv("userId"),
    // any text: `make` refuses what is not USER, ADMIN, 0 or 2
    sessionType: (yield* optionalEnv("sessionType")) as Options["sessionType"],
    expiry: expiry === undefined ? undefined : parseStrictInteger(expiry),
    sessionPrivileges: yield* optionalEnv("sessionPrivileges"),
    clientTag: yield* optionalEnv("clientTag")
  })
})

/** The first missing or unreadable value of a `ConfigError`, with its path. */
const firstProblem = (
  error: ConfigError.ConfigError
): { readonly path: ReadonlyArray<string>; readonly missing: boolean } => {
  switch (error._op) {
    case "And":
    case "Or":
      return firstProblem(error.left)
    case "MissingData":
      return { path: error.path, missing: true }
    default:
      return { path: error.path, missing: false }
  }
}

const optionNames = Object.keys(envNames) as ReadonlyArray<keyof Options>

/** A `ConfigError` from a caller's own `Config`, as a {@link KalturaConfigError} naming the option and its path. */
const fromConfigError = (error: ConfigError.ConfigError): KalturaConfigError => {
  const { missing, path } = firstProblem(error)
  const last = path[path.length - 1] ?? ""
  const field = optionNames.find((name) => name === last || envNames[name] === last) ?? last
  return new KalturaConfigError({
    field,
    env: path.join("."),
    expected: missing ? "a value (it is not set)" : "a readable value",
    source: "config"
  })
}

/**
 * Reads and validates the settings through Effect's `Config`. Without an argument, from the `KALTURA_*`
 * environment variables (see {@link envNames}; through the current `ConfigProvider`, so tests can supply a map):
 * the token is read as a `Redacted` value, the hash type and session type are accepted in any case, and a missing
 * variable is a {@link KalturaConfigError} naming it. With `config`, from options sourced your own way.
 *
 * @since 0.1.0
 * @category Config
 */
export const fromConfig = (config?: Config.Config<Options>): Effect.Effect<KalturaSettings, KalturaConfigError> =>
  config === undefined
    ? fromEnv
    : Effect.flatMap(
      Effect.mapError(config, fromConfigError),
      (options) => Effect.mapError(make(options), fromSource("config"))
    )

/**
 * Provides {@link KalturaConfig} from explicit options.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (options: Options): Layer.Layer<KalturaConfig, KalturaConfigError> =>
  Layer.effect(KalturaConfig, make(options))

/**
 * Provides {@link KalturaConfig} through Effect's `Config`: from the `KALTURA_*` environment variables by default,
 * or from a `Config` of options of your own.
 *
 * @since 0.1.0
 * @category Layers
 * @example
 * ```ts
 * import { KalturaConfig } from "@kaltura-effect/core"
 * import { Config } from "effect"
 *
 * // the same settings under MYAPP_KALTURA_* instead of KALTURA_*
 * const settings = Config.all({
 *   partnerId: Config.integer("PARTNER_ID"),
 *   appTokenId: Config.string("APP_TOKEN_ID"),
 *   token: Config.redacted("APP_TOKEN")
 * }).pipe(Config.nested("MYAPP_KALTURA"))
 * const KalturaSettings = KalturaConfig.layerConfig(settings)
 * ```
 */
export const layerConfig = (config?: Config.Config<Options>): Layer.Layer<KalturaConfig, KalturaConfigError> =>
  Layer.effect(KalturaConfig, fromConfig(config))
