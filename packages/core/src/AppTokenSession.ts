/**
 * The privileged Kaltura Session (KS) obtained with an App Token, kept fresh for the life of the layer.
 *
 * The flow: `session.startWidgetSession` (no KS) → `TokenHasher` (widget KS + token) →
 * `appToken.startSession` (sent with the widget KS). The widget KS is reused for later refreshes while
 * it is safely valid, so a refresh costs one round trip.
 *
 * The lifecycle (see the README for the whole contract):
 * - one flight at a time, however many callers arrive together;
 * - a background refresh at a random point between 75% and 85% of the lifetime, while callers keep
 *   getting the current KS at once; callers wait only with no valid KS or inside the hard margin
 *   (min(60 s, 10% of the lifetime)) before the deadline;
 * - refreshes run in the layer's scope: a caller's interrupt or timeout changes nothing for others;
 * - a failed refresh never replaces a valid KS and is not cached beyond a short cooldown; transient
 *   failures are retried in the background with jittered backoff until the deadline, permanent ones
 *   stop automatic attempts (status `Failed`);
 * - at most one refresh starts per minimum interval (default 5 s).
 *
 * Build the layer once per program: each `Effect.provide` of it builds a new, independent session.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberHandle from "effect/FiberHandle"
import { identity } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import { fingerprint } from "./internal/fingerprint.js"
import * as KalturaApi from "./KalturaApi.js"
import { KalturaConfig, type KalturaSettings, type SessionType } from "./KalturaConfig.js"
import { type KalturaCallError, KalturaSessionError, KnownCode } from "./KalturaError.js"
import * as KalturaMetrics from "./KalturaMetrics.js"
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
}

/**
 * The lifecycle state:
 *
 * | status | valid KS? | what is happening |
 * |---|---|---|
 * | `Fresh` | yes | before its refresh point, nothing to do |
 * | `Refreshing` | yes | one refresh in flight; callers get the current KS at once |
 * | `Degraded` | yes | the last attempt failed transiently; retrying with backoff until the deadline |
 * | `Failed` | maybe | the last attempt failed permanently; no automatic retry |
 * | `Expired` | no | none obtained yet, invalidated, or past the deadline |
 *
 * @since 0.1.0
 * @category Models
 */
export type Status = "Fresh" | "Refreshing" | "Degraded" | "Failed" | "Expired"

/**
 * How obtaining a session can fail.
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
   * A session valid for at least `minRemaining`; refreshes (once) if the held one is too short. Fails with
   * `KalturaSessionError` (`MinRemainingTooLong`) if no session can live that long.
   */
  readonly getWith: (options: {
    readonly minRemaining: Duration.DurationInput
  }) => Effect.Effect<Session, AppTokenSessionError>
  /** The KS of {@link get}. */
  readonly ks: Effect.Effect<Redacted.Redacted<string>, AppTokenSessionError>
  /** Obtains a new session now (or joins the one in flight; at most one starts per minimum interval). */
  readonly refresh: Effect.Effect<Session, AppTokenSessionError>
  /** Drops the held session; the next `get` obtains a new one. */
  readonly invalidate: Effect.Effect<void>
  /**
   * Drops the held session only if it is still generation `generation`: for a call that was told its
   * KS expired or was revoked, so that N such failures cause one refresh.
   */
  readonly invalidateGeneration: (generation: number) => Effect.Effect<void>
  /** The current status. */
  readonly status: Effect.Effect<Status>
  /** The current status, then every change. */
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
}

/**
 * The lifecycle defaults.
 *
 * @since 0.1.0
 * @category Defaults
 */
export const defaults = {
  refreshWindow: { min: 0.75, max: 0.85 },
  hardMargin: Duration.seconds(60),
  hardMarginFraction: 0.1,
  minRefreshInterval: Duration.seconds(5),
  failureCooldown: Duration.seconds(60),
  retryBase: Duration.seconds(2),
  retryMax: Duration.minutes(5),
  widgetExpiry: WidgetSession.defaultExpiry
} as const

