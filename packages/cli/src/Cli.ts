/**
 * The `kaltura-apptoken` command line: `session`, `hash`, `call`, `cache clear`, `token`, `doctor`, `fake-server` and
 * `demo`, built with `@effect/cli` on `@kaltura-effect/node` (and `@kaltura-effect/testing` for the fake server).
 * `session` and `call` keep their KS in a session cache (files, or Redis); `token` and `doctor` never use it.
 *
 * Every session setting is a flag with an environment fallback (flags win); the App Token itself has
 * no flag: it comes from `KALTURA_APP_TOKEN` or `--token-file PATH`. Exit codes: 0 success; 2 bad or
 * missing input, decided before any request; 3 Kaltura rejected the request; 4 Kaltura unreachable or
 * still failing after the retries (see {@link ExitCode}).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as KalturaClient from "@kaltura-effect/core/KalturaClient"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as KalturaError from "@kaltura-effect/core/KalturaError"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import * as NodeAppToken from "@kaltura-effect/node/NodeAppToken"
import * as NodeTokenHasher from "@kaltura-effect/node/NodeTokenHasher"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { refuseAdminSecretFlag } from "./internal/adminSecret.js"
import * as Cache from "./internal/cache.js"
import { doctor } from "./internal/doctorCommand.js"
import * as Errors from "./internal/errors.js"
import { colorsEnabled, stderr, stdout, stripAnsi, writeStderr } from "./internal/output.js"
import { parseParams } from "./internal/params.js"
import {
  CliInputError,
  flags,
  normaliseHashType,
  pick,
  readToken,
  resolveSession,
  sessionOptions,
  tokenSpec
} from "./internal/settings.js"
import { Signals } from "./internal/signals.js"
import { token } from "./internal/tokenCommand.js"

/**
 * The exit codes of every command: `Ok` 0; `Usage` 2 (bad or missing input, before any request);
 * `Rejected` 3 (a Kaltura error code, or a session the library refuses); `Unreachable` 4 (transport,
 * HTTP status, timeout or a non-JSON body, after the retries); `Internal` 1 (a bug); `Interrupted` 130.
 *
 * @since 0.1.0
 * @category Exit codes
 */
export const ExitCode = Errors.ExitCode

/**
 * The program name.
 *
 * @since 0.1.0
 * @category Constants
 */
export const name = "kaltura-apptoken"

/**
 * The program version.
 *
 * @since 0.1.0
 * @category Constants
 */
export const version = "0.1.0"

/**
 * The library's whole Node stack for one command. A command makes one or two calls and exits, so the
 * minimum interval between refreshes (which guards long-running programs against refresh storms) is off:
 * a call told that its fresh KS expired refreshes at once instead of waiting out the interval.
 */
const sessionLayer = (options: KalturaConfig.Options, cache: Cache.Cache) =>
  NodeAppToken.layer(options, { session: { minRefreshInterval: 0 }, store: Cache.storeLayer(cache) })

/**
 * The session to print: the one obtained, or, for one from the cache past its refresh point, a new one (a round
 * trip with the cached widget KS). Kaltura unreachable meanwhile: the cached one, still valid for a while.
 */
const printableSession = Effect.gen(function*() {
  const sessions = yield* AppTokenSession.AppTokenSession
  const current = yield* sessions.get
  if (current.source !== "store" || (yield* sessions.status) === "Fresh") return current
  return yield* Effect.catchIf(sessions.refresh, KalturaError.isTransient, () => Effect.succeed(current))
})

// ---------------------------------------------------------------------------------------------------------
// session
// ---------------------------------------------------------------------------------------------------------

/**
 * `session [flags] [--json]`: obtains a privileged KS through the library's own layers and prints it
 * (by design, this output is a secret), or with `--json` one object with the session's details.
 *
 * @since 0.1.0
 * @category Commands
 */
