/**
 * The session store on Redis, shared by a fleet: one KS for every process of every host that uses the same App
 * Token settings, refreshed once. Entries are encrypted by `SessionStore` (AES-256-GCM under a key derived from the
 * App Token; key names are HMACs), so Redis, its backups and anyone who can read it learn nothing without the token.
 *
 * - Keys: `<prefix>session:<hmac>` (the record, with a TTL at the KS deadline: `PEXPIREAT` of the server's expiry
 *   corrected by the writer's clock offset) and `<prefix>lease:<hmac>` (the refresh lease: `SET NX PX` with a random
 *   owner, released only by its owner). The prefix defaults to `kaltura-effect:`.
 * - Write-if-newer, delete-if-same and the lease release are Lua scripts (`EVALSHA`, `EVAL` on `NOSCRIPT`).
 * - Every operation is bounded by a timeout (default 500 ms) and degrades to a miss: a Redis that is down, slow or
 *   restarted never fails a caller, and the store works again when Redis is back.
 * - Given a URL, the client is created fail-fast (no offline queue, a short command timeout, one retry per request),
 *   the layer waits for the connection within the connect timeout (and carries on without it, reconnecting in the
 *   background), and `quit`s when the scope closes so that a CLI can exit. Given a client, it is used as it is, and
 *   never closed; prefer one without an offline queue (`enableOfflineQueue: false`), so that commands sent while
 *   Redis is down are not replayed later.
 *
 * A standalone Redis (or a primary); `clear` scans the keys of one node, so it is not meant for Redis Cluster.
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
import * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import * as Scripts from "./internal/scripts.js"

/**
 * What the store needs of an ioredis client (5.9+ or 6): an ioredis `Redis` is one.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Client {
  readonly status: string
  readonly options?: { readonly keyPrefix?: string | undefined } | undefined
  call(command: string, ...args: Array<string | number>): Promise<unknown>
}

/**
 * Where the store is: a client of yours (used as it is, never closed), or a URL (`redis://`, `rediss://` for TLS;
 * a password in it is a secret: pass it `Redacted`).
 *
 * @since 0.2.0
 * @category Models
 */
export type Connection =
  | { readonly client: Client }
  | { readonly url: string | Redacted.Redacted<string> }

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /** Prepended to every key. Default `kaltura-effect:`. */
  readonly prefix?: string | undefined
  /** Bounds every operation (and is the command timeout of a client created from a URL). Default 500 ms. */
  readonly timeout?: Duration.DurationInput | undefined
  /** How long the layer waits for a client created from a URL to connect. Default: `timeout`. */
  readonly connectTimeout?: Duration.DurationInput | undefined
}

/**
 * The default key prefix.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultPrefix = "kaltura-effect:"

const store = "redis"

/** A stored value larger than this is not a record of ours. */
const maxRecordLength = 64 * 1024

const reasonOf = (client: Client, error: unknown): SessionStore.SessionStoreError["reason"] => {
  const message = error instanceof Error ? error.message : ""
  if (/timed out/i.test(message)) return "Timeout"
  if (client.status !== "ready" || /connection|stream isn't writeable|max retries/i.test(message)) {
    return "Unavailable"
  }
  return "Io"
}

/** A glob pattern that matches `text` literally. */
const escapeGlob = (text: string) => text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)

