/**
 * The driver of the session state machine: it holds the state, the lock, the timer fiber, the deferreds of the
 * callers waiting for a flight, the rotation hub and the metrics, feeds events to `step` and carries out its
 * commands. Every decision is the machine's; the cache-hit path reads the state without the lock.
 *
 * Internal to the package: not part of its public API.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as MetricLabel from "effect/MetricLabel"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type { AppTokenSessionError, Service, Session, Status } from "../AppTokenSession.js"
import { scrub } from "../KalturaError.js"
import * as KalturaMetrics from "../KalturaMetrics.js"
import type { Acquire } from "./acquire.js"
import { fingerprint } from "./fingerprint.js"
import * as Machine from "./sessionMachine.js"

/** A session and the handle to evict it. */
export interface Driver {
  readonly service: Service
  /** Stops handing out sessions: callers waiting for a running acquisition still get its result. */
  readonly evict: Effect.Effect<void>
}

const statusCode: Record<Status, number> = { Fresh: 0, Refreshing: 1, Degraded: 2, Failed: 3, Expired: 4 }

/** Effect's scheduler drops timers beyond 2^31-1 ms (~24.8 days): never sleep more than a day at once. */
const maxSleepMillis = 86_400_000

const sleepUntil = (at: number): Effect.Effect<void> =>
  Effect.flatMap(Clock.currentTimeMillis, (now) => {
    const remaining = Math.ceil(at - now)
    return remaining <= 0
      ? Effect.void
      : Effect.zipRight(Effect.sleep(Duration.millis(Math.min(remaining, maxSleepMillis))), sleepUntil(at))
  })

const outcomeOf = (exit: Exit.Exit<Machine.Outcome, AppTokenSessionError>): Machine.Outcome => {
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") return { _tag: "Failure", error: failure.value }
  const defect = Cause.squash(exit.cause)
  return { _tag: "Defect", description: scrub(defect instanceof Error ? defect.message : String(defect)) }
}

/**
 * Runs one session. Acquisitions and the timer run in `scope`; `release` is run (in its own fiber) once an
 * evicted session has nothing left to do. Closing `scope` closes the session: waiters get a typed error.
 */
