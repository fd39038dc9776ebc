/**
 * The privileged Kaltura Session (KS) obtained with an App Token, kept fresh for the life of the layer.
 *
 * The flow: `session.startWidgetSession` (no KS) → `TokenHasher` (widget KS + token) →
 * `appToken.startSession` (sent with the widget KS). The widget KS is reused for later refreshes while
 * it is safely valid, so a refresh costs one round trip.
 *
 * The lifecycle is the contract of `docs/lifecycle.md`, implemented as an explicit state machine:
 * - one flight at a time, however many callers arrive together;
 * - a background refresh at a random point between 75% and 85% of the lifetime, while callers keep
 *   getting the current KS at once; callers wait only with no valid KS or inside the hard margin
 *   (min(60 s, 10% of the lifetime)) before the deadline;
 * - refreshes run in the layer's scope: a caller's interrupt or timeout changes nothing for others;
 * - a failed refresh never replaces a valid KS and is not cached beyond a short cooldown; transient
 *   failures are retried in the background with jittered backoff until the deadline, permanent ones
 *   stop automatic attempts (status `Failed`);
 * - at most one refresh starts per minimum interval (default 5 s);
 * - every wait ends with a session or a typed error, also when the layer is released (`Closed`).
 *
 * Build the layer once per program: each `Effect.provide` of it builds a new, independent session.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import * as Lifecycle from "./internal/lifecycle.js"
import * as Scheduler from "./internal/scheduler.js"
import * as Machine from "./internal/sessionMachine.js"
import * as KalturaApi from "./KalturaApi.js"
import { KalturaConfig, type SessionType } from "./KalturaConfig.js"
import type { KalturaCallError, KalturaSessionError } from "./KalturaError.js"
import * as SessionStore from "./SessionStore.js"
import * as TokenHasher from "./TokenHasher.js"
import * as WidgetSession from "./WidgetSession.js"

/**
 * A privileged session.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Session {
  readonly ks: Redacted.Redacted<string>
  readonly partnerId: number
  /**
   * The App Token that minted it.
   *
   * @since 0.2.0
   */
  readonly appTokenId: string
  /** The effective user (`""` for none): the token's `sessionUserId` wins over the requested one. */
  readonly userId: string
  /** The effective type: the token's `sessionType` wins over the requested one. */
  readonly sessionType: SessionType
  readonly privileges: string
  /** The server's absolute expiry, unix seconds on the server's clock. */
  readonly expiry: number
  /** The local deadline (`Clock` ms), corrected for clock skew with the response's `Date` header. */
  readonly expiresAt: number
  /** When the request that obtained it was sent (`Clock` ms). */
  readonly obtainedAt: number
  /** Counts sessions obtained by this service, starting at 1. */
  readonly generation: number
  /**
   * Where it came from: `kaltura` (obtained by this process) or `store` (obtained by another process and shared
   * through the `SessionStore`).
   *
   * @since 0.2.0
   */
  readonly source: "kaltura" | "store"
}

/**
 * The lifecycle status, derived from the state and the clock whenever it is read:
 *
 * | status | valid KS? | what is happening |
 * |---|---|---|
 * | `Fresh` | yes | before its refresh point, nothing to do |
 * | `Refreshing` | yes | a refresh is due, waiting out the minimum interval, or in flight; callers get the current KS |
 * | `Degraded` | yes | the last attempt failed transiently; retrying with backoff until the deadline |
 * | `Failed` | maybe | the last attempt failed permanently; no automatic retry (also past the deadline) |
 * | `Expired` | no | none obtained yet (the first flight may be running), invalidated, past the deadline, or closed |
 *
 * @since 0.1.0
 * @category Models
 */
export type Status = "Fresh" | "Refreshing" | "Degraded" | "Failed" | "Expired"

/**
 * How obtaining a session can fail: a Kaltura call's error, or `KalturaSessionError` (`InvalidSession`,
 * `MinRemainingTooLong`, `Evicted`, `Closed`, `Defect`).
 *
 * @since 0.1.0
 * @category Errors
 */
