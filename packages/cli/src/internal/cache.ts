/**
 * The CLI's session cache: `session` and `call` keep the KS they obtain in a `SessionStore` (files under the cache
 * directory by default, or Redis), so that the next run, or another process, starts from it with no round trip.
 * `token` and `doctor` never use it: they must see Kaltura itself.
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import * as FileSessionStore from "@kaltura-effect/node/FileSessionStore"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Path from "node:path"
import { CliInputError, pick } from "./settings.js"

/** The environment variables of the cache. */
export const cacheEnv = {
  directory: "KALTURA_CACHE_DIR",
  switch: "KALTURA_CACHE",
  redis: "KALTURA_REDIS_URL"
} as const

/** The default cache directory: `$XDG_CACHE_HOME/kaltura-effect`, else `~/.cache/kaltura-effect` (on Linux). */
export const defaultCacheDirectory = (): string => Path.dirname(FileSessionStore.defaultDirectory())

/** The flags choosing where a store lives (`cache clear` takes these). */
export const storeOptions = {
  cacheDir: Options.text("cache-dir").pipe(
    Options.withPseudoName("DIR"),
    Options.withDescription(
      `Where the session cache lives (its entries in DIR/sessions, encrypted with the App Token). Env: ` +
        `${cacheEnv.directory}. Default $XDG_CACHE_HOME/kaltura-effect, else ~/.cache/kaltura-effect.`
    ),
    Options.optional
  ),
  redis: Options.text("redis").pipe(
    Options.withPseudoName("URL"),
    Options.withDescription(
      `Share the session cache through Redis instead of files (redis:// or rediss://; a password in it is kept ` +
        `secret). Env: ${cacheEnv.redis}.`
    ),
    Options.optional
  )
}

/** The cache flags of `session` and `call`. */
export const cacheOptions = {
  ...storeOptions,
  noCache: Options.boolean("no-cache").pipe(
    Options.withDescription(`Neither read nor write the session cache. Env: ${cacheEnv.switch}=off.`)
  )
}

/** The parsed cache flags. */
export interface CacheInput {
  readonly cacheDir: Option.Option<string>
  readonly redis: Option.Option<string>
  readonly noCache: boolean
}

/** Where the CLI's sessions are kept, if anywhere. */
export type Cache =
  | { readonly _tag: "Off" }
  | { readonly _tag: "Files"; readonly directory: string }
  | { readonly _tag: "Redis"; readonly url: Redacted.Redacted<string> }

const invalid = (message: string) => new CliInputError({ message })

const resolveStore = (input: {
  readonly cacheDir: Option.Option<string>
  readonly redis: Option.Option<string>
}): Effect.Effect<Cache, CliInputError> => {
  const redis = pick(input.redis, cacheEnv.redis)?.trim()
  if (redis !== undefined) {
    return /^rediss?:\/\/[^\s]+$/.test(redis)
      ? Effect.succeed({ _tag: "Redis", url: Redacted.make(redis) })
      : Effect.fail(invalid(`invalid --redis (env ${cacheEnv.redis}): expected a redis:// or rediss:// URL`))
  }
  const directory = pick(input.cacheDir, cacheEnv.directory)
  if (directory !== undefined && directory.trim() === "") {
    return Effect.fail(invalid(`invalid --cache-dir (env ${cacheEnv.directory}): expected a directory path`))
  }
  return Effect.succeed({
    _tag: "Files",
    directory: Path.join(directory === undefined ? defaultCacheDirectory() : Path.resolve(directory), "sessions")
  })
}

/**
 * The cache of `session` and `call`: off with `--no-cache` or `KALTURA_CACHE=off`; Redis with `--redis` or
 * `KALTURA_REDIS_URL`; else files in `--cache-dir`, `KALTURA_CACHE_DIR` or the default directory.
 */
export const resolveCache = (input: CacheInput): Effect.Effect<Cache, CliInputError> => {
  if (input.noCache) return Effect.succeed({ _tag: "Off" })
  const onOff = process.env[cacheEnv.switch]?.trim().toLowerCase()
  if (onOff === "off") return Effect.succeed({ _tag: "Off" })
  if (onOff !== undefined && onOff !== "" && onOff !== "on") {
    return Effect.fail(invalid(`invalid ${cacheEnv.switch}: expected on or off`))
  }
  return resolveStore(input)
}

/** The store `cache clear` empties: the one `session` and `call` would use with the same flags. */
export const resolveClearable = resolveStore

/**
 * The bound on each cache operation. Longer than the library's default (500 ms): a command's process is often one of
 * many starting at once (a cron minute, a CI fan-out), when a read can wait for the CPU, and a read given up is a
 * round trip to Kaltura (or a refresh the others could have shared).
 */
const timeout = "2 seconds"

/** Redis and its client load only for the runs that use them. */
const loadRedisStore = Effect.promise(() => import("@kaltura-effect/redis/RedisSessionStore"))

/** The `SessionStore` of a cache choice. */
export const storeLayer = (cache: Cache): Layer.Layer<SessionStore.SessionStore> => {
  switch (cache._tag) {
    case "Off":
      return SessionStore.layerNone
    case "Files":
      return FileSessionStore.layer({ directory: cache.directory, timeout })
    case "Redis":
      return Layer.unwrapEffect(Effect.map(loadRedisStore, (Redis) => Redis.layer({ url: cache.url }, { timeout })))
  }
}

/** Where a cache is, for messages (never a Redis URL, which may hold a password). */
export const describeCache = (cache: Cache): string =>
  cache._tag === "Files" ? cache.directory : cache._tag === "Redis" ? "Redis" : "nowhere"
