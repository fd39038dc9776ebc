/**
 * A persistent, shared, encrypted store of App Token sessions, so that a process (a CLI run, a cron job, a cold
 * start, a pod of a fleet) can start from a KS another one obtained, and a fleet refreshes once.
 *
 * - **Encrypted at rest.** Every entry is AES-256-GCM under a key derived with HKDF-SHA256 from the App Token
 *   (salt: the App Token id; info: a versioned string), with a random IV per write and the session's identity
 *   (service URL, partner, widget, App Token id, hash type, user, type, privileges, requested expiry) as associated
 *   data. Entry names are an HMAC of the identity under another derived key, so they reveal nothing. Whoever lacks
 *   the token reads nothing; a wrong or rotated token is a miss.
 * - **Ordered by the server's expiry.** `write` keeps the entry with the later server `expiry` (not a process's local
 *   deadline, which differs between hosts); `deleteIfSame` removes an entry only while it holds the given KS.
 * - **A refresh lease** (`lease`), so that one process of a fleet refreshes while the others keep serving.
 * - **Failure never reaches the caller.** Every operation is bounded by a timeout; errors, timeouts, a store that is
 *   down and corrupt, truncated or tampered entries degrade to a miss (`None`, `false`, a lease granted without a
 *   store), are logged at Warning once per store and kind, and counted in `kaltura_session_store_errors_total`.
 *
 * This module holds the service, the encryption (Web Crypto: it runs wherever core does) and an in-memory store.
 * The file store is `FileSessionStore` in `@kaltura-effect/node`, the Redis store `RedisSessionStore` in
 * `@kaltura-effect/redis`; both are {@link Backend}s given to {@link make}.
 *
 * @since 0.2.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import { storeIdentityOf } from "./internal/keys.js"
import * as StoreCrypto from "./internal/storeCrypto.js"
import type { KalturaSettings, SessionType } from "./KalturaConfig.js"
import { scrub } from "./KalturaError.js"
import * as KalturaMetrics from "./KalturaMetrics.js"

/**
 * What a store holds for one identity (everything decrypted; secrets `Redacted`).
 *
 * @since 0.2.0
 * @category Models
 */
export interface StoredSession {
  readonly ks: Redacted.Redacted<string>
  readonly partnerId: number
  readonly userId: string
  readonly sessionType: SessionType
  readonly privileges: string
  /** The server's absolute expiry, unix seconds (the ordering key of write-if-newer). */
  readonly expiry: number
  /** The writer's measured clock offset, server time minus local time, in ms (0 when it had no usable Date header). */
  readonly clockOffset: number
  /** When the writer's request was sent, unix ms on the writer's clock. */
  readonly obtainedAt: number
  /** The widget session the writer used (so a refresh elsewhere is one round trip), if any. */
  readonly widget: StoredWidget | undefined
}

/**
 * The widget session stored with a privileged one.
 *
 * @since 0.2.0
 * @category Models
 */
export interface StoredWidget {
  readonly ks: Redacted.Redacted<string>
  /** The requested lifetime, seconds. */
  readonly expiry: number
  /** Unix ms. */
  readonly obtainedAt: number
  /** Unix ms, the writer's conservative estimate. */
  readonly validUntil: number
}

