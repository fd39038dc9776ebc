/**
 * Many App Token sessions in one process, keyed by who they are for: for servers that act for many
 * partners, tokens or users. Each key has its own lifecycle (single flight, background refresh, ...),
 * exactly as `AppTokenSession`.
 *
 * Bounded: at most `capacity` keys (default 10,000; the least recently used is evicted) and a key unused
 * for `idleTimeToLive` (default 30 minutes) is evicted. Evicting a key stops its timers and its refresh;
 * a refresh that completes late can only write into its own evicted entry, never into a newer one.
 *
 * The token value is part of the key's identity (as a SHA-256 digest), so a caller with the wrong token
 * can never be handed a session minted with the right one, but it never appears in the key's printed form.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import { sha256 } from "@noble/hashes/sha2"
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as MetricLabel from "effect/MetricLabel"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as AppTokenSession from "./AppTokenSession.js"
import * as KalturaApi from "./KalturaApi.js"
import * as KalturaConfig from "./KalturaConfig.js"
import * as TokenHasher from "./TokenHasher.js"

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
  /** A valid session for `key`, creating its lifecycle on first use. Bad keys fail before any request. */
  readonly get: (
    key: Key
  ) => Effect.Effect<AppTokenSession.Session, AppTokenSession.AppTokenSessionError | KalturaConfig.KalturaConfigError>
  /** The lifecycle of `key` itself (status, refresh, rotations, ...). */
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

/**
 * The printed form of a key: everything but the token.
 *
 * @since 0.1.0
 * @category Models
 */
export const describeKey = (settings: KalturaConfig.KalturaSettings): string =>
  [
    settings.serviceUrl,
    settings.partnerId,
    settings.appTokenId,
    settings.widgetId,
    settings.hashType,
    settings.userId._tag === "Some" ? settings.userId.value : "",
    settings.sessionType._tag === "Some" ? settings.sessionType.value : "",
    settings.expiry._tag === "Some" ? settings.expiry.value : "",
    settings.sessionPrivileges._tag === "Some" ? settings.sessionPrivileges.value : ""
  ].join("|")

// A token's digest, computed once per `Redacted` value.
const tokenDigests = new WeakMap<Redacted.Redacted<string>, string>()
const digestOf = (token: Redacted.Redacted<string>): string => {
  let digest = tokenDigests.get(token)
  if (digest === undefined) {
    digest = bytesToHex(sha256(utf8ToBytes(Redacted.value(token))))
    tokenDigests.set(token, digest)
  }
  return digest
}

const identityOf = (settings: KalturaConfig.KalturaSettings) => `${describeKey(settings)}|${digestOf(settings.token)}`

// Effect's metric registry is global and never forgets a label set: labelling by partner and token would
// grow it with every key ever seen. Keyed sessions share one label set.
const keyedMetricLabels = [MetricLabel.make("sessions", "keyed")]

interface Entry {
  readonly service: AppTokenSession.Service
  readonly scope: Scope.CloseableScope
  lastUsed: number
  evicted: boolean
}