export const session = Command.make(
  "session",
  {
    ...sessionOptions,
    ...Cache.cacheOptions,
    json: Options.boolean("json").pipe(
      Options.withDescription(
        "Print one JSON object {ks, partnerId, userId, sessionType, expiry, expiresAt, privileges, source} instead " +
          "of the KS; source is kaltura (obtained now) or cache."
      )
    )
  },
  (input) =>
    Effect.gen(function*() {
      const options = yield* resolveSession(input)
      const cache = yield* Cache.resolveCache(input)
      const current = yield* printableSession.pipe(Effect.provide(sessionLayer(options, cache)))
      const ks = Redacted.value(current.ks)
      yield* stdout(
        input.json
          ? JSON.stringify({
            ks,
            partnerId: current.partnerId,
            userId: current.userId,
            sessionType: current.sessionType,
            expiry: current.expiry,
            expiresAt: new Date(current.expiresAt).toISOString(),
            privileges: current.privileges,
            source: current.source === "store" ? "cache" : "kaltura"
          })
          : ks
      )
    })
).pipe(
  Command.withDescription(
    "Obtain a privileged KS with an App Token (widget session, hash, appToken.startSession) and print it. " +
      "The token comes from KALTURA_APP_TOKEN or --token-file PATH. The KS is cached (encrypted) for the next run " +
      "until its refresh point; --no-cache turns that off."
  )
)

// ---------------------------------------------------------------------------------------------------------
// hash
// ---------------------------------------------------------------------------------------------------------

/**
 * `hash --ks KS [--hash-type T]`: prints the lowercase hex `tokenHash` the server expects for that KS,
 * computed with `node:crypto`, for debugging an `INVALID_APP_TOKEN_HASH`.
 *
 * @since 0.1.0
 * @category Commands
 */
export const hash = Command.make(
  "hash",
  {
    ks: Options.text("ks").pipe(
      Options.withPseudoName("KS"),
      Options.withDescription("The KS to hash: the widget KS sent with appToken.startSession.")
    ),
    hashType: sessionOptions.hashType,
    tokenFile: sessionOptions.tokenFile
  },
  (input) =>
    Effect.gen(function*() {
      const text = pick(input.hashType, flags.hashType.env)
      const hashType = text === undefined ? "SHA256" : normaliseHashType(text)
      if (!KalturaConfig.HashType.literals.includes(hashType)) {
        return yield* new KalturaConfig.KalturaConfigError({
          field: "hashType",
          env: flags.hashType.env,
          expected: flags.hashType.expected
        })
      }
      if (input.ks.trim() === "") {
        return yield* new CliInputError({ message: "empty --ks: expected the KS to hash (the widget KS)" })
      }
      const token = yield* readToken(input.tokenFile)
      const hasher = yield* NodeTokenHasher.make
      const digest = yield* hasher.hash(hashType, Redacted.make(input.ks), token)
      yield* stdout(Redacted.value(digest))
    })
).pipe(
  Command.withDescription(
    "Print the tokenHash the server expects: lowercase hex of HASH(KS + token). " +
      "Compare it with what your code sends to debug INVALID_APP_TOKEN_HASH."
  )
)

// ---------------------------------------------------------------------------------------------------------
// call
// ---------------------------------------------------------------------------------------------------------

/**
 * `call SERVICE ACTION [--param name=value ...] [session flags]`: one authenticated call through
 * `KalturaClient` (which refreshes and retries once on an expired or revoked KS); prints the JSON result.
 * Nested names (`pager:pageSize=5`, `filter[statusEqual]=2`) become nested objects; values are sent as
 * strings, which Kaltura casts to each parameter's type. Options may come before or after the arguments.
 *
 * @since 0.1.0
 * @category Commands
 */