/**
 * A refresh lease held by this process.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Lease {
  /** Gives the lease up (only if this process still holds it); idempotent, never fails. */
  readonly release: Effect.Effect<void>
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Service {
  /**
   * The entry for these settings; a miss on any problem (none, corrupt, undecryptable, wrong token, timeout, store
   * down), and for an entry past its deadline (`expiry * 1000 - clockOffset` on the local clock).
   */
  readonly read: (settings: KalturaSettings) => Effect.Effect<Option.Option<StoredSession>>
  /**
   * Writes unless the stored entry has a later or equal server `expiry`; true if written. A session already past its
   * deadline is not written. A stored entry that is corrupt or fails authentication is overwritten.
   */
  readonly write: (settings: KalturaSettings, session: StoredSession) => Effect.Effect<boolean>
  /** Deletes the entry (the widget KS with it) only if it still holds `ks`; true if deleted. */
  readonly deleteIfSame: (settings: KalturaSettings, ks: Redacted.Redacted<string>) => Effect.Effect<boolean>
  /**
   * The refresh lease for these settings, held until released or `ttl` passes: `Some(lease)` if we got it, `None` if
   * another holder has it. On a store error: `Some` (a no-op lease), so a caller is never blocked by the store.
   */
  readonly lease: (settings: KalturaSettings, ttl: Duration.DurationInput) => Effect.Effect<Option.Option<Lease>>
  /** Removes every entry and lease this store holds (for `kaltura-apptoken cache clear`); how many entries. */
  readonly clear: Effect.Effect<number>
  /**
   * Removes every entry (of any user, session type or privileges) and lease stored under one App Token; how many
   * entries. For a token that was deleted or replaced (`kaltura-apptoken token delete`): its sessions no longer work.
   */
  readonly clearAppToken: (appTokenId: string, token: Redacted.Redacted<string>) => Effect.Effect<number>
}

/**
 * The session store.
 *
 * @since 0.2.0
 * @category Context
 */
export class SessionStore extends Context.Tag("@kaltura-effect/core/SessionStore")<SessionStore, Service>() {}

/**
 * Why a store operation failed. Internal to the store: {@link make} turns every one into a miss, a log line and a
 * count; a caller of the {@link Service} never sees it. {@link Backend}s fail with it.
 *
 * - `Unavailable`: the store cannot be reached or used (Redis down, no Web Crypto)
 * - `Timeout`: the operation took longer than the store's timeout
 * - `Io`: another error of the store (a file system or Redis error)
 * - `Corrupt`: an entry that does not decode (truncated, not JSON, the wrong shape)
 * - `Unauthentic`: an entry that fails AES-GCM authentication (tampered, or written for another identity)
 * - `Crypto`: Web Crypto refused an operation
 * - `Defect`: an unexpected exception in a backend
 *
 * @since 0.2.0
 * @category Errors
 */
export class SessionStoreError extends Schema.TaggedError<SessionStoreError>(
  "@kaltura-effect/core/SessionStoreError"
)("SessionStoreError", {
  reason: Schema.Literal("Unavailable", "Timeout", "Io", "Corrupt", "Unauthentic", "Crypto", "Defect"),
  /** What happened, without a secret (an error code, a short message). */
  detail: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return `Session store error (${this.reason}): ${this.detail}`
  }
}

/**
 * What a {@link Backend} stores under a name: the encoded record and, in clear, what write-if-newer, delete-if-same
 * and expiry need.
 *
 * @since 0.2.0
 * @category Backends
 */
export interface Entry {
  /** The record as stored (JSON; its `expiry` and `tag` are readable with {@link recordHeader}). */
  readonly record: string
  /** The server's expiry, unix seconds: write-if-newer keeps the entry with the later one. */
  readonly expiry: number
  /** The keyed tag of the KS it holds: delete-if-same compares it. */
  readonly tag: string
  /** The KS deadline, unix ms on the writer's clock: when the entry may be dropped (a TTL, where a store has one). */
  readonly expiresAt: number
}

/**
 * A raw store: names (64 hex characters, from an HMAC) to records, and leases. It sees no secret: records are
 * encrypted, names and tags are keyed hashes. Its operations may fail with {@link SessionStoreError}; {@link make}
 * bounds each with a timeout and degrades every failure. Each comparison (`put`, `replace`, `remove`, `acquire`,
 * `release`) must be atomic for the store's users: a Lua script, a lock.
 *
 * @since 0.2.0
 * @category Backends
 */