/** Effect's scheduler drops timers beyond 2^31-1 ms (~24.8 days): never sleep more than a day at once. */
const maxSleepMillis = 86_400_000

/**
 * The body of an `appToken.startSession` answer (`KalturaSessionInfo`).
 *
 * @since 0.1.0
 * @category Schemas
 */
export const SessionInfoResponse = Schema.Struct({
  ks: WidgetSession.KsString,
  sessionType: KalturaApi.LenientNumber.pipe(
    Schema.filter((n): n is SessionType => n === 0 || n === 2, { message: () => "0 or 2" })
  ),
  partnerId: KalturaApi.LenientNumber,
  userId: Schema.optionalWith(KalturaApi.LenientString, { default: () => "" }),
  expiry: KalturaApi.LenientNumber,
  privileges: Schema.optionalWith(Schema.String, { default: () => "" })
})

/**
 * What one acquisition produced, before the lifecycle turns it into a {@link Session}.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Acquired {
  readonly response: KalturaApi.Response<typeof SessionInfoResponse.Type>
  /** The widget session used, kept for the next refresh while it is safely valid. */
  readonly widget: WidgetSession.WidgetSessionInfo
}

/**
 * The parameters of one App Token, as {@link acquire} sends them.
 *
 * @since 0.1.0
 * @category Models
 */
export type FlowSettings = Pick<
  KalturaSettings,
  | "partnerId"
  | "widgetId"
  | "appTokenId"
  | "token"
  | "hashType"
  | "userId"
  | "sessionType"
  | "expiry"
  | "sessionPrivileges"
>

const hardMarginOf = (lifetimeMillis: number, maxMillis: number) =>
  Math.max(0, Math.min(maxMillis, lifetimeMillis * defaults.hardMarginFraction))

/**
 * One acquisition: a widget session (unless `widget` may still be reused), the token hash, then
 * `appToken.startSession` sent with the widget KS. An `INVALID_KS` on a reused widget KS falls back to a
 * new widget session, once.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const acquire = (deps: {
  readonly api: KalturaApi.Service
  readonly hasher: TokenHasher.Service
  readonly settings: FlowSettings
  readonly widgetExpiry: number
  readonly hardMarginMillis: number
  /** Starts the widget session; default `WidgetSession.start` through `api`. */
  readonly widgetSession?: WidgetSession.Service | undefined
}) =>
(widget: WidgetSession.WidgetSessionInfo | undefined): Effect.Effect<Acquired, KalturaCallError> => {
  const { api, hasher, settings } = deps
  const newWidget = deps.widgetSession
    ? deps.widgetSession.start({ widgetId: settings.widgetId, expiry: deps.widgetExpiry })
    : WidgetSession.start(api, {
      partnerId: settings.partnerId,
      widgetId: settings.widgetId,
      expiry: deps.widgetExpiry
    })
  const startSession = (widget: WidgetSession.WidgetSessionInfo) =>
    hasher.hash(settings.hashType, widget.ks, settings.token).pipe(
      Effect.flatMap((tokenHash) =>
        api.execute({
          service: "apptoken",
          action: "startSession",
          ks: widget.ks,
          params: {
            id: settings.appTokenId,
            tokenHash,
            userId: Option.getOrUndefined(settings.userId),
            type: Option.getOrUndefined(settings.sessionType),
            expiry: Option.getOrUndefined(settings.expiry),
            sessionPrivileges: Option.getOrUndefined(settings.sessionPrivileges)
          }
        }, SessionInfoResponse)
      ),
      Effect.map((response): Acquired => ({ response, widget })),
      Effect.withSpan("AppTokenSession.startSession", {
        attributes: { "kaltura.partner_id": settings.partnerId, "kaltura.app_token_id": settings.appTokenId }
      })
    )
  return Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const widgetLifetime = widget ? widget.validUntil - widget.obtainedAt : 0
    const reusable = widget !== undefined &&
      now < widget.validUntil - hardMarginOf(widgetLifetime, deps.hardMarginMillis)
    return reusable
      ? startSession(widget).pipe(
        Effect.catchIf(
          (error) => error._tag === "KalturaApiError" && error.code === KnownCode.INVALID_KS,
          () => Effect.flatMap(newWidget, startSession)
        )
      )
      : Effect.flatMap(newWidget, startSession)
  })
}

