/**
 * The driver of the session state machine: it holds the state, the lock, its timer (in a scheduler that may serve
 * many sessions), the deferreds of the callers waiting for a flight, the status and rotation hubs and the metrics,
 * feeds events to `step` and carries out its commands. Every decision is the machine's; the cache-hit path reads
 * the state without the lock. What only some users need (the hubs, the metric handles) is created on first use, so
 * that a session costs little to build and to hold.
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
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Random from "effect/Random"
import type * as Redacted from "effect/Redacted"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { AppTokenSessionError, Service, Session, Status } from "../AppTokenSession.js"
import { scrub } from "../KalturaError.js"
import * as KalturaMetrics from "../KalturaMetrics.js"
import type { Lease, StoredSession } from "../SessionStore.js"
import type { Acquire } from "./acquire.js"
import { fingerprint } from "./fingerprint.js"
import type * as Scheduler from "./scheduler.js"
import * as Machine from "./sessionMachine.js"
import { withoutCallerSpan } from "./tracing.js"

/** A `SessionStore` bound to one session's settings. */
export interface BoundStore {
  readonly read: Effect.Effect<Option.Option<StoredSession>>
  readonly write: (session: StoredSession) => Effect.Effect<boolean>
  readonly deleteIfSame: (ks: Redacted.Redacted<string>) => Effect.Effect<boolean>
  readonly lease: (ttlMillis: number) => Effect.Effect<Option.Option<Lease>>
}

/** A session and the handles to end it. */
export interface Driver {
  readonly service: Service
  /** Stops handing out sessions: callers waiting for a running acquisition still get its result. */
  readonly evict: Effect.Effect<void>
  /** Ends the session: every waiting caller, and every later one, gets `KalturaSessionError` (`Closed`). */
  readonly close: Effect.Effect<void>
  /** The session `get` would serve at once at `now` (the cache-hit path), if any: for callers on a hot path. */
  readonly peek: (now: number) => Session | undefined
}

const statusCode: Record<Status, number> = { Fresh: 0, Refreshing: 1, Degraded: 2, Failed: 3, Expired: 4 }
const getDemand: Machine.Demand = { _tag: "Get" }

const outcomeOf = (exit: Exit.Exit<Machine.Outcome, AppTokenSessionError>): Machine.Outcome => {
  if (Exit.isSuccess(exit)) return exit.value
  const failure = Cause.failureOption(exit.cause)
  if (failure._tag === "Some") return { _tag: "Failure", error: failure.value }
  const defect = Cause.squash(exit.cause)
  return { _tag: "Defect", description: scrub(defect instanceof Error ? defect.message : String(defect)) }
}

/**
 * Runs one session. Acquisitions run in `scope`; the timer is one of `scheduler`'s. `onRelease` runs (in its own
 * fiber) once an evicted session has nothing left to do. The owner closes the session with `close` (e.g. when its
 * scope closes).
 */