export interface Backend {
  /** The store's name in logs, spans and the `store` label of the errors metric, e.g. `file`. */
  readonly store: string
  /** The record under `name`, if any. */
  readonly get: (name: string) => Effect.Effect<Option.Option<string>, SessionStoreError>
  /**
   * Stores `entry` unless the stored record has a later or equal `expiry` (a stored record whose header does not
   * decode counts as none); true if stored.
   */
  readonly put: (name: string, entry: Entry) => Effect.Effect<boolean, SessionStoreError>
  /** Stores `entry` only if the stored record is exactly `expected` (to overwrite one that is corrupt or tampered). */
  readonly replace: (name: string, entry: Entry, expected: string) => Effect.Effect<boolean, SessionStoreError>
  /** Removes the record only if its `tag` is `tag`; true if removed. */
  readonly remove: (name: string, tag: string) => Effect.Effect<boolean, SessionStoreError>
  /** Takes the lease of `name` for `owner` for `ttlMillis`, unless another owner holds it; true if taken. */
  readonly acquire: (name: string, owner: string, ttlMillis: number) => Effect.Effect<boolean, SessionStoreError>
  /** Gives the lease of `name` up, only if `owner` holds it. */
  readonly release: (name: string, owner: string) => Effect.Effect<void, SessionStoreError>
  /** Removes every record and lease whose name starts with `prefix` (`""`: all of them); how many records. */
  readonly clear: (prefix: string) => Effect.Effect<number, SessionStoreError>
}

/**
 * Options of {@link make}.
 *
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /**
   * Bounds every operation, key derivation and crypto included; a slower one is a miss. Default 500 ms
   * (`Duration.infinity` for none).
   */
  readonly timeout?: Duration.DurationInput | undefined
  /** Bounds `clear`, which may have many entries to remove. Default 10 seconds (at least `timeout`). */
  readonly clearTimeout?: Duration.DurationInput | undefined
}

/**
 * The default per-operation timeout of {@link make}.
 *
 * @since 0.2.0
 * @category Constants
 */
export const defaultTimeout: Duration.Duration = Duration.millis(500)

/** The longest lease a store is asked for: a caller's `Duration.infinity` would otherwise never expire. */
const maxLeaseMillis = 86_400_000

const Base64 = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9+/]*={0,2}$/))
const Hex64 = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

/** The record as stored (format version 1). */
const Record = Schema.Struct({
  v: Schema.Literal(StoreCrypto.version),
  expiry: Schema.Int,
  tag: Hex64,
  iv: Base64.pipe(Schema.length(16)),
  data: Base64.pipe(Schema.minLength(24))
})

const decodeRecord = Schema.decodeUnknownOption(Schema.parseJson(Record), { onExcessProperty: "error" })

/** What is encrypted: the session. */
const Payload = Schema.Struct({
  v: Schema.Literal(StoreCrypto.version),
  ks: Schema.Redacted(Schema.NonEmptyString),
  partnerId: Schema.Int,
  userId: Schema.String,
  sessionType: Schema.Literal(0, 2),
  privileges: Schema.String,
  expiry: Schema.Int,
  clockOffset: Schema.Finite,
  obtainedAt: Schema.Finite,
  widget: Schema.NullOr(Schema.Struct({
    ks: Schema.Redacted(Schema.NonEmptyString),
    expiry: Schema.Finite,
    obtainedAt: Schema.Finite,
    validUntil: Schema.Finite
  }))
})

const decodePayload = Schema.decodeUnknownOption(Schema.parseJson(Payload), { onExcessProperty: "error" })

/**
 * The clear header of a stored record, if it decodes: for a {@link Backend} that compares records itself (under a
 * lock) rather than keeping `expiry` and `tag` beside them.
 *
 * @since 0.2.0
 * @category Backends
 */
export const recordHeader = (record: string): Option.Option<{ readonly expiry: number; readonly tag: string }> =>
  Option.map(decodeRecord(record), ({ expiry, tag }) => ({ expiry, tag }))

/** The associated data of a record: the identity, then the clear header it is stored with. */
const associatedData = (identity: string, expiry: number, tag: string): string =>
  `${identity}\n${JSON.stringify([StoreCrypto.version, expiry, tag])}`