export type AppTokenSessionError = KalturaCallError | KalturaSessionError

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** A valid session: the held one, or the result of the one flight in progress. */
  readonly get: Effect.Effect<Session, AppTokenSessionError>
  /**
   * A session valid for at least `minRemaining`: the held one, or a new one (waiting out the minimum interval if
   * need be). Fails with `KalturaSessionError` (`MinRemainingTooLong`) only when no session can live that long.
   */
  readonly getWith: (options: {
    readonly minRemaining: Duration.DurationInput
  }) => Effect.Effect<Session, AppTokenSessionError>
  /** The KS of {@link get}. */
  readonly ks: Effect.Effect<Redacted.Redacted<string>, AppTokenSessionError>
  /** Obtains a new session now (or joins the one in flight; at most one starts per minimum interval). */
  readonly refresh: Effect.Effect<Session, AppTokenSessionError>
  /** Drops the held session and the widget session; the next `get` starts a new flight from step 1. */
  readonly invalidate: Effect.Effect<void>
  /**
   * Drops the held session only if it is still generation `generation`: for a call that was told its
   * KS expired or was revoked, so that N such failures cause one refresh (the widget session is kept).
   */
  readonly invalidateGeneration: (generation: number) => Effect.Effect<void>
  /** The current status, derived from the state and the clock. */
  readonly status: Effect.Effect<Status>
  /** The current status, then every change (including `Expired` at a deadline). */
  readonly statusChanges: Stream.Stream<Status>
  /** Every session obtained from now on. */
  readonly rotations: Stream.Stream<Session>
}

/**
 * The App Token session.
 *
 * @since 0.1.0
 * @category Context
 */
export class AppTokenSession extends Context.Tag("@kaltura-effect/core/AppTokenSession")<
  AppTokenSession,
  Service
>() {}

/**
 * Lifecycle options; every field has a default.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  /** The refresh point, a fraction of the lifetime drawn at random in `[min, max]` for each KS. Default 0.75–0.85. */
  readonly refreshWindow?: { readonly min: number; readonly max: number } | undefined
  /** The hard margin before the deadline is min(this, 10% of the lifetime). Default 60 seconds. */
  readonly hardMargin?: Duration.DurationInput | undefined
  /** At most one refresh starts per this interval. Default 5 seconds. */
  readonly minRefreshInterval?: Duration.DurationInput | undefined
  /** After a permanent failure, on-demand attempts wait this long. Default 60 seconds. */
  readonly failureCooldown?: Duration.DurationInput | undefined
  /** First delay of the background retries after a transient failure (doubling, jittered). Default 2 seconds. */
  readonly retryBase?: Duration.DurationInput | undefined
  /** Longest delay between background retries. Default 5 minutes. */
  readonly retryMax?: Duration.DurationInput | undefined
  /** Lifetime requested for widget sessions, in seconds. Default 86400. */
  readonly widgetExpiry?: number | undefined
  /**
   * A response's `Date` header further than this from the local clock is ignored (logged once at Warning) and the
   * lifetime measured on the local clock, capped by the requested expiry. Default 10 minutes.
   *
   * @since 0.2.0
   */
  readonly maxDateSkew?: Duration.DurationInput | undefined
  /**
   * With a shared `SessionStore`: the longest a refresh lease is held, and how long a process with no valid KS waits
   * for the holder's result (reading the store every `storePoll`) before it asks Kaltura itself. Default 30 seconds.
   *
   * @since 0.2.0
   */
  readonly storeLease?: Duration.DurationInput | undefined
  /**
   * With a shared `SessionStore`: how often a process waiting for the lease holder's result reads the store.
   * Default 500 milliseconds.
   *
   * @since 0.2.0
   */
  readonly storePoll?: Duration.DurationInput | undefined
}

/**
 * The lifecycle defaults.
 *
 * @since 0.1.0
 * @category Defaults
 */
