/**
 * The session lifecycle as a pure state machine. `step(policy, state, event, now)` returns the next state and the
 * commands the driver carries out; the status (`statusOf`) and the next time the machine needs to be woken
 * (`wakeAt`) are derived from the state and the clock, never stored. Nothing here reads a clock, draws a random
 * number or runs an effect: time and randomness come in as data, so every transition can be tested as a table.
 *
 * The rules are those of `docs/lifecycle.md`; each branch below names the rule it implements.
 *
 * Internal to the package: not part of its public API.
 */
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Redacted from "effect/Redacted"
import type { AppTokenSessionError, Options, Session, Status } from "../AppTokenSession.js"
import type { Response } from "../KalturaApi.js"
import { KalturaSessionError, KnownCode } from "../KalturaError.js"
import type { StoredSession } from "../SessionStore.js"
import type { WidgetSessionInfo } from "../WidgetSession.js"
import type { SessionInfo } from "./schemas.js"

// ---------------------------------------------------------------------------------------------------------
// Policy
// ---------------------------------------------------------------------------------------------------------

/** Every option resolved once, in milliseconds. */
export interface Policy {
  readonly partnerId: number
  readonly appTokenId: string
  /** The widget stored widget sessions are for. */
  readonly widgetId: string
  /** The lifetime requested from the server, if any. */
  readonly requestedLifetime: number | undefined
  readonly windowMin: number
  readonly windowMax: number
  /** The hard margin is min(this, 10% of the lifetime). */
  readonly hardMargin: number
  readonly minInterval: number
  readonly cooldown: number
  readonly retryBase: number
  readonly retryMax: number
  /** Requested for widget sessions, in seconds. */
  readonly widgetExpiry: number
  /** A `Date` header further than this from the local clock is ignored. */
  readonly maxDateSkew: number
  /** Whether a session store is consulted and written (`SessionStore`, not `SessionStore.none`). */
  readonly store: boolean
  /** How long a refresh lease is held at most, and how long a process without a KS waits for its holder. */
  readonly leaseTtl: number
  /** How often a process waiting for another holder's result reads the store. */
  readonly storePoll: number
}

/** The defaults of {@link Options}. */
export const defaults = {
  refreshWindow: { min: 0.75, max: 0.85 },
  hardMargin: Duration.seconds(60),
  minRefreshInterval: Duration.seconds(5),
  failureCooldown: Duration.seconds(60),
  retryBase: Duration.seconds(2),
  retryMax: Duration.minutes(5),
  widgetExpiry: 86400,
  maxDateSkew: Duration.minutes(10),
  storeLease: Duration.seconds(30),
  storePoll: Duration.millis(500)
} as const

const hardMarginFraction = 0.1
const clampFraction = (n: number) => Math.min(Math.max(n, 0), 1)
const millisOf = (input: Duration.DurationInput) => Duration.toMillis(input)

/** Resolves the options of one session. */
export const policyOf = (
  settings: {
    readonly partnerId: number
    readonly appTokenId: string
    readonly widgetId?: string | undefined
    readonly expiry: number | undefined
  },
  options: Options | undefined,
  store = false
): Policy => {
  const window = options?.refreshWindow ?? defaults.refreshWindow
  const windowMin = clampFraction(window.min)
  return {
    partnerId: settings.partnerId,
    appTokenId: settings.appTokenId,
    widgetId: settings.widgetId ?? `_${settings.partnerId}`,
    requestedLifetime: settings.expiry === undefined ? undefined : settings.expiry * 1000,
    windowMin,
    windowMax: Math.max(windowMin, clampFraction(window.max)),
    hardMargin: millisOf(options?.hardMargin ?? defaults.hardMargin),
    minInterval: millisOf(options?.minRefreshInterval ?? defaults.minRefreshInterval),
    cooldown: millisOf(options?.failureCooldown ?? defaults.failureCooldown),
    retryBase: millisOf(options?.retryBase ?? defaults.retryBase),
    retryMax: millisOf(options?.retryMax ?? defaults.retryMax),
    widgetExpiry: options?.widgetExpiry ?? defaults.widgetExpiry,
    maxDateSkew: millisOf(options?.maxDateSkew ?? defaults.maxDateSkew),
    store,
    leaseTtl: millisOf(options?.storeLease ?? defaults.storeLease),
    storePoll: Math.max(1, millisOf(options?.storePoll ?? defaults.storePoll))
  }
}

/** min(the policy's hard margin, 10% of the lifetime). */
export const hardMarginOf = (policy: Policy, lifetime: number): number =>
  Math.max(0, Math.min(policy.hardMargin, lifetime * hardMarginFraction))

// ---------------------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------------------

/** The session in hand with its schedule. */
export interface Held {
  readonly session: Session
  readonly lifetime: number
  readonly refreshAt: number
  readonly hardAt: number
  /** Server time minus local time measured when it was obtained (0 without a usable `Date` header), for the store. */
  readonly clockOffset: number
}