/** The plaintext of a session, as {@link Payload} decodes it. */
const plaintextOf = (session: StoredSession): string =>
  JSON.stringify({
    v: StoreCrypto.version,
    ks: Redacted.value(session.ks),
    partnerId: session.partnerId,
    userId: session.userId,
    sessionType: session.sessionType,
    privileges: session.privileges,
    expiry: session.expiry,
    clockOffset: session.clockOffset,
    obtainedAt: session.obtainedAt,
    widget: session.widget === undefined ? null : {
      ks: Redacted.value(session.widget.ks),
      expiry: session.widget.expiry,
      obtainedAt: session.widget.obtainedAt,
      validUntil: session.widget.validUntil
    }
  })

const storedOf = (payload: typeof Payload.Type): StoredSession => ({
  ks: payload.ks,
  partnerId: payload.partnerId,
  userId: payload.userId,
  sessionType: payload.sessionType,
  privileges: payload.privileges,
  expiry: payload.expiry,
  clockOffset: payload.clockOffset,
  obtainedAt: payload.obtainedAt,
  widget: payload.widget === null ? undefined : { ...payload.widget }
})

/** The local deadline of a stored session: its server expiry, corrected by the writer's clock offset. */
const deadlineOf = (session: { readonly expiry: number; readonly clockOffset: number }): number =>
  session.expiry * 1000 - session.clockOffset

type Operation = "read" | "write" | "delete" | "lease" | "release" | "clear"

/** Warn again about a kind of failure only after the store worked in between, and not more often than this. */
const rewarnAfterMillis = 5 * 60_000

const cryptoError = (cause: unknown) =>
  new SessionStoreError({
    reason: "Crypto",
    detail: scrub(cause instanceof Error ? `${cause.name}: ${cause.message}` : "Web Crypto failed")
  })

