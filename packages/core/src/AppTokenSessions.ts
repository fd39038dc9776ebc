/**
 * Many App Token sessions in one process, keyed by who they are for: for servers that act for many
 * partners, tokens or users. Each key has its own lifecycle (single flight, background refresh, ...),
 * built exactly as `AppTokenSession`'s.
 *
 * Bounded: at most `capacity` keys (default 10,000; the least recently used is evicted) and a key unused
 * for `idleTimeToLive` (default 30 minutes) is evicted. Evicting a key stops its timer; an acquisition already
 * running still answers the callers waiting for it, and a `get` for an evicted key creates it again. A lifecycle
 * handle kept from `session(key)` fails with `KalturaSessionError` (`Evicted`) once its key is evicted.
 *
 * A key's identity is every field of the key, encoded so that different keys never collide; the token is part of
 * it as a SHA-256 digest, so a caller with the wrong token can never be handed a session minted with the right one.
 * A key object may be reused (that is the fast path) and even changed: its fields are compared on every use.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as MetricLabel from "effect/MetricLabel"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import type * as AppTokenSession from "./AppTokenSession.js"
import * as Keys from "./internal/keys.js"
import * as Lifecycle from "./internal/lifecycle.js"
import * as Lru from "./internal/lru.js"
import * as Scheduler from "./internal/scheduler.js"
import type * as Driver from "./internal/sessionDriver.js"
import * as Widget from "./internal/widget.js"
import * as KalturaApi from "./KalturaApi.js"
import * as KalturaConfig from "./KalturaConfig.js"
import * as SessionStore from "./SessionStore.js"
import * as TokenHasher from "./TokenHasher.js"
import * as WidgetSession from "./WidgetSession.js"

/**
 * Who a session is for. The same fields as `KalturaConfig.Options`.
 *
 * @since 0.1.0
 * @category Models
 */
export type Key = KalturaConfig.Options

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /**
   * A valid session for `key`, creating its lifecycle on first use (and again after an eviction). Bad keys fail
   * with `KalturaConfigError` before any request.
   */
  readonly get: (
    key: Key
  ) => Effect.Effect<AppTokenSession.Session, AppTokenSession.AppTokenSessionError | KalturaConfig.KalturaConfigError>
  /**
   * The lifecycle of `key` itself (status, refresh, rotations, ...). Once the key is evicted, this handle fails
   * with `KalturaSessionError` (`Evicted`): ask again for the new one.
   */
  readonly session: (key: Key) => Effect.Effect<AppTokenSession.Service, KalturaConfig.KalturaConfigError>
  /** Stops and forgets `key`'s lifecycle, if any. */
  readonly evict: (key: Key) => Effect.Effect<void>
  /** How many keys are held. */
  readonly size: Effect.Effect<number>
}

/**
 * Keyed App Token sessions.
 *
 * @since 0.1.0
 * @category Context
 */
export class AppTokenSessions extends Context.Tag("@kaltura-effect/core/AppTokenSessions")<
  AppTokenSessions,
  Service
>() {}

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The most keys held at once; the least recently used is evicted beyond it. Default 10,000. */
  readonly capacity?: number | undefined
  /** A key unused this long is evicted. Default 30 minutes. */
  readonly idleTimeToLive?: Duration.DurationInput | undefined
  /** Lifecycle options for every key. */
  readonly session?: AppTokenSession.Options | undefined
  /** Transport options for every key. */
  readonly api?: KalturaApi.Options | undefined
}

/**
 * The defaults.
 *
 * @since 0.1.0
 * @category Defaults
 */
export const defaults = {
  capacity: 10_000,
  idleTimeToLive: Duration.minutes(30)
} as const

// Effect's metric registry is global and never forgets a label set: labelling by partner and token would
// grow it with every key ever seen. Keyed sessions share one label set.
const keyedMetricLabels = [MetricLabel.make("sessions", "keyed")]

/** A `get` whose key is evicted between finding its entry and asking it starts over, at most this many times. */
const maxEvictedRetries = 100

interface Identity {
  readonly snapshot: Keys.Snapshot
  readonly settings: KalturaConfig.KalturaSettings
  readonly id: string
}

type Entry = Lru.Node<Driver.Driver>