/**
 * Where a flight is: `scheduled` (waiting out the minimum interval), `reading` the store (first, and again once the
 * lease is ours), `leasing` (asking the store for the refresh lease), `waiting` for another holder of the lease
 * (reading the store now and then), `acquiring` from Kaltura.
 */
export type Stage = "scheduled" | "reading" | "leasing" | "waiting" | "acquiring"

/** The one attempt to obtain a session. */
export interface Flight {
  readonly id: number
  /** When the attempt starts: later than now while it waits out the minimum interval. */
  readonly startAt: number
  readonly stage: Stage
  /** We hold the store's refresh lease: released when the flight ends. */
  readonly leased: boolean
  /** While `waiting`: the next store read, and when to stop waiting (ask for the lease again, or acquire). */
  readonly pollAt: number | undefined
  readonly waitUntil: number | undefined
  /** The lease was asked for again after a wait ran out (its holder died): the next wait that runs out acquires. */
  readonly leaseRetried: boolean
  /** The widget session the acquisition reuses, if any. */
  readonly widget: WidgetSessionInfo | undefined
  /** The reused widget KS was rejected with `INVALID_KS` and this flight started again with a new one. */
  readonly fellBack: boolean
  /** `invalidate` ran while this flight was in progress: its widget session is not kept. */
  readonly widgetDropped: boolean
}

/** The last failed attempt. */
export interface Failure {
  readonly error: AppTokenSessionError
  readonly at: number
  readonly permanent: boolean
  /** No automatic attempt before this time: the next backoff step, or the end of the cooldown. */
  readonly notBefore: number
}

/** Why a session no longer hands out anything. */
export type ClosedReason = "Evicted" | "Closed"

/** The whole lifecycle state. */
export interface State {
  readonly phase: "Open" | ClosedReason
  readonly held: Held | undefined
  readonly flight: Flight | undefined
  /** When the last flight started (or will start); no flight starts within the minimum interval after it. */
  readonly lastStart: number
  readonly failure: Failure | undefined
  readonly consecutiveFailures: number
  readonly widget: WidgetSessionInfo | undefined
  readonly generation: number
  /** The lifetime the server granted last, for `getWith`'s "no session can live that long". */
  readonly grantedLifetime: number | undefined
  /** The server expiry of the last session held (kept after an invalidation): the store must offer a newer one. */
  readonly lastExpiry: number | undefined
  readonly nextFlightId: number
  readonly warnedNoDate: boolean
  readonly warnedDateSkew: boolean
}

/** Before the first demand. */
export const initial: State = {
  phase: "Open",
  held: undefined,
  flight: undefined,
  lastStart: Number.NEGATIVE_INFINITY,
  failure: undefined,
  consecutiveFailures: 0,
  widget: undefined,
  generation: 0,
  grantedLifetime: undefined,
  lastExpiry: undefined,
  nextFlightId: 1,
  warnedNoDate: false,
  warnedDateSkew: false
}

// ---------------------------------------------------------------------------------------------------------
// Events and commands
// ---------------------------------------------------------------------------------------------------------

/** What a caller asks for. */
export type Demand =
  | { readonly _tag: "Get" }
  | { readonly _tag: "Refresh" }
  | { readonly _tag: "GetWith"; readonly minRemaining: number }

/** How one acquisition ended. */
export type Outcome =
  | {
    readonly _tag: "Success"
    readonly response: Response<SessionInfo>
    /** The widget session the acquisition used (reused or new). */
    readonly widget: WidgetSessionInfo
  }
  | { readonly _tag: "Failure"; readonly error: AppTokenSessionError }
  | { readonly _tag: "Defect"; readonly description: string }

/** Everything that can happen to a session. */
export type Event =
  | { readonly _tag: "Demand"; readonly demand: Demand }
  /** The driver's timer fired (see {@link wakeAt}). */
  | { readonly _tag: "Tick" }
  /** `invalidate` (no generation) or `invalidateGeneration(generation)`. */
  | { readonly _tag: "Invalidate"; readonly generation: number | undefined }
  /** An acquisition ended; `random` is uniform in [0, 1), for the refresh point or the backoff jitter. */
  | { readonly _tag: "Settled"; readonly flightId: number; readonly outcome: Outcome; readonly random: number }
  /** The store answered a read (`random`: for the refresh point of a session adopted from it). */
  | {
    readonly _tag: "StoreRead"
    readonly flightId: number
    readonly entry: StoredSession | undefined
    readonly random: number
  }
  /** The store answered a lease request: `leased`, or another process holds it. */
  | { readonly _tag: "StoreLeased"; readonly flightId: number; readonly leased: boolean }
  | { readonly _tag: "Close"; readonly reason: ClosedReason }

/** The answer to a demand. */
export type Answer =
  | { readonly _tag: "Serve"; readonly session: Session }
  | { readonly _tag: "Fail"; readonly error: AppTokenSessionError }
  | { readonly _tag: "Await"; readonly flightId: number }