export const call = Command.make(
  "call",
  {
    service: Args.text({ name: "SERVICE" }).pipe(Args.withDescription("Kaltura service, e.g. baseEntry")),
    action: Args.text({ name: "ACTION" }).pipe(Args.withDescription("Action of the service, e.g. list")),
    param: Options.text("param").pipe(
      Options.withPseudoName("name=value"),
      Options.withDescription(
        "A parameter (repeatable). Nested: pager:pageSize=5 or filter[statusEqual]=2. Values are sent as strings."
      ),
      Options.repeated
    ),
    ...sessionOptions,
    ...Cache.cacheOptions
  },
  (input) =>
    Effect.gen(function*() {
      const params = yield* parseParams(input.param)
      const options = yield* resolveSession(input)
      const cache = yield* Cache.resolveCache(input)
      const result = yield* Effect.flatMap(
        KalturaClient.KalturaClient,
        (client) => client.call(input.service, input.action, params, Schema.Unknown)
      ).pipe(Effect.provide(sessionLayer(options, cache)))
      yield* stdout(JSON.stringify(result, null, 2))
    })
).pipe(
  Command.withDescription(
    "Make one authenticated API call with an App Token session and print the JSON result, " +
      "e.g. call baseEntry list --param pager:pageSize=5"
  )
)

// ---------------------------------------------------------------------------------------------------------
// cache
// ---------------------------------------------------------------------------------------------------------

/**
 * `cache clear [--cache-dir DIR | --redis URL]`: removes every session (and refresh lease) the CLI stored there, for
 * every App Token, and prints how many sessions were removed.
 *
 * @since 0.2.0
 * @category Commands
 */
export const cacheClear = Command.make(
  "clear",
  Cache.storeOptions,
  (input) =>
    Effect.gen(function*() {
      const cache = yield* Cache.resolveClearable(input)
      const removed = yield* Effect.flatMap(SessionStore.SessionStore, (store) => store.clear).pipe(
        Effect.provide(Cache.storeLayer(cache))
      )
      yield* stdout(`removed ${removed} cached session${removed === 1 ? "" : "s"} from ${Cache.describeCache(cache)}`)
    })
).pipe(
  Command.withDescription(
    "Remove every session the CLI cached (in --cache-dir / KALTURA_CACHE_DIR, or --redis / KALTURA_REDIS_URL)."
  )
)

/**
 * `cache`: the session cache of `session` and `call`.
 *
 * @since 0.2.0
 * @category Commands
 */
export const cache = Command.make("cache").pipe(
  Command.withDescription("The session cache that session and call use (see cache clear)."),
  Command.withSubcommands([cacheClear])
)

// ---------------------------------------------------------------------------------------------------------
// fake-server
// ---------------------------------------------------------------------------------------------------------

/** `FakeKaltura.defaultPartnerId`, repeated here so that the fake server loads only when used. */
const defaultFakePartnerId = 12345

/** The fake server and its HTTP stack load only for the commands that use them: a faster start for the others. */
const loadFakeKaltura = Effect.promise(() => import("@kaltura-effect/testing/FakeKaltura"))

const integerIn = (flag: string, text: string, min: number, max: number, expected: string) =>
  /^\s*\d+\s*$/.test(text) && Number(text) >= min && Number(text) <= max
    ? Effect.succeed(Number(text))
    : Effect.fail(new CliInputError({ message: `invalid --${flag}: expected ${expected}` }))

/**
 * `fake-server [--port N] [--partner-id N] [--hash-type T]`: runs the fake Kaltura server on 127.0.0.1,
 * seeds one App Token, prints one JSON line `{serviceUrl, partnerId, appTokenId, token, hashType}` and
 * serves until SIGINT or SIGTERM, then closes and exits 0. It reads no environment variables.
 *
 * @since 0.1.0
 * @category Commands
 */