/**
 * The raw backend on a client (for {@link SessionStore.make}).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeBackend = (client: Client, options?: Pick<Options, "prefix">): SessionStore.Backend => {
  const prefix = options?.prefix ?? defaultPrefix
  const sessionKey = (name: string) => `${prefix}session:${name}`
  const leaseKey = (name: string) => `${prefix}lease:${name}`

  const attempt = <A>(f: () => Promise<A>): Effect.Effect<A, SessionStore.SessionStoreError> =>
    Effect.tryPromise({
      try: f,
      catch: (error) =>
        new SessionStore.SessionStoreError({
          reason: reasonOf(client, error),
          detail: (error instanceof Error ? `${error.name}: ${error.message}` : "a Redis error").slice(0, 200)
        })
    })

  const evaluate = async (script: Scripts.Script, keys: ReadonlyArray<string>, args: ReadonlyArray<string>) => {
    try {
      return await client.call("EVALSHA", script.sha, keys.length, ...keys, ...args)
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error
      return client.call("EVAL", script.source, keys.length, ...keys, ...args)
    }
  }

  const deadline = (entry: SessionStore.Entry) => String(Math.ceil(entry.expiresAt))

  return {
    store,
    get: (name) =>
      Effect.flatMap(attempt(() => client.call("GET", sessionKey(name))), (value) => {
        if (value === null || value === undefined) return Effect.succeed(Option.none())
        const text = typeof value === "string" ? value : Buffer.isBuffer(value) ? value.toString("utf8") : undefined
        if (text === undefined || text.length > maxRecordLength) {
          return Effect.fail(
            new SessionStore.SessionStoreError({ reason: "Corrupt", detail: "a value that is not a record" })
          )
        }
        return Effect.succeed(Option.some(text))
      }),
    put: (name, entry) =>
      attempt(() => evaluate(Scripts.put, [sessionKey(name)], [entry.record, String(entry.expiry), deadline(entry)]))
        .pipe(Effect.map((result) => Number(result) === 1)),
    replace: (name, entry, expected) =>
      attempt(() => evaluate(Scripts.replace, [sessionKey(name)], [entry.record, deadline(entry), expected])).pipe(
        Effect.map((result) => Number(result) === 1)
      ),
    remove: (name, tag) =>
      attempt(() => evaluate(Scripts.remove, [sessionKey(name)], [tag])).pipe(
        Effect.map((result) => Number(result) === 1)
      ),
    acquire: (name, owner, ttlMillis) =>
      attempt(() => client.call("SET", leaseKey(name), owner, "PX", Math.max(1, Math.ceil(ttlMillis)), "NX")).pipe(
        Effect.map((result) => result === "OK")
      ),
    release: (name, owner) => Effect.asVoid(attempt(() => evaluate(Scripts.release, [leaseKey(name)], [owner]))),
    clear: (namePrefix) =>
      attempt(async () => {
        // SCAN does not apply the client's own key prefix; the keys it returns carry it, and UNLINK adds it again
        const clientPrefix = client.options?.keyPrefix ?? ""
        let records = 0
        for (const kind of ["session", "lease"] as const) {
          const pattern = `${escapeGlob(`${clientPrefix}${prefix}${kind}:${namePrefix}`)}*`
          let cursor = "0"
          do {
            const [next, keys] = (await client.call("SCAN", cursor, "MATCH", pattern, "COUNT", 500)) as [
              string,
              Array<string>
            ]
            cursor = next
            if (keys.length > 0) {
              const removed = Number(await client.call("UNLINK", ...keys.map((key) => key.slice(clientPrefix.length))))
              if (kind === "session") records += removed
            }
          } while (cursor !== "0")
        }
        return records
      })
  }
}

const millis = (duration: Duration.Duration, fallback: number) =>
  Duration.isFinite(duration) ? Math.max(1, Math.ceil(Duration.toMillis(duration))) : fallback

/** A fail-fast client for a URL, connected (or not) within the connect timeout, closed with the scope. */
const connect = (url: string | Redacted.Redacted<string>, options?: Options) =>
  Effect.gen(function*() {
    const timeout = Duration.decode(options?.timeout ?? SessionStore.defaultTimeout)
    const connectTimeout = Duration.decode(options?.connectTimeout ?? timeout)
    const client = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const redis = new Redis(Redacted.isRedacted(url) ? Redacted.value(url) : url, {
          lazyConnect: true,
          enableOfflineQueue: false,
          commandTimeout: millis(timeout, 10_000),
          connectTimeout: millis(connectTimeout, 10_000),
          maxRetriesPerRequest: 1,
          retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2_000),
          showFriendlyErrorStack: false
        })
        // Without a listener, ioredis prints every connection error to the console; the operations report them.
        redis.on("error", () => undefined)
        return redis
      }),
      (redis) =>
        Effect.promise(() => redis.quit().catch(() => undefined)).pipe(
          Effect.timeout(Duration.millis(millis(timeout, 1_000))),
          Effect.ignore,
          Effect.ensuring(Effect.sync(() => redis.disconnect()))
        )
    )
    const connected = yield* Effect.tryPromise(() => client.connect()).pipe(
      Effect.timeout(Duration.millis(millis(connectTimeout, 10_000))),
      Effect.either
    )
    if (connected._tag === "Left") {
      yield* Metric.increment(
        Metric.tagged(Metric.tagged(KalturaMetrics.sessionStoreErrors, "store", store), "operation", "open")
      )
      yield* Effect.logWarning(
        "Kaltura session store (redis): Redis is not reachable; carrying on without the store, reconnecting in the " +
          "background"
      ).pipe(Effect.annotateLogs({ store, operation: "open", reason: "Unavailable" }))
    }
    return client
  })

/**
 * The session store on Redis. With a URL, the client is created and closed with the scope.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (
  connection: Connection,
  options?: Options
): Effect.Effect<SessionStore.Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const client: Client = "client" in connection ? connection.client : yield* connect(connection.url, options)
    return yield* SessionStore.make(makeBackend(client, options), { timeout: options?.timeout })
  })

/**
 * Provides the session store on Redis.
 *
 * @since 0.2.0
 * @category Layers
 * @example
 * ```ts
 * import { RedisSessionStore } from "@kaltura-effect/redis"
 * import { Redacted } from "effect"
 *
 * // every process of the fleet shares one KS per App Token settings, refreshed once
 * const Store = RedisSessionStore.layer({ url: Redacted.make(process.env.REDIS_URL ?? "redis://127.0.0.1:6379") })
 * ```
 */
export const layer = (connection: Connection, options?: Options): Layer.Layer<SessionStore.SessionStore> =>
  Layer.scoped(SessionStore.SessionStore, make(connection, options))