/**
 * Builds the keyed sessions on the `HttpClient`, `TokenHasher` and `SessionStore` (`SessionStore.layerNone` for
 * none) in context. All keys share one timer (a scheduler ordered by their next wake-up), one transport per service
 * URL and client tag, and the store.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options?: Options
): Effect.Effect<
  Service,
  never,
  HttpClient.HttpClient | TokenHasher.TokenHasher | SessionStore.SessionStore | Scope.Scope
> =>
  Effect.gen(function*() {
    const capacity = Math.max(1, options?.capacity ?? defaults.capacity)
    const idleMillis = Duration.toMillis(options?.idleTimeToLive ?? defaults.idleTimeToLive)
    const context = yield* Effect.context<HttpClient.HttpClient | TokenHasher.TokenHasher>()
    const hasher = Context.get(context, TokenHasher.TokenHasher)
    const store = yield* SessionStore.SessionStore
    const scope = yield* Effect.scope
    const scheduler = yield* Scheduler.make(scope)
    const entries = new Lru.Lru<Driver.Driver>()
    // evicted sessions whose acquisition still runs for its waiters
    const draining = new Set<Driver.Driver>()
    const transports = new Map<string, KalturaApi.Service>()
    const lock = yield* Effect.makeSemaphore(1)
    let closed = false

    const evictEntry = (entry: Entry) => {
      entries.remove(entry)
      draining.add(entry.value)
      return entry.value.evict
    }

    const transportFor = (settings: KalturaConfig.KalturaSettings) => {
      const key = JSON.stringify([settings.serviceUrl, settings.clientTag])
      const known = transports.get(key)
      if (known !== undefined) return Effect.succeed(known)
      return KalturaApi.make({ ...options?.api, serviceUrl: settings.serviceUrl, clientTag: settings.clientTag }).pipe(
        Effect.provide(context),
        Effect.tap((api) => transports.set(key, api))
      )
    }

    // Called under the lock: one lifecycle per key, built as AppTokenSession's.
    const create = (settings: KalturaConfig.KalturaSettings) =>
      Effect.gen(function*() {
        const api = yield* transportFor(settings)
        const driver: Driver.Driver = yield* Lifecycle.make({
          settings,
          api,
          hasher,
          widgetSession: Widget.service(api, {
            partnerId: settings.partnerId,
            widgetId: settings.widgetId,
            expiry: WidgetSession.defaultExpiry
          }),
          options: options?.session,
          scope,
          scheduler,
          store,
          onRelease: Effect.sync(() => draining.delete(driver)),
          metricLabels: keyedMetricLabels
        })
        // after the layer's release, a session is born closed: its callers get `Closed`, never a hang
        if (closed) yield* driver.close
        return driver
      })

    // A key object is validated when first seen and again only when one of its fields changed.
    const identities = new WeakMap<Key, Identity>()
    const identify = (key: Key): Effect.Effect<Identity, KalturaConfig.KalturaConfigError> => {
      const known = identities.get(key)
      if (known !== undefined && Keys.unchanged(known.snapshot, key)) return Effect.succeed(known)
      const snapshot = Keys.snapshotOf(key)
      return Effect.map(KalturaConfig.make(snapshot), (settings) => {
        const identity = { snapshot, settings, id: Keys.identityOf(settings) }
        identities.set(key, identity)
        return identity
      })
    }

    const entryFor = ({ id, settings }: Identity) =>
      Effect.clockWith((clock) => {
        // the common case, an existing entry, takes no lock (marking it used is synchronous)
        const existing = entries.get(id)
        if (existing !== undefined) {
          entries.touch(existing, clock.unsafeCurrentTimeMillis())
          return Effect.succeed(existing)
        }
        return lock.withPermits(1)(Effect.gen(function*() {
          const now = clock.unsafeCurrentTimeMillis()
          const raced = entries.get(id)
          if (raced !== undefined) {
            entries.touch(raced, now)
            return raced
          }
          const entry = entries.add(id, yield* create(settings), now)
          while (entries.size > capacity) yield* evictEntry(entries.leastRecentlyUsed()!)
          return entry
        })).pipe(Effect.uninterruptible)
      })

    const getFor = (identity: Identity, retries: number): ReturnType<Service["get"]> =>
      Effect.flatMap(entryFor(identity), (entry) =>
        entry.value.service.get.pipe(
          // evicted between finding the entry and asking it: the key is simply created again
          Effect.catchIf(
            (error) => retries > 0 && error._tag === "KalturaSessionError" && error.reason === "Evicted",
            () => getFor(identity, retries - 1)
          )
        ))

    // the least recently used come first: the sweep stops at the first key used recently
    const sweep = lock.withPermits(1)(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      for (let oldest = entries.leastRecentlyUsed(); oldest !== undefined; oldest = entries.leastRecentlyUsed()) {
        if (now - oldest.lastUsed < idleMillis) break
        yield* evictEntry(oldest)
      }
    }))
    yield* sweep.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1000, Math.min(idleMillis / 2, 60_000))))),
      Effect.forkScoped
    )
    // Registered before any acquisition is forked, so it runs after they are interrupted: every waiter, of a held
    // key or of an evicted one still draining, gets `Closed`.
    yield* Effect.addFinalizer(() =>
      lock.withPermits(1)(Effect.suspend(() => {
        closed = true
        const drivers = [...entries.values(), ...draining]
        return Effect.forEach(drivers, (driver) => driver.close, { discard: true })
      }))
    )

    // The warm path: a known, unchanged key object whose session is held is served in one synchronous step.
    const get = (key: Key): ReturnType<Service["get"]> =>
      Effect.clockWith((clock) => {
        const known = identities.get(key)
        if (known !== undefined && Keys.unchanged(known.snapshot, key)) {
          const entry = entries.get(known.id)
          if (entry !== undefined) {
            const now = clock.unsafeCurrentTimeMillis()
            entries.touch(entry, now)
            const session = entry.value.peek(now)
            if (session !== undefined) return Effect.succeed(session)
          }
        }
        return Effect.flatMap(identify(key), (identity) => getFor(identity, maxEvictedRetries))
      })

    return AppTokenSessions.of({
      get,
      session: (key) => Effect.map(Effect.flatMap(identify(key), entryFor), (entry) => entry.value.service),
      evict: (key) =>
        identify(key).pipe(
          Effect.flatMap(({ id }) =>
            lock.withPermits(1)(Effect.suspend(() => {
              const entry = entries.get(id)
              return entry === undefined ? Effect.void : evictEntry(entry)
            }))
          ),
          Effect.ignore
        ),
      size: Effect.sync(() => entries.size)
    })
  })

/**
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options?: Options
): Layer.Layer<
  AppTokenSessions,
  never,
  HttpClient.HttpClient | TokenHasher.TokenHasher | SessionStore.SessionStore
> => Layer.scoped(AppTokenSessions, make(options))