export const fakeServer = Command.make(
  "fake-server",
  {
    port: Options.text("port").pipe(
      Options.withPseudoName("N"),
      Options.withDescription("Port on 127.0.0.1. Default 0: a free port."),
      Options.withDefault("0")
    ),
    partnerId: Options.text("partner-id").pipe(
      Options.withPseudoName("N"),
      Options.withDescription(`Partner id. Default ${defaultFakePartnerId}.`),
      Options.withDefault(String(defaultFakePartnerId))
    ),
    hashType: Options.text("hash-type").pipe(
      Options.withPseudoName("MD5|SHA1|SHA256|SHA512"),
      Options.withDescription("Hash type of the seeded App Token. Default SHA256 (as the client's default)."),
      Options.withDefault("SHA256")
    )
  },
  (input) =>
    Effect.scoped(Effect.gen(function*() {
      const port = yield* integerIn("port", input.port, 0, 65535, "a TCP port, 0 to 65535 (0: a free one)")
      const partnerId = yield* integerIn(
        "partner-id",
        input.partnerId,
        1,
        Number.MAX_SAFE_INTEGER,
        "a positive integer"
      )
      const hashType = normaliseHashType(input.hashType)
      if (!KalturaConfig.HashType.literals.includes(hashType)) {
        return yield* new CliInputError({ message: `invalid --hash-type: expected ${flags.hashType.expected}` })
      }
      const signals = yield* Signals
      const FakeKaltura = yield* loadFakeKaltura
      const fake = yield* FakeKaltura.make({ port, partner: { id: partnerId } }).pipe(
        Effect.mapError(() =>
          new CliInputError({
            message: `cannot listen on 127.0.0.1:${port} (in use or not permitted): expected a free --port, or 0`
          })
        )
      )
      const token = yield* fake.seedAppToken({ partnerId, hashType, description: "kaltura-apptoken fake-server" })
      yield* stdout(JSON.stringify({
        serviceUrl: fake.url,
        partnerId: fake.partnerId,
        appTokenId: token.id,
        token: token.token,
        hashType: token.hashType
      }))
      if (process.stderr.isTTY) yield* stderr(`fake Kaltura server listening on ${fake.url}; Ctrl-C to stop`)
      yield* signals.awaitShutdown
    }))
).pipe(
  Command.withDescription(
    "Run the fake Kaltura server on 127.0.0.1 with one seeded App Token; print its settings as one JSON line; " +
      "serve until SIGINT or SIGTERM."
  )
)

// ---------------------------------------------------------------------------------------------------------
// demo
// ---------------------------------------------------------------------------------------------------------

/**
 * `demo`: starts the fake server on a free loopback port, seeds an App Token and runs the whole flow
 * through the library (widget session, hash, app-token session, `baseEntry.list`, a forced refresh),
 * printing each step as it happens, with timings and fingerprints instead of secrets.
 *
 * @since 0.1.0
 * @category Commands
 */
export const demo = Command.make(
  "demo",
  {},
  () => Effect.scoped(Effect.flatMap(Effect.promise(() => import("./internal/demo.js")), (Demo) => Demo.run))
).pipe(
  Command.withDescription(
    "Run the whole App Token flow through the library against a local fake Kaltura server, step by step. " +
      "No account needed."
  )
)

/**
 * The root command, with every subcommand.
 *
 * @since 0.1.0
 * @category Commands
 */
export const command = Command.make(name).pipe(
  Command.withDescription(
    "Kaltura App Token sessions from the command line. Exit codes: 0 ok, 2 bad or missing input, " +
      "3 rejected by Kaltura, 4 Kaltura unreachable. Add --debug anywhere for details on failure."
  ),
  Command.withSubcommands([session, hash, call, cache, fakeServer, demo, token, doctor])
)

const cli = Command.run(command, { name, version })

const processSignal = Effect.async<NodeJS.Signals>((resume) => {
  const onSignal = (signal: NodeJS.Signals) => resume(Effect.succeed(signal))
  process.once("SIGINT", onSignal)
  process.once("SIGTERM", onSignal)
  return Effect.sync(() => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
  })
})

const commandsReadingEnv = new Set(["session", "hash", "call", "doctor"])