// ---------------------------------------------------------------------------------------------------------
// The lifecycle
// ---------------------------------------------------------------------------------------------------------

interface Entry {
  readonly session: Session
  readonly lifetime: number
  readonly refreshAt: number
  readonly hardAt: number
}

interface Failure {
  readonly error: AppTokenSessionError
  readonly at: number
  readonly permanent: boolean
  /** No background attempt before this time: the cooldown, or the next backoff step. */
  readonly notBefore: number
}

interface State {
  readonly entry: Entry | undefined
  readonly flight: Deferred.Deferred<Session, AppTokenSessionError> | undefined
  readonly lastStart: number
  readonly failure: Failure | undefined
  readonly consecutiveFailures: number
  readonly widget: WidgetSession.WidgetSessionInfo | undefined
  readonly generation: number
}

const statusCode: Record<Status, number> = { Fresh: 0, Refreshing: 1, Degraded: 2, Failed: 3, Expired: 4 }

/**
 * The lifecycle around any acquisition function; {@link make} uses {@link acquire}. Exposed for the keyed
 * `AppTokenSessions` and for tests that drive the lifecycle with a scripted acquisition.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const makeLifecycle = (
  acquireSession: (widget: WidgetSession.WidgetSessionInfo | undefined) => Effect.Effect<Acquired, KalturaCallError>,
  settings: {
    readonly partnerId: number
    readonly appTokenId: string
    /** The lifetime requested, in seconds, if any. */
    readonly expiry: Option.Option<number>
    /** Labels of this session's metrics. Default: `partner_id` and `app_token_id`. */
    readonly metricLabels?: ReadonlyArray<MetricLabel.MetricLabel> | undefined
  },
  options?: Options
): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const window = options?.refreshWindow ?? defaults.refreshWindow
    const windowMin = Math.min(Math.max(window.min, 0), 1)
    const windowMax = Math.min(Math.max(window.max, windowMin), 1)
    const hardMarginMillis = Duration.toMillis(options?.hardMargin ?? defaults.hardMargin)
    const minInterval = Duration.toMillis(options?.minRefreshInterval ?? defaults.minRefreshInterval)
    const cooldown = Duration.toMillis(options?.failureCooldown ?? defaults.failureCooldown)
    const retryBase = Duration.toMillis(options?.retryBase ?? defaults.retryBase)
    const retryMax = Duration.toMillis(options?.retryMax ?? defaults.retryMax)
    const labels = settings.metricLabels ?? [
      MetricLabel.make("partner_id", String(settings.partnerId)),
      MetricLabel.make("app_token_id", settings.appTokenId)
    ]
    const metrics = {
      started: Metric.taggedWithLabels(KalturaMetrics.sessionsStarted, labels),
      refreshed: Metric.taggedWithLabels(KalturaMetrics.sessionsRefreshed, labels),
      duration: Metric.taggedWithLabels(KalturaMetrics.refreshDuration, labels),
      timeToExpiry: Metric.taggedWithLabels(KalturaMetrics.timeToExpiry, labels),
      status: Metric.taggedWithLabels(KalturaMetrics.status, labels)
    }

    // The state is a plain variable: every change happens under `lock`, and reading it is a single step,
    // which keeps the cache-hit path of `get` and `ks` within a few times the cost of a `Ref.get`.
    let state: State = {
      entry: undefined,
      flight: undefined,
      lastStart: Number.NEGATIVE_INFINITY,
      failure: undefined,
      consecutiveFailures: 0,
      widget: undefined,
      generation: 0
    }
    const readState = Effect.sync(() => state)
    const writeState = (next: State) =>
      Effect.sync(() => {
        state = next
      })
    const updateState = (f: (current: State) => State) =>
      Effect.sync(() => {
        state = f(state)
      })
    const lock = yield* Effect.makeSemaphore(1)
    const locked = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.uninterruptible(lock.withPermits(1)(effect))
    const statusRef = yield* SubscriptionRef.make<Status>("Expired")
    const rotationHub = yield* PubSub.unbounded<Session>()
    yield* Effect.addFinalizer(() => PubSub.shutdown(rotationHub))
    const timer = yield* FiberHandle.make<void, never>()
    const warnedNoDate = yield* Ref.make(false)

    const setStatus = (status: Status) =>
      SubscriptionRef.get(statusRef).pipe(
        Effect.flatMap((current) =>
          current === status
            ? Effect.void
            : SubscriptionRef.set(statusRef, status).pipe(
              Effect.zipRight(Metric.set(metrics.status, statusCode[status])),
              Effect.zipRight(Effect.logDebug(`Kaltura session status: ${status}`))
            )
        )
      )

    const sleepUntil = (at: number): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const remaining = Math.ceil(at - now)
        return remaining <= 0
          ? Effect.void
          : Effect.zipRight(Effect.sleep(Duration.millis(Math.min(remaining, maxSleepMillis))), sleepUntil(at))
      })

    // Runs `effect` at `at`, replacing whatever was scheduled before. The timer fiber only forks the
    // action into the layer's scope, so replacing the timer can never interrupt a refresh.
    const scheduleAt = (at: number, action: Effect.Effect<void>) =>
      FiberHandle.run(
        timer,
        Effect.interruptible(Effect.zipRight(sleepUntil(at), Effect.asVoid(Effect.forkIn(action, scope))))
      )

    const toEntry = (acquired: Acquired, generation: number): Effect.Effect<Entry, KalturaSessionError> =>
      Effect.gen(function*() {
        const { result, sentAt, serverDate } = acquired.response
        const invalid = (description: string) =>
          new KalturaSessionError({ reason: "InvalidSession", description: `appToken.startSession: ${description}` })
        if (result.partnerId !== settings.partnerId) {
          return yield* invalid(`the session is for partner ${result.partnerId}, not ${settings.partnerId}`)
        }
        const requestedMillis = Option.map(settings.expiry, (seconds) => seconds * 1000)
        let lifetime: number
        if (Option.isSome(serverDate)) {
          // The Date header has one-second resolution: assume the latest server time it allows.
          lifetime = result.expiry * 1000 - (serverDate.value + 1000)
          if (Option.isSome(requestedMillis) && lifetime > requestedMillis.value + 5000) {
            return yield* invalid("the session lives longer than requested")
          }
        } else {
          if (!(yield* Ref.getAndSet(warnedNoDate, true))) {
            yield* Effect.logWarning("Kaltura response has no Date header: clock skew cannot be corrected")
          }
          lifetime = result.expiry * 1000 - sentAt
          if (Option.isSome(requestedMillis)) lifetime = Math.min(lifetime, requestedMillis.value)
        }
        if (!(lifetime > 0)) return yield* invalid("the session had already expired when it arrived")
        const expiresAt = sentAt + lifetime
        const hardAt = Math.round(expiresAt - hardMarginOf(lifetime, hardMarginMillis))
        const fraction = windowMin === windowMax ? windowMin : yield* Random.nextRange(windowMin, windowMax)
        return {
          session: {
            ks: Redacted.make(result.ks),
            partnerId: result.partnerId,
            userId: result.userId,
            sessionType: result.sessionType,
            privileges: result.privileges,
            expiry: result.expiry,
            expiresAt,
            obtainedAt: sentAt,
            generation
          },
          lifetime,
          refreshAt: Math.min(Math.round(sentAt + lifetime * fraction), hardAt),
          hardAt
        }
      })

    const isValid = (entry: Entry | undefined, now: number): entry is Entry =>
      entry !== undefined && now < entry.session.expiresAt

    const backgroundDelay = (failures: number) =>
      Effect.map(Random.nextRange(0.8, 1.2), (jitter) =>
        Math.round(Math.max(minInterval, Math.min(retryMax, retryBase * 2 ** Math.max(0, failures - 1)) * jitter)))

    // Called under the lock: records the outcome of a flight and decides what happens next.
    const settle = (exit: Exit.Exit<Entry, AppTokenSessionError>) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const before = yield* readState
        if (Exit.isSuccess(exit)) {
          const entry = exit.value
          const wasHeld = isValid(before.entry, entry.session.obtainedAt)
          yield* writeState({
            ...before,
            entry,
            flight: undefined,
            failure: undefined,
            consecutiveFailures: 0,
            generation: entry.session.generation
          })
          yield* Metric.increment(wasHeld ? metrics.refreshed : metrics.started)
          yield* Metric.set(metrics.timeToExpiry, Math.max(0, (entry.session.expiresAt - now) / 1000))
          yield* setStatus("Fresh")
          yield* scheduleAt(entry.refreshAt, kick)
          yield* PubSub.publish(rotationHub, entry.session)
          yield* Effect.logInfo("Kaltura session obtained").pipe(
            Effect.annotateLogs({
              generation: entry.session.generation,
              ks: fingerprint(entry.session.ks),
              expiresInSeconds: Math.round((entry.session.expiresAt - now) / 1000)
            })
          )
          return
        }
        const error = Option.getOrUndefined(Cause.failureOption(exit.cause))
        const retryAt = now + (yield* backgroundDelay(before.consecutiveFailures + 1))
        yield* writeState({
          ...before,
          flight: undefined,
          failure: error && {
            error,
            at: now,
            permanent: !error.isTransient,
            notBefore: error.isTransient ? retryAt : now + cooldown
          },
          consecutiveFailures: before.consecutiveFailures + 1
        })
        if (error === undefined) {
          return // interrupted or a defect: the waiters see the cause
        }
        yield* Metric.increment(
          Metric.taggedWithLabels(KalturaMetrics.sessionsFailed, [
            ...labels,
            MetricLabel.make("error", error._tag),
            MetricLabel.make("code", error._tag === "KalturaApiError" ? error.code : "")
          ])
        )
        yield* Effect.logWarning("Kaltura session attempt failed").pipe(
          Effect.annotateLogs({ error: error._tag, message: error.message, permanent: !error.isTransient })
        )
        if (!error.isTransient) {
          return yield* setStatus("Failed")
        }
        if (!isValid(before.entry, now)) {
          return yield* setStatus("Expired")
        }
        yield* setStatus("Degraded")
        const expiresAt = before.entry.session.expiresAt
        yield* retryAt < expiresAt ? scheduleAt(retryAt, kick) : scheduleAt(expiresAt, markExpired)
      })

    const markExpired: Effect.Effect<void> = locked(Effect.gen(function*() {
      const s = yield* readState
      const now = yield* Clock.currentTimeMillis
      if (s.flight === undefined && !isValid(s.entry, now) && s.failure?.permanent !== true) {
        yield* setStatus("Expired")
      }
    }))

    // Called under the lock: starts a flight after `delay` ms, in the layer's scope.
    const startFlight = (s: State, now: number, delay: number) =>
      Effect.gen(function*() {
        const deferred = yield* Deferred.make<Session, AppTokenSessionError>()
        const generation = s.generation + 1
        const flight = Effect.gen(function*() {
          if (delay > 0) {
            yield* Effect.sleep(Duration.millis(delay))
          }
          const current = yield* readState
          if (isValid(current.entry, yield* Clock.currentTimeMillis)) {
            yield* setStatus("Refreshing")
          }
          const exit = yield* acquireSession(current.widget).pipe(
            Effect.tap((acquired) =>
              updateState((s) => ({ ...s, widget: acquired.widget }))
            ),
            Effect.flatMap((acquired) => toEntry(acquired, generation)),
            Metric.trackDuration(metrics.duration),
            Effect.withSpan("AppTokenSession.refresh", {
              root: true,
              attributes: { "kaltura.partner_id": settings.partnerId, "kaltura.app_token_id": settings.appTokenId }
            }),
            Effect.exit
          )
          yield* locked(settle(exit))
          yield* Deferred.done(deferred, Exit.map(exit, (entry) => entry.session))
        }).pipe(
          Effect.onInterrupt(() =>
            Effect.zipRight(
              updateState((s) => s.flight === deferred ? { ...s, flight: undefined } : s),
              Deferred.interrupt(deferred)
            )
          )
        )
        // Forked under the lock, the flight would inherit its uninterruptibility: then no per-attempt
        // timeout could stop a request that never answers, and closing the layer would hang on it.
        yield* Effect.forkIn(Effect.interruptible(flight), scope)
        yield* writeState({ ...s, flight: deferred, lastStart: now + delay })
        return deferred
      })

    // A background attempt: the proactive refresh, a retry after a transient failure, or an on-demand
    // retry after the cooldown. Never waits, never fails.
    const kick: Effect.Effect<void> = locked(Effect.gen(function*() {
      const s = yield* readState
      const now = yield* Clock.currentTimeMillis
      if (s.flight !== undefined || s.entry === undefined) return
      // after a failure, callers in the refresh window do not hurry the backoff or the cooldown
      if (s.failure !== undefined && now < s.failure.notBefore) return
      yield* startFlight(s, now, Math.max(0, s.lastStart + minInterval - now))
    }))

    // Decides, under the lock, what a caller that needs a session waits for.
    const demand = (forced: boolean): Effect.Effect<Session, AppTokenSessionError> =>
      Effect.flatten(locked(Effect.gen(function*() {
        const s = yield* readState
        const now = yield* Clock.currentTimeMillis
        if (s.flight !== undefined) return Deferred.await(s.flight)
        const entry = s.entry
        const withinInterval = now < s.lastStart + minInterval
        if (!forced && isValid(entry, now) && now < entry.hardAt) return Effect.succeed(entry.session)
        if (forced && withinInterval) {
          // At most one forced start per interval: later callers get the last result.
          if (s.failure !== undefined && s.failure.at >= s.lastStart) return Effect.fail(s.failure.error)
          if (isValid(entry, now)) return Effect.succeed(entry.session)
        }
        if (!forced && s.failure !== undefined && now < s.failure.at + (s.failure.permanent ? cooldown : minInterval)) {
          return Effect.fail(s.failure.error)
        }
        const deferred = yield* startFlight(s, now, Math.max(0, s.lastStart + minInterval - now))
        return Deferred.await(deferred)
      }))).pipe(forced ? identity : Effect.catchAll(heldUntilDeadline))

    // Inside the hard margin a caller waits for the refresh; if that fails transiently (the server is down,
    // say), the KS in hand is still valid until its deadline and is served rather than the error. A permanent
    // failure is reported (status Failed serves the KS only until the hard margin).
    const heldUntilDeadline = (error: AppTokenSessionError): Effect.Effect<Session, AppTokenSessionError> =>
      Effect.clockWith((clock) => {
        const entry = state.entry
        return error.isTransient && entry !== undefined && clock.unsafeCurrentTimeMillis() < entry.session.expiresAt
          ? Effect.succeed(entry.session)
          : Effect.fail(error)
      })

    // The cache-hit path: no lock, no span, no metric; one clock read and a comparison.
    const serve = <A>(select: (session: Session) => A): Effect.Effect<A, AppTokenSessionError> =>
      Effect.clockWith((clock) => {
        const entry = state.entry
        if (entry !== undefined) {
          const now = clock.unsafeCurrentTimeMillis()
          if (now < entry.refreshAt) return Effect.succeed(select(entry.session))
          if (now < entry.hardAt) {
            return state.flight === undefined
              ? Effect.as(kick, select(entry.session))
              : Effect.succeed(select(entry.session))
          }
        }
        return Effect.map(demand(false), select)
      })
    const get = serve(identity)

    const invalidateWhere = (predicate: (entry: Entry) => boolean) =>
      locked(Effect.gen(function*() {
        const s = yield* readState
        if (s.entry === undefined || !predicate(s.entry)) return
        yield* writeState({ ...s, entry: undefined })
        if (s.flight === undefined) yield* setStatus("Expired")
        yield* Effect.logInfo("Kaltura session invalidated").pipe(
          Effect.annotateLogs({ generation: s.entry.session.generation })
        )
      }))

    const getWith = (options: { readonly minRemaining: Duration.DurationInput }) =>
      Effect.gen(function*() {
        const minRemaining = Duration.toMillis(options.minRemaining)
        const tooLong = (limit: string) =>
          new KalturaSessionError({
            reason: "MinRemainingTooLong",
            description: `no session can stay valid for ${Duration.format(Duration.millis(minRemaining))}: ${limit}`
          })
        const requested = Option.getOrUndefined(settings.expiry)
        if (requested !== undefined && minRemaining > requested * 1000) {
          return yield* tooLong(`the requested expiry is ${requested} s`)
        }
        const session = yield* get
        const entry = (yield* readState).entry
        const lifetime = entry?.lifetime ?? session.expiresAt - session.obtainedAt
        if (minRemaining > lifetime - hardMarginOf(lifetime, hardMarginMillis)) {
          return yield* tooLong(`the server grants ${Math.floor(lifetime / 1000)} s`)
        }
        if (session.expiresAt - (yield* Clock.currentTimeMillis) >= minRemaining) return session
        const renewed = yield* demand(true)
        if (renewed.expiresAt - (yield* Clock.currentTimeMillis) >= minRemaining) return renewed
        return yield* tooLong("the renewed session is still too short")
      })

    return AppTokenSession.of({
      get,
      getWith,
      ks: serve((session) => session.ks),
      refresh: demand(true),
      invalidate: invalidateWhere(() => true),
      invalidateGeneration: (generation) => invalidateWhere((entry) => entry.session.generation === generation),
      status: SubscriptionRef.get(statusRef),
      statusChanges: statusRef.changes,
      rotations: Stream.fromPubSub(rotationHub)
    })
  }).pipe(
    Effect.annotateLogs({ "kaltura.partner_id": settings.partnerId, "kaltura.app_token_id": settings.appTokenId })
  )

