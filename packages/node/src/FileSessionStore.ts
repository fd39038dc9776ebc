/**
 * The session store in files, for the processes of one machine (CLI runs, cron jobs, workers): one file per
 * identity, encrypted by `SessionStore` (AES-256-GCM under a key derived from the App Token; names are HMACs).
 *
 * - The directory is created 0700 (an existing one of ours is narrowed to 0700; one owned by another user is
 *   refused), every file 0600.
 * - A record is written to a temporary file, fsynced, and renamed over the old one: a reader sees the old record or
 *   the new one, never a torn one, also after a `kill -9` mid-write.
 * - Write-if-newer and delete-if-same run under a short per-entry lock (`<name>.lock`); the refresh lease is
 *   `<name>.lease`. A lock file holds its owner's pid, host, time and ttl, is created with `O_EXCL`, and is taken
 *   over when stale: its process is gone, or it is older than its ttl.
 * - A corrupt, truncated or undecryptable file is a miss, and the next write replaces it.
 * - A directory that cannot be created or written means no store: every read a miss, one Warning, no error.
 *
 * @since 0.2.0
 */
import * as KalturaMetrics from "@kaltura-effect/core/KalturaMetrics"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Os from "node:os"
import * as Path from "node:path"
import * as FileStore from "./internal/fileStore.js"

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /** Where the entries are kept. Default {@link defaultDirectory}. */
  readonly directory?: string | undefined
  /** Bounds every operation (and opening the directory); a slower one is a miss. Default 500 ms. */
  readonly timeout?: Duration.DurationInput | undefined
  /**
   * How long the short write lock of an entry may be held before another process takes it over (when its holder's
   * death cannot be seen: another host, or a reused pid). Default 2 seconds.
   */
  readonly lockTtl?: Duration.DurationInput | undefined
}

/**
 * The per-user cache directory: `$XDG_CACHE_HOME/kaltura-effect/sessions` (else `~/.cache/…`) on Linux,
 * `~/Library/Caches/kaltura-effect/sessions` on macOS, `%LOCALAPPDATA%\kaltura-effect\sessions` on Windows.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultDirectory = (): string => {
  const home = Os.homedir()
  switch (process.platform) {
    case "win32":
      return Path.join(process.env.LOCALAPPDATA ?? Path.join(home, "AppData", "Local"), "kaltura-effect", "sessions")
    case "darwin":
      return Path.join(home, "Library", "Caches", "kaltura-effect", "sessions")
    default: {
      const xdg = process.env.XDG_CACHE_HOME
      return Path.join(
        xdg !== undefined && Path.isAbsolute(xdg) ? xdg : Path.join(home, ".cache"),
        "kaltura-effect",
        "sessions"
      )
    }
  }
}

const store = "file"

const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, SessionStore.SessionStoreError> =>
  Effect.tryPromise({
    try: f,
    catch: (error) =>
      new SessionStore.SessionStoreError({
        reason: error instanceof FileStore.FileError ? error.reason : "Io",
        detail: FileStore.describe(error)
      })
  })

/** The backend of a directory that cannot be used: nothing is stored, every lease is granted. */
const disabled: SessionStore.Backend = {
  store,
  get: () => Effect.succeed(Option.none()),
  put: () => Effect.succeed(false),
  replace: () => Effect.succeed(false),
  remove: () => Effect.succeed(false),
  acquire: () => Effect.succeed(true),
  release: () => Effect.void,
  clear: () => Effect.succeed(0)
}

/**
 * The raw backend on a directory (for {@link SessionStore.make}). A directory that cannot be used gives a backend
 * that stores nothing, after one Warning (counted with `operation: "open"`).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeBackend = (options?: Options): Effect.Effect<SessionStore.Backend> =>
  Effect.gen(function*() {
    const directory = Path.resolve(options?.directory ?? defaultDirectory())
    const timeout = Duration.decode(options?.timeout ?? SessionStore.defaultTimeout)
    const config: FileStore.Config = {
      directory,
      lockWaitMillis: Duration.isFinite(timeout) ? Duration.toMillis(timeout) : 5_000,
      lockTtlMillis: Duration.toMillis(Duration.decode(options?.lockTtl ?? "2 seconds"))
    }
    const opened = yield* attempt(() => FileStore.open(directory)).pipe(
      Duration.isFinite(timeout)
        ? Effect.timeoutFail({
          duration: timeout,
          onTimeout: () =>
            new SessionStore.SessionStoreError({
              reason: "Timeout",
              detail: `no answer within ${Duration.format(timeout)}`
            })
        })
        : (self) => self,
      Effect.either
    )
    if (opened._tag === "Left") {
      const error = opened.left
      yield* Metric.increment(
        Metric.tagged(Metric.tagged(KalturaMetrics.sessionStoreErrors, "store", store), "operation", "open")
      )
      yield* Effect.logWarning(
        `Kaltura session store (file): the directory cannot be used (${error.reason}: ${error.detail}); ` +
          "sessions are not stored"
      ).pipe(Effect.annotateLogs({ store, operation: "open", reason: error.reason, directory }))
      return disabled
    }
    return {
      store,
      get: (name) => Effect.map(attempt(() => FileStore.get(config, name)), Option.fromNullable),
      put: (name, entry) => attempt(() => FileStore.put(config, name, entry)),
      replace: (name, entry, expected) => attempt(() => FileStore.replace(config, name, entry, expected)),
      remove: (name, tag) => attempt(() => FileStore.remove(config, name, tag)),
      acquire: (name, owner, ttlMillis) => attempt(() => FileStore.acquire(config, name, owner, ttlMillis)),
      release: (name, owner) => attempt(() => FileStore.release(config, name, owner)),
      clear: (prefix) => attempt(() => FileStore.clear(config, prefix))
    }
  })

/**
 * The session store on a directory.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options?: Options): Effect.Effect<SessionStore.Service> =>
  Effect.flatMap(makeBackend(options), (backend) => SessionStore.make(backend, { timeout: options?.timeout }))

/**
 * Provides the session store on a directory.
 *
 * @since 0.2.0
 * @category Layers
 * @example
 * ```ts
 * import { SessionStore } from "@kaltura-effect/core"
 * import { FileSessionStore } from "@kaltura-effect/node"
 * import { Effect } from "effect"
 *
 * // every process of this user on this machine shares its sessions
 * const Store = FileSessionStore.layer({ directory: FileSessionStore.defaultDirectory() })
 * const cleared = SessionStore.SessionStore.pipe(Effect.flatMap((store) => store.clear))
 * ```
 */
export const layer = (options?: Options): Layer.Layer<SessionStore.SessionStore> =>
  Layer.effect(SessionStore.SessionStore, make(options))