/**
 * Runs the command line `args` (without the `node` and script paths) and returns the exit code. Never
 * fails: a failure is reported as one line on stderr (`--debug`: with its full cause) and mapped to an
 * exit code. Interruption is left to the caller, which knows which signal caused it.
 *
 * @since 0.1.0
 * @category Running
 */
export const run = (
  args: ReadonlyArray<string>,
  options?: {
    readonly debug?: boolean | undefined
    /**
     * What `fake-server` waits for before it closes and exits 0. Default: the process's first SIGINT or
     * SIGTERM (the bin passes its own, so that a signal outside such a wait interrupts the command instead).
     */
    readonly awaitShutdown?: Effect.Effect<unknown> | undefined
  }
): Effect.Effect<number, never, CliApp.CliApp.Environment> => {
  const debug = options?.debug === true
  const subcommand = args.find((arg) => !arg.startsWith("-"))
  const refusedAdminSecret = refuseAdminSecretFlag(args)
  const program: Effect.Effect<void, unknown, Effect.Effect.Context<ReturnType<typeof cli>>> =
    args.some((arg) => arg === "--token" || arg.startsWith("--token="))
      ? Effect.fail(
        new CliInputError({
          message: `there is no --token flag, as the app token is a secret: set ${tokenSpec.env} or pass ` +
            `--${tokenSpec.flag} PATH`
        })
      )
      : refusedAdminSecret !== undefined
      ? Effect.fail(refusedAdminSecret)
      : cli(["node", name, ...args])
  return program.pipe(
    Effect.provideService(Signals, { awaitShutdown: options?.awaitShutdown ?? processSignal }),
    withCliConsole,
    Effect.provide(Logger.replace(Logger.defaultLogger, debug ? stderrLogger : makeCacheWarningLogger())),
    Logger.withMinimumLogLevel(debug ? LogLevel.Debug : LogLevel.Warning),
    Effect.as(ExitCode.Ok as number),
    Effect.catchAllCause((cause) => {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause as Cause.Cause<never>)
      const outcome = Errors.fromCause(cause, subcommand === undefined || commandsReadingEnv.has(subcommand))
      return Effect.sync(() => {
        writeStderr(`${name}: ${outcome.line}`)
        if (debug) writeStderr(Cause.pretty(cause, { renderErrorCause: true }))
        return outcome.code
      })
    })
  )
}

/**
 * `@effect/cli` prints a usage error with `Console.error` before failing with it, and we report failures
 * ourselves: its `error` is silenced (our own output goes straight to the streams). Its help, printed with
 * `Console.log`, loses its colours unless stdout is a terminal.
 */
const withCliConsole = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.consoleWith((console) => {
    const plain = !colorsEnabled()
    const log = (args: ReadonlyArray<unknown>) =>
      plain ? args.map((arg) => typeof arg === "string" ? stripAnsi(arg) : arg) : args
    return Effect.withConsole(effect, {
      ...console,
      log: (...args) => console.log(...log(args)),
      error: () => Effect.void,
      unsafe: {
        ...console.unsafe,
        log: (...args) => console.unsafe.log(...log(args)),
        error: () => {}
      }
    })
  })

const stderrLogger = Logger.make((options) => {
  writeStderr(Logger.logfmtLogger.log(options))
})

/**
 * Without `--debug` the library's log lines are not printed, except the first warning of the session cache (the
 * store annotates its lines with `store`), as one plain line: the command carries on without the cache and its exit
 * code does not change.
 */
const makeCacheWarningLogger = () => {
  let warned = false
  return Logger.make(({ annotations, logLevel, message }) => {
    if (warned || logLevel._tag !== "Warning" || !HashMap.has(annotations, "store")) return
    warned = true
    const text = Array.isArray(message) ? message.join(" ") : String(message)
    writeStderr(`${name}: warning: ${text} (--no-cache turns the cache off; --debug for details)`)
  })
}