/** What the callers waiting for a flight are given. */
export type FlightResult =
  | { readonly _tag: "Obtained"; readonly session: Session }
  | {
    readonly _tag: "Failed"
    readonly error: AppTokenSessionError
    /** A session still valid after a transient failure, which plain `get`s are served until its deadline. */
    readonly stillValid: Session | undefined
  }

/** What the driver does after a transition. */
export type Command =
  | { readonly _tag: "Reply"; readonly answer: Answer }
  /** Start an acquisition for the flight, reusing `widget` if given. */
  | { readonly _tag: "Acquire"; readonly flightId: number; readonly widget: WidgetSessionInfo | undefined }
  /** Hand the flight's result to its waiters. */
  | { readonly _tag: "Complete"; readonly flightId: number; readonly result: FlightResult }
  | { readonly _tag: "Obtained"; readonly session: Session; readonly replaced: boolean }
  /** Read the store for the flight (answered with `StoreRead`). */
  | { readonly _tag: "StoreRead"; readonly flightId: number }
  /** Ask the store for the refresh lease (answered with `StoreLeased`). */
  | { readonly _tag: "StoreLease"; readonly flightId: number }
  /** Give the flight's lease up. */
  | { readonly _tag: "StoreRelease"; readonly flightId: number }
  /** Write a session obtained from Kaltura to the store (if newer than what it holds). */
  | { readonly _tag: "StoreWrite"; readonly session: StoredSession }
  /** Delete the store's entry if it still holds `ks` (the rejected or invalidated KS). */
  | { readonly _tag: "StoreDelete"; readonly ks: Redacted.Redacted<string> }
  | {
    readonly _tag: "AttemptFailed"
    readonly error: AppTokenSessionError
    readonly permanent: boolean
    readonly widgetDropped: boolean
    readonly defect: string | undefined
  }
  | { readonly _tag: "FellBack" }
  | { readonly _tag: "Invalidated"; readonly generation: number | undefined; readonly widgetDropped: boolean }
  | { readonly _tag: "DateIgnored"; readonly skew: number | undefined }
  /** Everything of this session is done: release its resources. */
  | { readonly _tag: "Release" }

/** A transition. */
export interface Transition {
  readonly state: State
  readonly commands: ReadonlyArray<Command>
}

// ---------------------------------------------------------------------------------------------------------
// Derived values
// ---------------------------------------------------------------------------------------------------------

/** The held session if it is still valid at `now`. */
export const validHeld = (state: State, now: number): Held | undefined =>
  state.held !== undefined && now < state.held.session.expiresAt ? state.held : undefined

/**
 * The status, derived from the state and the clock:
 * - `Refreshing`: a flight is scheduled or running, or the refresh point has passed, and a valid KS is held;
 * - `Expired`: no valid KS is held and none is obtained automatically (also while the first or next flight runs
 *   with none in hand, and once the session is closed);
 * - `Failed`: the last attempt failed permanently, whether or not a KS is still held (even past its deadline);
 * - `Degraded`: a valid KS is held and the last attempt failed transiently;
 * - `Fresh`: a valid KS is held, before its refresh point.
 */
export const statusOf = (state: State, now: number): Status => {
  if (state.phase !== "Open") return "Expired"
  const held = validHeld(state, now)
  if (state.flight !== undefined) return held !== undefined ? "Refreshing" : "Expired"
  if (state.failure?.permanent === true) return "Failed"
  if (held === undefined) return "Expired"
  if (state.failure !== undefined) return "Degraded"
  return now < held.refreshAt ? "Fresh" : "Refreshing"
}

/**
 * When the machine must next be woken with a `Tick`, if ever: a scheduled flight's start, the next automatic
 * attempt, or the deadline of a KS held while refreshing or degraded (the status changes then). Never earlier than
 * `now`; `now` itself means an attempt is due at once (a `Tick` then always starts or begins a flight).
 */
export const wakeAt = (state: State, now: number): number | undefined => {
  if (state.phase !== "Open") return undefined
  const held = validHeld(state, now)
  let next = Number.POSITIVE_INFINITY
  const consider = (at: number) => {
    next = Math.min(next, Math.max(at, now))
  }
  const flight = state.flight
  if (flight?.stage === "scheduled") consider(flight.startAt)
  if (flight?.stage === "waiting") consider(flight.pollAt!)
  const attempt = nextAttemptAt(state, now)
  if (attempt !== undefined) consider(attempt)
  if (held !== undefined && (state.flight !== undefined || state.failure?.permanent === false)) {
    consider(held.session.expiresAt)
  }
  return next === Number.POSITIVE_INFINITY ? undefined : next
}

/**
 * When the next automatic attempt is due, with no flight: the refresh point of a valid KS, or after a transient
 * failure the later of the refresh point and the next backoff step. None after a permanent failure (rule 11).
 */