/**
 * The service over a {@link Backend}: encryption, names, timeouts, and every failure degraded, logged and counted.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (backend: Backend, options?: Options): Effect.Effect<Service> =>
  Effect.sync(() => {
    const timeout = Duration.decode(options?.timeout ?? defaultTimeout)
    const clearTimeout = Duration.max(timeout, Duration.decode(options?.clearTimeout ?? "10 seconds"))
    const store = backend.store
    const errors = Metric.tagged(KalturaMetrics.sessionStoreErrors, "store", store)
    const errorCounters = new Map<Operation, Metric.Metric.Counter<number>>()
    const counterOf = (operation: Operation) => {
      let counter = errorCounters.get(operation)
      if (counter === undefined) {
        counter = Metric.tagged(errors, "operation", operation)
        errorCounters.set(operation, counter)
      }
      return counter
    }
    // Log once per kind; again only after the store worked in between, at most once per `rewarnAfterMillis`.
    let successes = 0
    const warned = new Map<string, { readonly at: number; readonly successes: number }>()

    const report = (
      operation: Operation,
      settings: KalturaSettings | undefined,
      error: SessionStoreError
    ): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const kind = `${operation}:${error.reason}`
        const last = warned.get(kind)
        const warn = last === undefined || (successes > last.successes && now - last.at >= rewarnAfterMillis)
        if (warn) warned.set(kind, { at: now, successes })
        const message = `Kaltura session store (${store}): ${operation} failed (${error.reason}: ${
          scrub(error.detail)
        }); carrying on without the store`
        return Effect.zipRight(
          Metric.increment(counterOf(operation)),
          (warn ? Effect.logWarning(message) : Effect.logDebug(message)).pipe(
            Effect.annotateLogs({
              store,
              operation,
              reason: error.reason,
              ...(settings === undefined ? {} : { partner_id: settings.partnerId, app_token_id: settings.appTokenId })
            })
          )
        )
      })

    /** Runs `effect` within the timeout; any failure or defect becomes `fallback`, logged and counted. */
    const guard = <A>(
      operation: Operation,
      settings: KalturaSettings | undefined,
      fallback: A,
      effect: Effect.Effect<A, SessionStoreError>
    ): Effect.Effect<A> => {
      const limit = operation === "clear" ? clearTimeout : timeout
      return (Duration.isFinite(limit)
        ? Effect.timeoutFail(effect, {
          duration: limit,
          onTimeout: () =>
            new SessionStoreError({ reason: "Timeout", detail: `no answer within ${Duration.format(limit)}` })
        })
        : effect).pipe(
          Effect.matchCauseEffect({
            onSuccess: (value) =>
              Effect.sync(() => {
                successes++
                return value
              }),
            onFailure: (cause) => {
              if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
              const failure = Cause.failureOption(cause)
              const error = Option.isSome(failure) ? failure.value : new SessionStoreError({
                reason: "Defect",
                detail: ((defect) => defect instanceof Error ? `${defect.name}: ${defect.message}` : "a defect")(
                  Cause.squash(cause)
                ).slice(0, 300)
              })
              return Effect.as(report(operation, settings, error), fallback)
            }
          })
        )
    }

    const span = (name: string, settings: KalturaSettings | undefined) =>
      Effect.withSpan(`SessionStore.${name}`, {
        attributes: {
          "kaltura.session_store": store,
          ...(settings === undefined ? {} : {
            "kaltura.partner_id": settings.partnerId,
            "kaltura.app_token_id": settings.appTokenId
          })
        },
        // as the library's other spans: a stack trace would point into the library and cost microseconds a span
        captureStackTrace: false
      })

    const subtle = Effect.suspend(() => {
      const crypto = StoreCrypto.subtle()
      return crypto === undefined
        ? Effect.fail(new SessionStoreError({ reason: "Unavailable", detail: "Web Crypto is not available" }))
        : Effect.succeed(crypto)
    })

    /** The keys, identity and entry name of these settings. */
    const locate = (settings: KalturaSettings) =>
      Effect.flatMap(subtle, (crypto) =>
        Effect.tryPromise({
          try: async () => {
            const keys = await StoreCrypto.keysOf(crypto, settings.token, settings.appTokenId)
            const identity = storeIdentityOf(settings)
            const name = await StoreCrypto.nameOf(crypto, keys, identity)
            return { crypto, keys, identity, name }
          },
          catch: cryptoError
        }))

    type Located = Effect.Effect.Success<ReturnType<typeof locate>>

    /** Decodes, authenticates and decrypts a stored record. */
    const openRecord = (located: Located, settings: KalturaSettings, raw: string) =>
      Effect.gen(function*() {
        const record = decodeRecord(raw)
        if (Option.isNone(record)) {
          return yield* new SessionStoreError({ reason: "Corrupt", detail: "an entry that does not decode" })
        }
        const { data, expiry, iv, tag } = record.value
        const plaintext = yield* Effect.tryPromise({
          try: () =>
            StoreCrypto.open(located.crypto, located.keys, { iv, data }, associatedData(located.identity, expiry, tag)),
          catch: () =>
            new SessionStoreError({ reason: "Unauthentic", detail: "an entry that fails authentication (tampered?)" })
        })
        const payload = decodePayload(plaintext)
        if (Option.isNone(payload)) {
          return yield* new SessionStoreError({ reason: "Corrupt", detail: "an authentic entry of the wrong shape" })
        }
        if (payload.value.expiry !== expiry || payload.value.partnerId !== settings.partnerId) {
          return yield* new SessionStoreError({ reason: "Corrupt", detail: "an entry that contradicts its header" })
        }
        return storedOf(payload.value)
      })

    const read = (settings: KalturaSettings): Effect.Effect<Option.Option<StoredSession>> =>
      guard(
        "read",
        settings,
        Option.none(),
        Effect.gen(function*() {
          const located = yield* locate(settings)
          const raw = yield* backend.get(located.name)
          if (Option.isNone(raw)) return Option.none()
          const session = yield* openRecord(located, settings, raw.value)
          const now = yield* Clock.currentTimeMillis
          return deadlineOf(session) > now ? Option.some(session) : Option.none()
        })
      ).pipe(
        Effect.tap((found) => Effect.annotateCurrentSpan("kaltura.session_store.hit", Option.isSome(found))),
        span("read", settings)
      )

    const write = (settings: KalturaSettings, session: StoredSession): Effect.Effect<boolean> =>
      guard(
        "write",
        settings,
        false,
        Effect.gen(function*() {
          const expiresAt = deadlineOf(session)
          const now = yield* Clock.currentTimeMillis
          const plaintext = plaintextOf(session)
          // the same checks a reader makes: never write what no reader would accept
          if (
            !(expiresAt > now) || session.partnerId !== settings.partnerId || Option.isNone(decodePayload(plaintext))
          ) {
            return false
          }
          const located = yield* locate(settings)
          const { crypto, identity, keys, name } = located
          const entry = yield* Effect.tryPromise({
            try: async (): Promise<Entry> => {
              const tag = await StoreCrypto.tagOf(crypto, keys, session.ks)
              const sealed = await StoreCrypto.seal(
                crypto,
                keys,
                plaintext,
                associatedData(identity, session.expiry, tag)
              )
              const record = JSON.stringify({ v: StoreCrypto.version, expiry: session.expiry, tag, ...sealed })
              return { record, expiry: session.expiry, tag, expiresAt }
            },
            catch: cryptoError
          })
          if (yield* backend.put(name, entry)) return true
          // kept: a newer (or equal) entry, or one that is corrupt or tampered with a forged header
          const current = yield* backend.get(name)
          if (Option.isNone(current)) return yield* backend.put(name, entry)
          const valid = yield* Effect.either(openRecord(located, settings, current.value))
          return valid._tag === "Right" ? false : yield* backend.replace(name, entry, current.value)
        })
      ).pipe(
        Effect.tap((written) => Effect.annotateCurrentSpan("kaltura.session_store.written", written)),
        span("write", settings)
      )

    const deleteIfSame = (settings: KalturaSettings, ks: Redacted.Redacted<string>): Effect.Effect<boolean> =>
      guard(
        "delete",
        settings,
        false,
        Effect.gen(function*() {
          const { crypto, keys, name } = yield* locate(settings)
          const tag = yield* Effect.tryPromise({ try: () => StoreCrypto.tagOf(crypto, keys, ks), catch: cryptoError })
          return yield* backend.remove(name, tag)
        })
      ).pipe(span("deleteIfSame", settings))

    const noLease: Lease = { release: Effect.void }

    const lease = (settings: KalturaSettings, ttl: Duration.DurationInput): Effect.Effect<Option.Option<Lease>> => {
      const ttlMillis = Math.min(maxLeaseMillis, Math.max(1, Math.ceil(Duration.toMillis(Duration.decode(ttl)))))
      return guard(
        "lease",
        settings,
        Option.some(noLease),
        Effect.gen(function*() {
          const { name } = yield* locate(settings)
          const owner = StoreCrypto.randomId()
          const taken = yield* backend.acquire(name, owner, ttlMillis)
          if (!taken) return Option.none()
          let released = false
          const release = Effect.suspend(() => {
            if (released) return Effect.void
            released = true
            return guard("release", settings, undefined, backend.release(name, owner)).pipe(
              span("release", settings)
            )
          })
          return Option.some<Lease>({ release })
        })
      ).pipe(
        Effect.tap((got) => Effect.annotateCurrentSpan("kaltura.session_store.lease", Option.isSome(got))),
        span("lease", settings)
      )
    }

    const clear = guard("clear", undefined, 0, backend.clear("")).pipe(span("clear", undefined))

    const clearAppToken = (appTokenId: string, token: Redacted.Redacted<string>): Effect.Effect<number> =>
      guard(
        "clear",
        undefined,
        0,
        Effect.gen(function*() {
          const crypto = yield* subtle
          const scope = yield* Effect.tryPromise({
            try: async () => StoreCrypto.scopeOf(crypto, await StoreCrypto.keysOf(crypto, token, appTokenId)),
            catch: cryptoError
          })
          return yield* backend.clear(scope)
        })
      ).pipe(span("clearAppToken", undefined))

    return SessionStore.of({ read, write, deleteIfSame, lease, clear, clearAppToken })
  })