export const defaults: {
  readonly refreshWindow: { readonly min: number; readonly max: number }
  readonly hardMargin: Duration.Duration
  readonly minRefreshInterval: Duration.Duration
  readonly failureCooldown: Duration.Duration
  readonly retryBase: Duration.Duration
  readonly retryMax: Duration.Duration
  readonly widgetExpiry: number
  readonly maxDateSkew: Duration.Duration
  readonly storeLease: Duration.Duration
  readonly storePoll: Duration.Duration
} = Machine.defaults

/**
 * Builds the session for the configured App Token on the services in context: the transport, the hasher, the
 * widget session service (step 1) and the session store (`SessionStore.layerNone` for none; a shared store lets a
 * fleet of processes share one KS and refresh it once).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options?: Options
): Effect.Effect<
  Service,
  never,
  | KalturaConfig
  | KalturaApi.KalturaApi
  | TokenHasher.TokenHasher
  | WidgetSession.WidgetSession
  | SessionStore.SessionStore
  | Scope.Scope
> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const driver = yield* Lifecycle.make({
      settings: yield* KalturaConfig,
      api: yield* KalturaApi.KalturaApi,
      hasher: yield* TokenHasher.TokenHasher,
      widgetSession: yield* WidgetSession.WidgetSession,
      options,
      scope,
      scheduler: yield* Scheduler.make(scope),
      store: yield* SessionStore.SessionStore
    })
    yield* Effect.addFinalizer(() => driver.close)
    return driver.service
  })

/**
 * The session as a layer. Requires the configuration, the transport, a hasher, the widget session service and the
 * session store (the Node package's `AppTokenLive` provides them all, with no store).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options?: Options
): Layer.Layer<
  AppTokenSession,
  never,
  | KalturaConfig
  | KalturaApi.KalturaApi
  | TokenHasher.TokenHasher
  | WidgetSession.WidgetSession
  | SessionStore.SessionStore
> => Layer.scoped(AppTokenSession, make(options))

/**
 * A session service that always hands out one fixed session and never calls Kaltura: for tests of code
 * that needs a KS. `refresh` and `invalidate` bump the generation.
 *
 * @since 0.1.0
 * @category Testing
 * @example
 * ```ts
 * import { AppTokenSession } from "@kaltura-effect/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.flatMap(AppTokenSession.AppTokenSession, (session) => session.get)
 * const test = program.pipe(Effect.provide(AppTokenSession.layerTest({ ks: "test-ks", partnerId: 12345 })))
 * ```
 */
export const layerTest = (session: {
  readonly ks: string
  readonly partnerId?: number | undefined
  readonly appTokenId?: string | undefined
  readonly userId?: string | undefined
  readonly sessionType?: SessionType | undefined
  readonly privileges?: string | undefined
  /** Lifetime in seconds from when the layer is built. Default 86400. */
  readonly lifetime?: number | undefined
}): Layer.Layer<AppTokenSession> =>
  Layer.effect(
    AppTokenSession,
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const lifetime = (session.lifetime ?? 86400) * 1000
      const current = yield* Ref.make<Session>({
        ks: Redacted.make(session.ks),
        partnerId: session.partnerId ?? 0,
        appTokenId: session.appTokenId ?? "",
        userId: session.userId ?? "",
        sessionType: session.sessionType ?? 0,
        privileges: session.privileges ?? "",
        expiry: Math.floor((now + lifetime) / 1000),
        expiresAt: now + lifetime,
        obtainedAt: now,
        generation: 1,
        source: "kaltura"
      })
      const statusRef = yield* SubscriptionRef.make<Status>("Fresh")
      const refresh = Ref.updateAndGet(current, (s) => ({ ...s, generation: s.generation + 1 }))
      return AppTokenSession.of({
        get: Ref.get(current),
        getWith: () => Ref.get(current),
        ks: Effect.map(Ref.get(current), (s) => s.ks),
        refresh,
        invalidate: Effect.asVoid(refresh),
        invalidateGeneration: () => Effect.asVoid(refresh),
        status: SubscriptionRef.get(statusRef),
        statusChanges: statusRef.changes,
        rotations: Stream.empty
      })
    })
  )