/**
 * Builds the keyed sessions on the `HttpClient` and `TokenHasher` in context.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options?: Options
): Effect.Effect<Service, never, HttpClient.HttpClient | TokenHasher.TokenHasher | Scope.Scope> =>
  Effect.gen(function*() {
    const capacity = Math.max(1, options?.capacity ?? defaults.capacity)
    const idleMillis = Duration.toMillis(options?.idleTimeToLive ?? defaults.idleTimeToLive)
    const hardMarginMillis = Duration.toMillis(options?.session?.hardMargin ?? AppTokenSession.defaults.hardMargin)
    const context = yield* Effect.context<HttpClient.HttpClient | TokenHasher.TokenHasher>()
    const hasher = Context.get(context, TokenHasher.TokenHasher)
    const parentScope = yield* Effect.scope
    // Map iteration order is insertion order: re-inserting on use keeps the least recently used first.
    const entries = new Map<string, Entry>()
    const lock = yield* Effect.makeSemaphore(1)

    const close = (id: string, entry: Entry) => {
      entry.evicted = true
      if (entries.get(id) === entry) entries.delete(id)
      return Scope.close(entry.scope, Exit.void)
    }

    const create = (settings: KalturaConfig.KalturaSettings) =>
      Effect.gen(function*() {
        const scope = yield* Scope.fork(parentScope, ExecutionStrategy.sequential)
        const api = yield* KalturaApi.make({
          ...options?.api,
          serviceUrl: settings.serviceUrl,
          clientTag: settings.clientTag
        }).pipe(Effect.provide(context))
        const service = yield* AppTokenSession.makeLifecycle(
          AppTokenSession.acquire({
            api,
            hasher,
            settings,
            widgetExpiry: options?.session?.widgetExpiry ?? AppTokenSession.defaults.widgetExpiry,
            hardMarginMillis
          }),
          { ...settings, metricLabels: keyedMetricLabels },
          options?.session
        ).pipe(Scope.extend(scope))
        return { service, scope }
      })

    // Moves an entry to the most recently used end. Synchronous, so it needs no lock.
    const touch = (id: string, entry: Entry, now: number) => {
      entries.delete(id)
      entries.set(id, entry)
      entry.lastUsed = now
      return entry
    }

    // A key object seen before is not validated again (keys are immutable by contract).
    const identities = new WeakMap<Key, { readonly settings: KalturaConfig.KalturaSettings; readonly id: string }>()
    const identify = (key: Key) => {
      const known = identities.get(key)
      if (known !== undefined) return Effect.succeed(known)
      return Effect.map(KalturaConfig.make(key), (settings) => {
        const identity = { settings, id: identityOf(settings) }
        identities.set(key, identity)
        return identity
      })
    }

    const entryFor = (key: Key) =>
      Effect.flatMap(identify(key), ({ id, settings }) => {
        // the common case, an existing entry, takes no lock
        const existing = entries.get(id)
        if (existing !== undefined) return Effect.map(Clock.currentTimeMillis, (now) => touch(id, existing, now))
        return lock.withPermits(1)(Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const raced = entries.get(id)
          if (raced !== undefined) return touch(id, raced, now)
          const created = yield* create(settings)
          const entry: Entry = { ...created, lastUsed: now, evicted: false }
          entries.set(id, entry)
          while (entries.size > capacity) {
            const [oldestId, oldest] = entries.entries().next().value!
            yield* close(oldestId, oldest)
          }
          return entry
        })).pipe(Effect.uninterruptible)
      })

    const get = (key: Key): ReturnType<Service["get"]> =>
      Effect.flatMap(entryFor(key), (entry) =>
        entry.service.get.pipe(
          // An entry evicted while we waited interrupts its refresh: start over on the new entry, once.
          Effect.catchAllCause((cause) =>
            entry.evicted && Cause.isInterruptedOnly(cause)
              ? Effect.flatMap(entryFor(key), (fresh) => fresh.service.get)
              : Effect.failCause(cause)
          )
        ))

    const sweep = lock.withPermits(1)(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      for (const [id, entry] of Array.from(entries)) {
        if (now - entry.lastUsed >= idleMillis) yield* close(id, entry)
      }
    }))
    yield* sweep.pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(Math.max(1000, Math.min(idleMillis / 2, 60_000))))),
      Effect.forkScoped
    )
    yield* Effect.addFinalizer(() =>
      Effect.forEach(Array.from(entries), ([id, entry]) => close(id, entry), { discard: true })
    )

    return AppTokenSessions.of({
      get,
      session: (key) => Effect.map(entryFor(key), (entry) => entry.service),
      evict: (key) =>
        KalturaConfig.make(key).pipe(
          Effect.flatMap((settings) =>
            lock.withPermits(1)(Effect.suspend(() => {
              const id = identityOf(settings)
              const entry = entries.get(id)
              return entry === undefined ? Effect.void : close(id, entry)
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
): Layer.Layer<AppTokenSessions, never, HttpClient.HttpClient | TokenHasher.TokenHasher> =>
  Layer.scoped(AppTokenSessions, make(options))