/**
 * Provides the service over a {@link Backend}.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layer = (backend: Backend, options?: Options): Layer.Layer<SessionStore> =>
  Layer.effect(SessionStore, make(backend, options))

/**
 * A backend in this process's memory, on Effect's `Clock` (so `TestClock` drives its leases and expiries). Entries
 * past their deadline are dropped when next touched.
 *
 * @since 0.2.0
 * @category Backends
 */
export const memoryBackend: Effect.Effect<Backend> = Effect.sync(() => {
  const entries = new Map<string, Entry>()
  const leases = new Map<string, { readonly owner: string; readonly until: number }>()
  const live = (name: string, now: number): Entry | undefined => {
    const entry = entries.get(name)
    if (entry !== undefined && entry.expiresAt <= now) {
      entries.delete(name)
      return undefined
    }
    return entry
  }
  const withNow = <A>(f: (now: number) => A) => Effect.map(Clock.currentTimeMillis, f)
  return {
    store: "memory",
    get: (name) => withNow((now) => Option.map(Option.fromNullable(live(name, now)), (entry) => entry.record)),
    put: (name, entry) =>
      withNow((now) => {
        const current = live(name, now)
        if (current !== undefined && current.expiry >= entry.expiry) return false
        entries.set(name, entry)
        return true
      }),
    replace: (name, entry, expected) =>
      withNow((now) => {
        if (live(name, now)?.record !== expected) return false
        entries.set(name, entry)
        return true
      }),
    remove: (name, tag) =>
      withNow((now) => {
        if (live(name, now)?.tag !== tag) return false
        entries.delete(name)
        return true
      }),
    acquire: (name, owner, ttlMillis) =>
      withNow((now) => {
        const held = leases.get(name)
        if (held !== undefined && held.until > now && held.owner !== owner) return false
        leases.set(name, { owner, until: now + ttlMillis })
        return true
      }),
    release: (name, owner) =>
      Effect.sync(() => {
        if (leases.get(name)?.owner === owner) leases.delete(name)
      }),
    clear: (prefix) =>
      Effect.sync(() => {
        let count = 0
        for (const name of [...entries.keys()]) {
          if (name.startsWith(prefix)) {
            entries.delete(name)
            count++
          }
        }
        for (const name of [...leases.keys()]) if (name.startsWith(prefix)) leases.delete(name)
        return count
      })
  }
})

/**
 * A store in this process's memory: today's behaviour (every process starts from nothing), shared by the sessions of
 * one program that are given the same layer. Encrypted like the others; no timeout (nothing waits on I/O).
 *
 * @since 0.2.0
 * @category Constructors
 */
export const makeMemory: Effect.Effect<Service> = Effect.flatMap(
  memoryBackend,
  (backend) => make(backend, { timeout: Duration.infinity })
)

/**
 * Provides a store in this process's memory (see {@link makeMemory}).
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerMemory: Layer.Layer<SessionStore> = Layer.effect(SessionStore, makeMemory)

/**
 * No store at all: every read is a miss, every write is dropped, every lease is granted.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const none: Service = SessionStore.of({
  read: () => Effect.succeed(Option.none()),
  write: () => Effect.succeed(false),
  deleteIfSame: () => Effect.succeed(false),
  lease: () => Effect.succeed(Option.some({ release: Effect.void })),
  clear: Effect.succeed(0),
  clearAppToken: () => Effect.succeed(0)
})

/**
 * Provides {@link none}.
 *
 * @since 0.2.0
 * @category Layers
 */
export const layerNone: Layer.Layer<SessionStore> = Layer.succeed(SessionStore, none)