export const make = (deps: {
  readonly policy: Machine.Policy
  readonly acquire: Acquire
  readonly scope: Scope.Scope
  readonly scheduler: Scheduler.Scheduler
  readonly onRelease?: Effect.Effect<void> | undefined
  readonly metricLabels: ReadonlyArray<MetricLabel.MetricLabel>
  /** The shared session store, bound to this session's settings (none: the policy says `store: false`). */
  readonly store?: BoundStore | undefined
}): Effect.Effect<Driver> =>
  Effect.sync(() => {
    const { policy, scope } = deps
    const annotations = { partner_id: policy.partnerId, app_token_id: policy.appTokenId }
    const spanAttributes = { "kaltura.partner_id": policy.partnerId, "kaltura.app_token_id": policy.appTokenId }
    const labels = deps.metricLabels
    const metrics = () => makeMetrics(labels)

    // A plain variable: it changes only under `lock`, and the cache-hit path reads it in one step.
    let state = Machine.initial
    const lock = Effect.unsafeMakeSemaphore(1)
    const waiters = new Map<number, Deferred.Deferred<Machine.FlightResult>>()
    const leases = new Map<number, Lease>()
    const store = deps.store
    // a store operation: bounded and never failing (the store degrades to a miss), in the session's scope
    const background = (effect: Effect.Effect<unknown>) =>
      Effect.asVoid(Effect.forkIn(withoutCallerSpan(Effect.interruptible(effect)), scope))
    // A store update (write, delete, lease release): not tied to the scope, and awaited by `close`, so that a process
    // that gets a KS and exits at once (a CLI) still leaves it in the store. Each is bounded by the store's timeout.
    const unsettled = new Set<Fiber.RuntimeFiber<unknown>>()
    const settled = (effect: Effect.Effect<unknown>) =>
      Effect.map(Effect.forkDaemon(withoutCallerSpan(Effect.interruptible(effect))), (fiber) => {
        unsettled.add(fiber)
        fiber.addObserver(() => unsettled.delete(fiber))
        return fiber
      })
    // The last write: a lease is released only once it has landed, or another process could read the store between
    // the release and the write, find nothing, take the lease and acquire a second KS.
    let lastWrite: Fiber.RuntimeFiber<unknown> | undefined
    const timer = deps.scheduler.timer(Effect.suspend(() => Effect.asVoid(transition({ _tag: "Tick" }))))
    let published: Status = "Expired"
    let statusHub: PubSub.PubSub<Status> | undefined
    let rotationHub: PubSub.PubSub<Session> | undefined

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
            Metric.increment(replaced ? metrics().refreshed : metrics().started),
            Metric.set(metrics().timeToExpiry, Math.max(0, (session.expiresAt - now) / 1000)),
            rotationHub === undefined ? Effect.void : PubSub.publish(rotationHub, session),
            log("Debug", replaced ? "Kaltura session refreshed" : "Kaltura session obtained", {
              generation: session.generation,
              source: session.source,
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
          return deps.onRelease === undefined ? Effect.void : Effect.asVoid(Effect.forkDaemon(deps.onRelease))
        case "StoreRead":
          return store === undefined ? Effect.void : background(
            Effect.flatMap(Effect.zip(store.read, Random.next), ([entry, random]) =>
              transition({
                _tag: "StoreRead",
                flightId: command.flightId,
                entry: Option.getOrUndefined(entry),
                random
              }))
          )
        case "StoreLease":
          return store === undefined ? Effect.void : background(
            Effect.flatMap(store.lease(policy.leaseTtl), (lease) => {
              if (Option.isSome(lease)) leases.set(command.flightId, lease.value)
              return transition({ _tag: "StoreLeased", flightId: command.flightId, leased: Option.isSome(lease) })
            })
          )
        case "StoreRelease": {
          const lease = leases.get(command.flightId)
          leases.delete(command.flightId)
          if (lease === undefined) return Effect.void
          const written = lastWrite
          return Effect.asVoid(
            settled(written === undefined ? lease.release : Effect.zipRight(Fiber.await(written), lease.release))
          )
        }
        case "StoreWrite":
          return store === undefined ? Effect.void : Effect.map(settled(store.write(command.session)), (fiber) => {
            lastWrite = fiber
            fiber.addObserver(() => {
              if (lastWrite === fiber) lastWrite = undefined
            })
          })
        case "StoreDelete":
          return store === undefined ? Effect.void : Effect.asVoid(settled(store.deleteIfSame(command.ks)))
      }
    }

    const publishStatus = (now: number): Effect.Effect<void> => {
      const status = Machine.statusOf(state, now)
      if (status === published) return Effect.void
      published = status
      return Effect.all([
        statusHub === undefined ? Effect.void : PubSub.publish(statusHub, status),
        Metric.set(metrics().status, statusCode[status]),
        log("Debug", `Kaltura session status: ${status}`)
      ], { discard: true })
    }

    /** Feeds one event to the machine under the lock; returns the answer to a demand and its deferred. */
    function transition(event: Machine.Event) {
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
        yield* timer.set(Machine.wakeAt(state, now))
        yield* publishStatus(now)
        return { answer, deferred }
      })))
    }

    // One acquisition in its own root span (it serves every caller), with the transition that records its outcome
    // inside it, so that the lifecycle's log lines about it are events of that span; the span fails with it.
    function flight(flightId: number, widget: Machine.Flight["widget"]): Effect.Effect<void> {
      return deps.acquire(widget).pipe(
        Effect.map((acquired): Machine.Outcome => ({ _tag: "Success", ...acquired })),
        Metric.trackDuration(metrics().duration),
        Effect.exit,
        Effect.zip(Random.next),
        Effect.flatMap(([exit, random]) =>
          Effect.zipRight(transition({ _tag: "Settled", flightId, outcome: outcomeOf(exit), random }), exit)
        ),
        Effect.annotateLogs(annotations),
        Effect.withSpan("AppTokenSession.refresh", {
          root: true,
          attributes: { ...spanAttributes, "kaltura.flight": flightId },
          captureStackTrace: false
        }),
        Effect.ignore,
        withoutCallerSpan
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
            // the caller's trace shows what it waited for: a span naming the flight (the refresh span's attribute)
            return Effect.flatMap(
              Deferred.await(replied.deferred!).pipe(
                Effect.withSpan("AppTokenSession.wait", {
                  attributes: { ...spanAttributes, "kaltura.flight": answer.flightId },
                  captureStackTrace: false
                })
              ),
              (result) =>
                Effect.clockWith((clock) =>
                  Either.match(Machine.resolve(request, result, clock.unsafeCurrentTimeMillis()), {
                    onLeft: Effect.fail,
                    onRight: Effect.succeed
                  })
                )
            )
        }
      })

    // The cache-hit path: no lock, no span, no metric; one clock read and a comparison (the machine's own rule
    // for serving a held KS at once: valid and before the hard margin).
    const peek = (now: number): Session | undefined => {
      const held = state.held
      return held !== undefined && now < held.hardAt ? held.session : undefined
    }
    const serve = <A>(select: (session: Session) => A): Effect.Effect<A, AppTokenSessionError> =>
      Effect.clockWith((clock) => {
        const session = peek(clock.unsafeCurrentTimeMillis())
        return session !== undefined ? Effect.succeed(select(session)) : Effect.map(demand(getDemand), select)
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

    // The hubs exist only once someone subscribes: created synchronously, so that two first subscribers share one.
    const statusHubOf = () => {
      if (statusHub === undefined) {
        statusHub = Effect.runSync(PubSub.unbounded<Status>())
      }
      return statusHub
    }
    const rotationHubOf = () => {
      if (rotationHub === undefined) {
        rotationHub = Effect.runSync(PubSub.unbounded<Session>())
      }
      return rotationHub
    }
    const makeStatusChanges = (): Stream.Stream<Status> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const subscription = yield* PubSub.subscribe(statusHubOf())
        return Stream.concat(
          Stream.sync(() => published),
          Stream.fromQueue(subscription)
        )
      })).pipe(Stream.changes)
    const makeRotations = (): Stream.Stream<Session> =>
      Stream.unwrapScoped(Effect.suspend(() => Effect.map(PubSub.subscribe(rotationHubOf()), Stream.fromQueue)))

    // Everything but the cache-hit path is built on use (getters), so that a held session costs little memory.
    const service: Service = {
      get: serve((session) => session),
      ks: serve((session) => session.ks),
      getWith,
      get refresh() {
        return demand({ _tag: "Refresh" })
      },
      get invalidate() {
        return Effect.asVoid(transition({ _tag: "Invalidate", generation: undefined }))
      },
      invalidateGeneration: (generation) => Effect.asVoid(transition({ _tag: "Invalidate", generation })),
      get status() {
        return Effect.clockWith((clock) => Effect.succeed(Machine.statusOf(state, clock.unsafeCurrentTimeMillis())))
      },
      get statusChanges() {
        return makeStatusChanges()
      },
      get rotations() {
        return makeRotations()
      }
    }
    return {
      service,
      peek,
      get evict() {
        return Effect.asVoid(transition({ _tag: "Close", reason: "Evicted" }))
      },
      get close() {
        return Effect.zipRight(
          transition({ _tag: "Close", reason: "Closed" }),
          Effect.suspend(() =>
            Effect.all([
              statusHub === undefined ? Effect.void : PubSub.shutdown(statusHub),
              rotationHub === undefined ? Effect.void : PubSub.shutdown(rotationHub),
              unsettled.size === 0 ? Effect.void : Fiber.awaitAll(Array.from(unsettled))
            ], { discard: true })
          )
        )
      }
    }
  })

const buildMetrics = (labels: ReadonlyArray<MetricLabel.MetricLabel>) => ({
  started: Metric.taggedWithLabels(KalturaMetrics.sessionsStarted, labels),
  refreshed: Metric.taggedWithLabels(KalturaMetrics.sessionsRefreshed, labels),
  duration: Metric.taggedWithLabels(KalturaMetrics.refreshDuration, labels),
  timeToExpiry: Metric.taggedWithLabels(KalturaMetrics.timeToExpiry, labels),
  status: Metric.taggedWithLabels(KalturaMetrics.status, labels)
})

// Sessions given the same label array (all keyed sessions) share one set of metric handles.
const metricsByLabels = new WeakMap<ReadonlyArray<MetricLabel.MetricLabel>, ReturnType<typeof buildMetrics>>()
const makeMetrics = (labels: ReadonlyArray<MetricLabel.MetricLabel>) => {
  let metrics = metricsByLabels.get(labels)
  if (metrics === undefined) {
    metrics = buildMetrics(labels)
    metricsByLabels.set(labels, metrics)
  }
  return metrics
}