const nextAttemptAt = (state: State, now: number): number | undefined => {
  const held = validHeld(state, now)
  if (state.flight !== undefined || held === undefined) return undefined
  const failure = state.failure
  if (failure === undefined) return held.refreshAt
  return failure.permanent ? undefined : Math.max(failure.notBefore, held.refreshAt)
}

/** What a caller that waited for a flight gets, given what it asked for. */
export const resolve = (
  demand: Demand,
  result: FlightResult,
  now: number
): Either.Either<Session, AppTokenSessionError> => {
  if (result._tag === "Obtained") {
    if (demand._tag !== "GetWith" || result.session.expiresAt - now >= demand.minRemaining) {
      return Either.right(result.session)
    }
    const granted = Math.floor((result.session.expiresAt - result.session.obtainedAt) / 1000)
    return Either.left(tooLong(demand.minRemaining, `the server grants ${granted} s`))
  }
  const fallback = result.stillValid
  if (demand._tag === "Refresh" || fallback === undefined || now >= fallback.expiresAt) return Either.left(result.error)
  if (demand._tag === "GetWith" && fallback.expiresAt - now < demand.minRemaining) return Either.left(result.error)
  return Either.right(fallback)
}

// ---------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------

const closedError = (reason: ClosedReason) =>
  new KalturaSessionError({
    reason,
    description: reason === "Evicted"
      ? "this session was evicted from AppTokenSessions (capacity or idle time); ask AppTokenSessions.get again"
      : "this session's layer was released (its scope closed); build the layer again to obtain a session"
  })

const tooLong = (minRemaining: number, limit: string) =>
  new KalturaSessionError({
    reason: "MinRemainingTooLong",
    description: `no session can stay valid for ${Duration.format(Duration.millis(minRemaining))}: ${limit}`
  })

const invalidSession = (description: string) =>
  new KalturaSessionError({ reason: "InvalidSession", description: `appToken.startSession: ${description}` })

// ---------------------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------------------

const reply = (state: State, answer: Answer, commands: ReadonlyArray<Command> = []): Transition => ({
  state,
  commands: [...commands, { _tag: "Reply", answer }]
})

const unchanged = (state: State): Transition => ({ state, commands: [] })

/** A widget session may be reused until its estimated end less the hard margin. */
const reusableWidget = (policy: Policy, state: State, at: number): WidgetSessionInfo | undefined => {
  const widget = state.widget
  if (widget === undefined) return undefined
  const lifetime = widget.validUntil - widget.obtainedAt
  return at < widget.validUntil - hardMarginOf(policy, lifetime) ? widget : undefined
}

/** Starts the flight now: with a store, by reading it; without, by acquiring from Kaltura. */
const begin = (policy: Policy, state: State, flight: Flight, now: number): Transition =>
  policy.store
    ? {
      state: { ...state, flight: { ...flight, stage: "reading" } },
      commands: [{ _tag: "StoreRead", flightId: flight.id }]
    }
    : acquiring(policy, state, flight, now)

/** Acquires from Kaltura, reusing a widget session that is still safely valid. */
const acquiring = (policy: Policy, state: State, flight: Flight, now: number): Transition => {
  const widget = reusableWidget(policy, state, now)
  return {
    state: { ...state, flight: { ...flight, stage: "acquiring", widget, pollAt: undefined } },
    commands: [{ _tag: "Acquire", flightId: flight.id, widget }]
  }
}

/** Rule 9: a new flight starts at most once per minimum interval; until then it is scheduled. */
const newFlight = (policy: Policy, state: State, now: number): Transition => {
  const startAt = Math.max(now, state.lastStart + policy.minInterval)
  const flight: Flight = {
    id: state.nextFlightId,
    startAt,
    stage: "scheduled",
    leased: false,
    pollAt: undefined,
    waitUntil: undefined,
    widget: undefined,
    fellBack: false,
    widgetDropped: false,
    leaseRetried: false
  }
  const scheduled: State = { ...state, flight, lastStart: startAt, nextFlightId: state.nextFlightId + 1 }
  return startAt <= now ? begin(policy, scheduled, flight, now) : unchanged(scheduled)
}

const awaitNewFlight = (policy: Policy, state: State, now: number): Transition => {
  const started = newFlight(policy, state, now)
  return reply(started.state, { _tag: "Await", flightId: started.state.flight!.id }, started.commands)
}