/**
 * Builds the session for the configured App Token on the services in context. Step 1 uses the
 * `WidgetSession` service when one is provided (for instance `WidgetSession.layerTest`), otherwise
 * `session.startWidgetSession` through the transport.
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (
  options?: Options
): Effect.Effect<
  Service,
  never,
  KalturaConfig | KalturaApi.KalturaApi | TokenHasher.TokenHasher | Scope.Scope
> =>
  Effect.gen(function*() {
    const settings = yield* KalturaConfig
    const api = yield* KalturaApi.KalturaApi
    const hasher = yield* TokenHasher.TokenHasher
    // optional, as OpenAiConfig is in Effect's AI packages: a provided WidgetSession (e.g. layerTest) is used
    const widgetSession = yield* Effect.serviceOption(WidgetSession.WidgetSession)
    return yield* makeLifecycle(
      acquire({
        api,
        hasher,
        settings,
        widgetSession: Option.getOrUndefined(widgetSession),
        widgetExpiry: options?.widgetExpiry ?? defaults.widgetExpiry,
        hardMarginMillis: Duration.toMillis(options?.hardMargin ?? defaults.hardMargin)
      }),
      settings,
      options
    )
  })

/**
 * The session as a layer. Requires the configuration, the transport and a hasher (the Node package's
 * `AppTokenLive` provides them all).
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer = (
  options?: Options
): Layer.Layer<AppTokenSession, never, KalturaConfig | KalturaApi.KalturaApi | TokenHasher.TokenHasher> =>
  Layer.scoped(AppTokenSession, make(options))

/**
 * A session service that always hands out one fixed session and never calls Kaltura: for tests of code
 * that needs a KS. `refresh` bumps the generation.
 *
 * @since 0.1.0
 * @category Testing
 */
export const layerTest = (session: {
  readonly ks: string
  readonly partnerId?: number | undefined
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
        userId: session.userId ?? "",
        sessionType: session.sessionType ?? 0,
        privileges: session.privileges ?? "",
        expiry: Math.floor((now + lifetime) / 1000),
        expiresAt: now + lifetime,
        obtainedAt: now,
        generation: 1
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