export const make = (deps: {
  readonly policy: Machine.Policy
  readonly acquire: Acquire
  readonly scope: Scope.Scope
  readonly release: Effect.Effect<void>
  readonly metricLabels: ReadonlyArray<MetricLabel.MetricLabel>
}): Effect.Effect<Driver> =>
  Effect.gen(function*() {
    const { policy, scope } = deps
    const annotations = { partner_id: policy.partnerId, app_token_id: policy.appTokenId }
    const spanAttributes = { "kaltura.partner_id": policy.partnerId, "kaltura.app_token_id": policy.appTokenId }
    const labels = deps.metricLabels
    const metrics = {
      started: Metric.taggedWithLabels(KalturaMetrics.sessionsStarted, labels),
      refreshed: Metric.taggedWithLabels(KalturaMetrics.sessionsRefreshed, labels),
      duration: Metric.taggedWithLabels(KalturaMetrics.refreshDuration, labels),
      timeToExpiry: Metric.taggedWithLabels(KalturaMetrics.timeToExpiry, labels),
      status: Metric.taggedWithLabels(KalturaMetrics.status, labels)
    }

    // A plain variable: it changes only under `lock`, and the cache-hit path reads it in one step.
    let state = Machine.initial
    const lock = yield* Effect.makeSemaphore(1)
    const waiters = new Map<number, Deferred.Deferred<Machine.FlightResult>>()
    let timer: { readonly at: number; readonly token: number; readonly fiber: Fiber.RuntimeFiber<void> } | undefined
    let timerTokens = 0
    let published: Status = "Expired"
    const statusRef = yield* SubscriptionRef.make<Status>(published)
    const rotations = yield* PubSub.unbounded<Session>()

    const log = (level: "Debug" | "Warning", message: string, extra?: Record<string, unknown>) =>
      (level === "Debug" ? Effect.logDebug(message) : Effect.logWarning(message)).pipe(
        Effect.annotateLogs({ ...annotations, ...extra })
      )

    const run = (command: Machine.Command, now: number): Effect.Effect<void> => {
      switch (command._tag) {
        case "Reply":
          return Effect.void
        case "Acquire":
          return Effect.asVoid(Effect.forkIn(Effect.interruptible(flight(command.flightId, command.widget)), scope))
        case "Complete": {
          const deferred = waiters.get(command.flightId)
          if (deferred === undefined) return Effect.void
          waiters.delete(command.flightId)
          return Deferred.succeed(deferred, command.result)
        }
        case "Obtained": {
          const { replaced, session } = command
          return Effect.all([
            Metric.increment(replaced ? metrics.refreshed : metrics.started),
            Metric.set(metrics.timeToExpiry, Math.max(0, (session.expiresAt - now) / 1000)),
            PubSub.publish(rotations, session),
            log("Debug", replaced ? "Kaltura session refreshed" : "Kaltura session obtained", {
              generation: session.generation,
              ks: fingerprint(session.ks),
              expires_in_seconds: Math.round((session.expiresAt - now) / 1000)
            })
          ], { discard: true })
        }
        case "AttemptFailed": {
          const { error } = command
          const code = error._tag === "KalturaApiError" ? error.code : ""
          return Effect.zipRight(
            Metric.increment(Metric.taggedWithLabels(KalturaMetrics.sessionsFailed, [
              ...labels,
              MetricLabel.make("error", error._tag),
              MetricLabel.make("code", code)
            ])),
            log("Warning", `Kaltura session attempt failed: ${error.message}`, {
              error: error._tag,
              ...(code === "" ? {} : { code }),
              permanent: command.permanent,
              ...(command.widgetDropped ? { widget_session: "dropped" } : {}),
              ...(command.defect === undefined ? {} : { defect: command.defect })
            })
          )
        }
        case "FellBack":
          return log("Debug", "Kaltura rejected the reused widget KS; starting a new widget session")
        case "Invalidated":
          return log("Debug", "Kaltura session invalidated", {
            ...(command.generation === undefined ? {} : { generation: command.generation }),
            widget_session: command.widgetDropped ? "dropped" : "kept"
          })
        case "DateIgnored":
          return command.skew === undefined
            ? log("Warning", "Kaltura's response has no Date header: clock skew cannot be corrected")
            : log(
              "Warning",
              "Kaltura's Date header is too far from the local clock and is ignored: session lifetimes are measured " +
                "on the local clock, capped by the requested expiry",
              { skew_seconds: Math.round(command.skew / 1000) }
            )
        case "Release":
          return Effect.asVoid(Effect.forkDaemon(deps.release))
      }
    }

    // Keeps exactly one timer, at the machine's next wake-up.
    const reschedule = (now: number, firedToken: number | undefined): Effect.Effect<void> => {
      if (timer !== undefined && timer.token === firedToken) timer = undefined
      const at = Machine.wakeAt(state, now)
      if (timer?.at === at) return Effect.void
      const replaced = timer
      timer = undefined
      const token = ++timerTokens
      const tick = Effect.zipRight(sleepUntil(at ?? 0), Effect.asVoid(transition({ _tag: "Tick" }, token)))
      return Effect.zipRight(
        replaced === undefined ? Effect.void : Fiber.interruptFork(replaced.fiber),
        at === undefined ? Effect.void : Effect.map(Effect.forkIn(Effect.interruptible(tick), scope), (fiber) => {
          timer = { at, token, fiber }
        })
      )
    }

    const publishStatus = (now: number): Effect.Effect<void> => {
      const status = Machine.statusOf(state, now)
      if (status === published) return Effect.void
      published = status
      return Effect.all([
        SubscriptionRef.set(statusRef, status),
        Metric.set(metrics.status, statusCode[status]),
        log("Debug", `Kaltura session status: ${status}`)
      ], { discard: true })
    }

    /** Feeds one event to the machine under the lock; returns the answer to a demand and its deferred. */
    function transition(event: Machine.Event, firedToken?: number) {
      return lock.withPermits(1)(Effect.uninterruptible(Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const next = Machine.step(policy, state, event, now)
        state = next.state
        let answer: Machine.Answer | undefined
        for (const command of next.commands) {
          if (command._tag === "Reply") answer = command.answer
          yield* run(command, now)
        }
        let deferred: Deferred.Deferred<Machine.FlightResult> | undefined
        if (answer?._tag === "Await") {
          deferred = waiters.get(answer.flightId)
          if (deferred === undefined) {
            deferred = yield* Deferred.make<Machine.FlightResult>()
            waiters.set(answer.flightId, deferred)
          }
        }
        yield* reschedule(now, firedToken)
        yield* publishStatus(now)
        return { answer, deferred }
      })))
    }

    function flight(flightId: number, widget: Machine.Flight["widget"]): Effect.Effect<void> {
      return deps.acquire(widget).pipe(
        Effect.map((acquired): Machine.Outcome => ({ _tag: "Success", ...acquired })),
        Metric.trackDuration(metrics.duration),
        Effect.withSpan("AppTokenSession.refresh", { root: true, attributes: spanAttributes }),
        Effect.annotateLogs(annotations),
        Effect.exit,
        Effect.zip(Random.next),
        Effect.flatMap(([exit, random]) => transition({ _tag: "Settled", flightId, outcome: outcomeOf(exit), random })),
        Effect.asVoid
      )
    }

    const demand = (request: Machine.Demand): Effect.Effect<Session, AppTokenSessionError> =>
      Effect.flatMap(transition({ _tag: "Demand", demand: request }), (replied) => {
        const answer = replied.answer! // the machine always replies to a demand
        switch (answer._tag) {
          case "Serve":
            return Effect.succeed(answer.session)
          case "Fail":
            return Effect.fail(answer.error)
          case "Await":
            return Effect.flatMap(Deferred.await(replied.deferred!), (result) =>
              Effect.clockWith((clock) =>
                Either.match(Machine.resolve(request, result, clock.unsafeCurrentTimeMillis()), {
                  onLeft: Effect.fail,
                  onRight: Effect.succeed
                })
              ))
        }
      })

    // The cache-hit path: no lock, no span, no metric; one clock read and a comparison (the machine's own rule
    // for serving a held KS at once: valid and before the hard margin).
    const get = demand({ _tag: "Get" })
    const serve = <A>(select: (session: Session) => A): Effect.Effect<A, AppTokenSessionError> =>
      Effect.clockWith((clock) => {
        const held = state.held
        return held !== undefined && clock.unsafeCurrentTimeMillis() < held.hardAt
          ? Effect.succeed(select(held.session))
          : Effect.map(get, select)
      })

    const getWith = (options: { readonly minRemaining: Duration.DurationInput }) => {
      const minRemaining = Duration.toMillis(options.minRemaining)
      return Effect.clockWith((clock) => {
        const held = state.held
        const now = clock.unsafeCurrentTimeMillis()
        return held !== undefined && now < held.hardAt && held.session.expiresAt - now >= minRemaining
          ? Effect.succeed(held.session)
          : demand({ _tag: "GetWith", minRemaining })
      })
    }

    yield* Scope.addFinalizer(
      scope,
      Effect.zipRight(transition({ _tag: "Close", reason: "Closed" }), PubSub.shutdown(rotations))
    )

    return {
      service: {
        get: serve((session) =>
          session
        ),
        getWith,
        ks: serve((session) => session.ks),
        refresh: demand({ _tag: "Refresh" }),
        invalidate: Effect.asVoid(transition({ _tag: "Invalidate", generation: undefined })),
        invalidateGeneration: (generation) => Effect.asVoid(transition({ _tag: "Invalidate", generation })),
        status: Effect.clockWith((clock) => Effect.succeed(Machine.statusOf(state, clock.unsafeCurrentTimeMillis()))),
        statusChanges: statusRef.changes,
        rotations: Stream.fromPubSub(rotations)
      },
      evict: Effect.asVoid(transition({ _tag: "Close", reason: "Evicted" }))
    }
  })