const onDemand = (policy: Policy, state: State, demand: Demand, now: number): Transition => {
  const held = validHeld(state, now)
  const failure = state.failure
  switch (demand._tag) {
    case "Get": {
      // rule 6: a valid KS before the hard margin is served at once, whatever happens in the background
      if (held !== undefined && now < held.hardAt) return reply(state, { _tag: "Serve", session: held.session })
      // rule 5: one flight for every caller
      if (state.flight !== undefined) return reply(state, { _tag: "Await", flightId: state.flight.id })
      // rule 8: a failure is shared for a short while (the cooldown after a permanent one), never for longer
      if (failure !== undefined && now < failure.at + (failure.permanent ? policy.cooldown : policy.minInterval)) {
        return !failure.permanent && held !== undefined
          ? reply(state, { _tag: "Serve", session: held.session })
          : reply(state, { _tag: "Fail", error: failure.error })
      }
      return awaitNewFlight(policy, state, now)
    }
    case "Refresh": {
      if (state.flight !== undefined) return reply(state, { _tag: "Await", flightId: state.flight.id })
      // at most one forced start per minimum interval: later callers get the last result
      if (now < state.lastStart + policy.minInterval) {
        if (failure !== undefined && failure.at >= state.lastStart) {
          return reply(state, { _tag: "Fail", error: failure.error })
        }
        if (held !== undefined) return reply(state, { _tag: "Serve", session: held.session })
      }
      return awaitNewFlight(policy, state, now)
    }
    case "GetWith": {
      const { minRemaining } = demand
      if (policy.requestedLifetime !== undefined && minRemaining > policy.requestedLifetime) {
        const error = tooLong(minRemaining, `the requested expiry is ${policy.requestedLifetime / 1000} s`)
        return reply(state, { _tag: "Fail", error })
      }
      const granted = state.grantedLifetime
      if (granted !== undefined && minRemaining > granted - hardMarginOf(policy, granted)) {
        const error = tooLong(minRemaining, `the server grants ${Math.floor(granted / 1000)} s`)
        return reply(state, { _tag: "Fail", error })
      }
      if (held !== undefined && now < held.hardAt && held.session.expiresAt - now >= minRemaining) {
        return reply(state, { _tag: "Serve", session: held.session })
      }
      if (state.flight !== undefined) return reply(state, { _tag: "Await", flightId: state.flight.id })
      // a session that can live long enough exists: wait out the minimum interval and obtain it
      return awaitNewFlight(policy, state, now)
    }
  }
}

const onTick = (policy: Policy, state: State, now: number): Transition => {
  const flight = state.flight
  if (flight !== undefined) {
    if (flight.stage === "scheduled" && now >= flight.startAt) return begin(policy, state, flight, now)
    // waiting for another holder of the lease: read the store again
    if (flight.stage === "waiting" && now >= flight.pollAt!) {
      return {
        state: { ...state, flight: { ...flight, stage: "reading", pollAt: undefined } },
        commands: [{ _tag: "StoreRead", flightId: flight.id }]
      }
    }
    return unchanged(state)
  }
  const due = nextAttemptAt(state, now)
  // rules 6 and 8: the proactive refresh, and background retries with backoff after a transient failure
  return due !== undefined && now >= due ? newFlight(policy, state, now) : unchanged(state)
}

const onInvalidate = (policy: Policy, state: State, generation: number | undefined): Transition => {
  // the store's entry goes too if it still holds the KS dropped here (and the widget KS with it)
  const deleted: ReadonlyArray<Command> = policy.store && state.held !== undefined
    ? [{ _tag: "StoreDelete", ks: state.held.session.ks }]
    : []
  if (generation !== undefined) {
    // the re-auth path (rule 12): only the generation the failed call used, and the widget session is kept
    if (state.held === undefined || state.held.session.generation !== generation) return unchanged(state)
    return {
      state: { ...state, held: undefined },
      commands: [...deleted, { _tag: "Invalidated", generation, widgetDropped: false }]
    }
  }
  return {
    state: {
      ...state,
      held: undefined,
      widget: undefined,
      flight: state.flight && { ...state.flight, widgetDropped: true }
    },
    commands: [...deleted, { _tag: "Invalidated", generation: state.held?.session.generation, widgetDropped: true }]
  }
}

type DateIgnored = Extract<Command, { readonly _tag: "DateIgnored" }>

interface Admitted {
  readonly held: Held
  /** Set the first time a response's `Date` header is missing or too far from the local clock. */
  readonly ignoredDate: DateIgnored | undefined
}

/** Rule 1 and 14: turns a `KalturaSessionInfo` into a held session with its schedule, or refuses it. */
const admit = (
  policy: Policy,
  state: State,
  response: Response<SessionInfo>,
  random: number
): Admitted | { readonly error: KalturaSessionError } => {
  const { receivedAt, result, sentAt, serverDate } = response
  if (result.partnerId !== policy.partnerId) {
    return { error: invalidSession(`the session is for partner ${result.partnerId}, not ${policy.partnerId}`) }
  }
  const requested = policy.requestedLifetime
  const serverNow = serverDate._tag === "Some" ? serverDate.value : undefined
  const skew = serverNow === undefined ? undefined : serverNow - receivedAt
  let lifetime: number
  let ignoredDate: DateIgnored | undefined
  if (serverNow !== undefined && Math.abs(skew!) <= policy.maxDateSkew) {
    // the Date header has one-second resolution: assume the latest server time it allows
    lifetime = result.expiry * 1000 - (serverNow + 1000)
    if (requested !== undefined && lifetime > requested + 5000) {
      return { error: invalidSession("the session lives longer than requested") }
    }
  } else {
    // no usable Date header: the lifetime on the local clock, never longer than requested
    lifetime = result.expiry * 1000 - sentAt
    if (requested !== undefined) lifetime = Math.min(lifetime, requested)
    const warned = skew === undefined ? state.warnedNoDate : state.warnedDateSkew
    if (!warned) ignoredDate = { _tag: "DateIgnored", skew }
  }
  if (!(lifetime > 0)) return { error: invalidSession("the session had already expired when it arrived") }
  const expiresAt = sentAt + lifetime
  const session: Session = {
    ks: Redacted.make(result.ks),
    partnerId: result.partnerId,
    appTokenId: policy.appTokenId,
    userId: result.userId,
    sessionType: result.sessionType,
    privileges: result.privileges,
    expiry: result.expiry,
    expiresAt,
    obtainedAt: sentAt,
    generation: state.generation + 1,
    source: "kaltura"
  }
  return { held: schedule(policy, session, random), ignoredDate }
}

/** Rule 3: the refresh point, a random fraction of the lifetime, never later than the hard margin. */
const schedule = (policy: Policy, session: Session, random: number): Held => {
  const lifetime = session.expiresAt - session.obtainedAt
  const hardAt = Math.round(session.expiresAt - hardMarginOf(policy, lifetime))
  const fraction = policy.windowMin + random * (policy.windowMax - policy.windowMin)
  return {
    session,
    lifetime,
    refreshAt: Math.min(Math.round(session.obtainedAt + lifetime * fraction), hardAt),
    hardAt,
    // what a reader elsewhere subtracts from the server's expiry to get this deadline on its own clock
    clockOffset: session.expiry * 1000 - session.expiresAt
  }
}

/**
 * A session another process stored, if it is worth adopting: for this partner, before its hard margin on our clock
 * (its deadline derived from the server's expiry and the writer's clock offset), and newer than the last session we
 * held (a forced refresh must not get back the KS it replaces).
 */
const adoptable = (policy: Policy, state: State, entry: StoredSession, random: number, now: number) => {
  if (entry.partnerId !== policy.partnerId) return undefined
  if (state.lastExpiry !== undefined && entry.expiry <= state.lastExpiry) return undefined
  const expiresAt = entry.expiry * 1000 - entry.clockOffset
  if (!(expiresAt > entry.obtainedAt)) return undefined
  const held = schedule(policy, {
    ks: entry.ks,
    partnerId: entry.partnerId,
    appTokenId: policy.appTokenId,
    userId: entry.userId,
    sessionType: entry.sessionType,
    privileges: entry.privileges,
    expiry: entry.expiry,
    expiresAt,
    obtainedAt: entry.obtainedAt,
    generation: state.generation + 1,
    source: "store"
  }, random)
  return now < held.hardAt ? held : undefined
}

/** A stored widget session as this process uses it. */
const widgetOf = (policy: Policy, entry: StoredSession): WidgetSessionInfo | undefined =>
  entry.widget === undefined ? undefined : {
    ks: entry.widget.ks,
    partnerId: entry.partnerId,
    widgetId: policy.widgetId,
    expiry: entry.widget.expiry,
    obtainedAt: entry.widget.obtainedAt,
    validUntil: entry.widget.validUntil
  }

/** What the store keeps of a session obtained here. */
const toStored = (held: Held, widget: WidgetSessionInfo | undefined): StoredSession => ({
  ks: held.session.ks,
  partnerId: held.session.partnerId,
  userId: held.session.userId,
  sessionType: held.session.sessionType,
  privileges: held.session.privileges,
  expiry: held.session.expiry,
  clockOffset: held.clockOffset,
  obtainedAt: held.session.obtainedAt,
  widget: widget === undefined
    ? undefined
    : { ks: widget.ks, expiry: widget.expiry, obtainedAt: widget.obtainedAt, validUntil: widget.validUntil }
})

/** Rule 8: jittered exponential backoff, never sooner than the minimum interval. */
const backoff = (policy: Policy, failures: number, random: number) =>
  Math.round(
    Math.max(
      policy.minInterval,
      Math.min(policy.retryMax, policy.retryBase * 2 ** Math.max(0, failures - 1)) * (0.8 + 0.4 * random)
    )
  )

/**
 * A new session held: from Kaltura (`admitted`, its widget session; written to the store, the lease given up) or
 * adopted from the store.
 */
const succeeded = (
  policy: Policy,
  state: State,
  flight: Flight,
  held: Held,
  widget: WidgetSessionInfo | undefined,
  ignoredDate: DateIgnored | undefined
): Transition => {
  const previous = state.held
  const replaced = previous !== undefined && previous.session.expiresAt > held.session.obtainedAt
  const kept = flight.widgetDropped ? undefined : widget ?? state.widget
  const fromKaltura = held.session.source === "kaltura"
  return {
    state: {
      ...state,
      held,
      flight: undefined,
      failure: undefined,
      consecutiveFailures: 0,
      widget: kept,
      generation: held.session.generation,
      grantedLifetime: held.lifetime,
      lastExpiry: held.session.expiry,
      warnedNoDate: state.warnedNoDate || (ignoredDate !== undefined && ignoredDate.skew === undefined),
      warnedDateSkew: state.warnedDateSkew || (ignoredDate !== undefined && ignoredDate.skew !== undefined)
    },
    commands: [
      ...(ignoredDate === undefined ? [] : [ignoredDate]),
      ...(policy.store && fromKaltura ? [{ _tag: "StoreWrite", session: toStored(held, kept) } as const] : []),
      ...released(flight),
      { _tag: "Complete", flightId: flight.id, result: { _tag: "Obtained", session: held.session } },
      { _tag: "Obtained", session: held.session, replaced }
    ]
  }
}

/** The lease of a flight that ends, given up. */
const released = (flight: Flight): ReadonlyArray<Command> =>
  flight.leased ? [{ _tag: "StoreRelease", flightId: flight.id }] : []

const failed = (
  policy: Policy,
  state: State,
  flight: Flight,
  error: AppTokenSessionError,
  random: number,
  now: number,
  defect: string | undefined
): Transition => {
  const permanent = !error.isTransient
  const failures = state.consecutiveFailures + 1
  const held = validHeld(state, now)
  // a permanent error drops the widget session: it may be the cause (rule 7 of the issue: never reused for 24 h)
  const widgetDropped = permanent && state.widget !== undefined
  return {
    state: {
      ...state,
      flight: undefined,
      failure: {
        error,
        at: now,
        permanent,
        notBefore: now + (permanent ? policy.cooldown : backoff(policy, failures, random))
      },
      consecutiveFailures: failures,
      widget: permanent ? undefined : state.widget
    },
    commands: [
      ...released(flight),
      {
        _tag: "Complete",
        flightId: flight.id,
        result: { _tag: "Failed", error, stillValid: permanent ? undefined : held?.session }
      },
      { _tag: "AttemptFailed", error, permanent, widgetDropped, defect }
    ]
  }
}

const onSettled = (
  policy: Policy,
  state: State,
  event: Extract<Event, { readonly _tag: "Settled" }>,
  now: number
): Transition => {
  const flight = state.flight
  if (flight === undefined || flight.id !== event.flightId || flight.stage !== "acquiring") return unchanged(state)
  const { outcome, random } = event
  switch (outcome._tag) {
    case "Success": {
      const admitted = admit(policy, state, outcome.response, random)
      return "error" in admitted
        ? failed(policy, state, flight, admitted.error, random, now, undefined)
        : succeeded(policy, state, flight, admitted.held, outcome.widget, admitted.ignoredDate)
    }
    case "Failure": {
      const error = outcome.error
      // a reused widget KS rejected with INVALID_KS: start again with a new widget session, once
      if (
        flight.widget !== undefined && !flight.fellBack && error._tag === "KalturaApiError" &&
        error.code === KnownCode.INVALID_KS
      ) {
        return {
          state: { ...state, widget: undefined, flight: { ...flight, widget: undefined, fellBack: true } },
          commands: [{ _tag: "FellBack" }, { _tag: "Acquire", flightId: flight.id, widget: undefined }]
        }
      }
      return failed(policy, state, flight, error, random, now, undefined)
    }
    case "Defect": {
      const error = new KalturaSessionError({
        reason: "Defect",
        description: "obtaining a session failed unexpectedly (a defect); the cause is logged at Warning level"
      })
      return failed(policy, state, flight, error, random, now, outcome.description)
    }
  }
}

/**
 * The store answered a read: adopt a session stored by another process if it is worth it; otherwise take the refresh
 * lease (a first read) or, waiting for another holder, read again later until the wait is over, then ask for the
 * lease once more, and after a second wait acquire.
 */
const onStoreRead = (
  policy: Policy,
  state: State,
  event: Extract<Event, { readonly _tag: "StoreRead" }>,
  now: number
): Transition => {
  const flight = state.flight
  if (flight === undefined || flight.id !== event.flightId || flight.stage !== "reading") return unchanged(state)
  const entry = event.entry
  const held = entry === undefined ? undefined : adoptable(policy, state, entry, event.random, now)
  if (held !== undefined) return succeeded(policy, state, flight, held, widgetOf(policy, entry!), undefined)
  // a stored widget session makes our own acquisition one round trip
  const stored = entry === undefined ? undefined : widgetOf(policy, entry)
  const withWidget: State = stored !== undefined && state.widget === undefined && !flight.widgetDropped
    ? { ...state, widget: stored }
    : state
  if (flight.leased) return acquiring(policy, withWidget, flight, now)
  if (flight.waitUntil === undefined) {
    return {
      state: { ...withWidget, flight: { ...flight, stage: "leasing" } },
      commands: [{ _tag: "StoreLease", flightId: flight.id }]
    }
  }
  if (now >= flight.waitUntil) {
    // the holder's time is up (it died, or is stuck): ask for the lease once more, so that one of the processes that
    // waited refreshes for all of them; after a second wait, acquire without it
    if (flight.leaseRetried) return acquiring(policy, withWidget, flight, now)
    return {
      state: { ...withWidget, flight: { ...flight, stage: "leasing", leaseRetried: true } },
      commands: [{ _tag: "StoreLease", flightId: flight.id }]
    }
  }
  return unchanged({ ...withWidget, flight: { ...flight, stage: "waiting", pollAt: now + policy.storePoll } })
}

/** The store answered the lease request: acquire under it, or wait (a bounded time) for its holder's result. */
const onStoreLeased = (
  policy: Policy,
  state: State,
  event: Extract<Event, { readonly _tag: "StoreLeased" }>,
  now: number
): Transition => {
  const flight = state.flight
  if (flight === undefined || flight.id !== event.flightId || flight.stage !== "leasing") {
    return event.leased ? { state, commands: [{ _tag: "StoreRelease", flightId: event.flightId }] } : unchanged(state)
  }
  // with the lease, the store is read once more before acquiring: the previous holder may have written its session
  // between our first read and its release (two processes would otherwise both acquire)
  if (event.leased) {
    return {
      state: { ...state, flight: { ...flight, stage: "reading", leased: true } },
      commands: [{ _tag: "StoreRead", flightId: flight.id }]
    }
  }
  // another process is refreshing: keep serving a valid KS (callers are served at once until the hard margin), and
  // read the store now and then for its result, for at most the lease's time
  return unchanged({
    ...state,
    flight: { ...flight, stage: "waiting", pollAt: now + policy.storePoll, waitUntil: now + policy.leaseTtl }
  })
}

const onClose = (state: State, reason: ClosedReason): Transition => {
  const flight = state.flight
  // an eviction lets a running acquisition finish for the callers already waiting for it
  if (reason === "Evicted" && state.phase === "Open" && flight?.stage === "acquiring") {
    return unchanged({ ...state, phase: "Evicted", held: undefined })
  }
  if (state.phase === "Closed" || (state.phase === "Evicted" && reason === "Evicted")) return unchanged(state)
  const commands: Array<Command> = []
  if (flight !== undefined) {
    const result: FlightResult = { _tag: "Failed", error: closedError(reason), stillValid: undefined }
    commands.push(...released(flight), { _tag: "Complete", flightId: flight.id, result })
  }
  if (reason === "Evicted") commands.push({ _tag: "Release" })
  return { state: { ...state, phase: reason, held: undefined, flight: undefined }, commands }
}

/** After an eviction, the running flight's result goes to its waiters, then everything is released. */
const onSettledWhileEvicted = (
  policy: Policy,
  state: State,
  event: Extract<Event, { readonly _tag: "Settled" }>,
  now: number
): Transition => {
  const open = onSettled(policy, { ...state, phase: "Open" }, event, now)
  if (open.state.flight !== undefined) return { state: { ...open.state, phase: "Evicted" }, commands: open.commands }
  return {
    state: { ...open.state, phase: "Evicted", held: undefined },
    commands: [
      ...open.commands.filter((command) =>
        command._tag === "Complete" || command._tag === "StoreWrite" || command._tag === "StoreRelease"
      ),
      { _tag: "Release" }
    ]
  }
}

/** The transition function. */
export const step = (policy: Policy, state: State, event: Event, now: number): Transition => {
  if (state.phase !== "Open") {
    switch (event._tag) {
      case "Demand":
        return reply(state, { _tag: "Fail", error: closedError(state.phase) })
      case "Settled":
        return state.phase === "Evicted" ? onSettledWhileEvicted(policy, state, event, now) : unchanged(state)
      case "StoreLeased":
        // a lease granted after the session closed is given up at once
        return event.leased
          ? { state, commands: [{ _tag: "StoreRelease", flightId: event.flightId }] }
          : unchanged(state)
      case "Close":
        return onClose(state, event.reason)
      default:
        return unchanged(state)
    }
  }
  switch (event._tag) {
    case "Demand":
      return onDemand(policy, state, event.demand, now)
    case "Tick":
      return onTick(policy, state, now)
    case "Invalidate":
      return onInvalidate(policy, state, event.generation)
    case "Settled":
      return onSettled(policy, state, event, now)
    case "StoreRead":
      return onStoreRead(policy, state, event, now)
    case "StoreLeased":
      return onStoreLeased(policy, state, event, now)
    case "Close":
      return onClose(state, event.reason)
  }
}
