/**
 * Plain data for the session machine's tests: a policy, sessions, outcomes, and the situations of the state table
 * reached by driving the machine itself from its initial state.
 */
import { Option, Redacted } from "effect"
import type { AppTokenSessionError } from "../../src/AppTokenSession.js"
import * as Machine from "../../src/internal/sessionMachine.js"
import * as Errors from "../../src/KalturaError.js"
import type { StoredSession } from "../../src/SessionStore.js"
import type { WidgetSessionInfo } from "../../src/WidgetSession.js"

export const SECOND = 1000

/** Lifetimes of 1000 s with `random = 0.5` give: refresh point 800 s, hard margin at 940 s, deadline 1000 s. */
export const policy: Machine.Policy = Machine.policyOf({
  partnerId: 12345,
  appTokenId: "0_abcd1234",
  expiry: undefined
}, {
  minRefreshInterval: "5 seconds",
  failureCooldown: "60 seconds",
  retryBase: "2 seconds",
  retryMax: "5 minutes",
  hardMargin: "60 seconds"
})

/** The same with a shared session store: a 30 s lease, the store read every 500 ms while waiting for its holder. */
export const storePolicy: Machine.Policy = { ...policy, store: true }

export const widget = (obtainedAt: number): WidgetSessionInfo => ({
  ks: Redacted.make("djJ8MTIzNDV8widget"),
  partnerId: 12345,
  widgetId: "_12345",
  expiry: 86400,
  obtainedAt,
  validUntil: obtainedAt + 86_400_000 - 600_000
})

/** A successful acquisition sent at `sentAt`, granting `lifetime` ms, with a `Date` header equal to `serverNow`. */
export const success = (
  sentAt: number,
  options?: {
    readonly lifetime?: number | undefined
    readonly serverNow?: number | null | undefined
    readonly partnerId?: number | undefined
    readonly receivedAt?: number | undefined
  }
): Machine.Outcome => {
  const lifetime = options?.lifetime ?? 1000 * SECOND
  const serverNow = options?.serverNow === undefined ? sentAt : options.serverNow
  // with a Date header, the lifetime is measured from the latest server time it allows (+1 s)
  const expiry = Math.floor(((serverNow ?? sentAt) + lifetime + (serverNow === null ? 0 : SECOND)) / 1000)
  return {
    _tag: "Success",
    response: {
      result: {
        ks: `ks-at-${sentAt}`,
        sessionType: 0,
        partnerId: options?.partnerId ?? 12345,
        userId: "",
        expiry,
        privileges: ""
      },
      sentAt,
      receivedAt: options?.receivedAt ?? sentAt,
      serverDate: serverNow === null ? Option.none() : Option.some(serverNow)
    },
    widget: widget(sentAt)
  }
}

export const apiError = (code: string, args: Record<string, string> = {}): Errors.KalturaApiError =>
  new Errors.KalturaApiError({
    service: "apptoken",
    action: "startSession",
    code,
    kalturaMessage: code,
    args,
    attempts: 1
  })

export const unavailable: Machine.Outcome = {
  _tag: "Failure",
  error: new Errors.KalturaHttpError({ service: "apptoken", action: "startSession", status: 503, attempts: 5 })
}
export const notActive: Machine.Outcome = { _tag: "Failure", error: apiError("APP_TOKEN_NOT_ACTIVE") }
export const invalidKs: Machine.Outcome = {
  _tag: "Failure",
  error: apiError("INVALID_KS", { KSID: "EXPIRED", ERR_CODE: "-1", ERR_DESC: "INVALID_STR" })
}
export const serviceForbidden: Machine.Outcome = { _tag: "Failure", error: apiError("SERVICE_FORBIDDEN") }
export const defect: Machine.Outcome = { _tag: "Defect", description: "boom" }

export const demand = (demand: Machine.Demand): Machine.Event => ({ _tag: "Demand", demand })
export const get = demand({ _tag: "Get" })
export const refresh = demand({ _tag: "Refresh" })
export const getWith = (minRemaining: number) => demand({ _tag: "GetWith", minRemaining })
export const tick: Machine.Event = { _tag: "Tick" }
export const invalidate = (generation?: number): Machine.Event => ({ _tag: "Invalidate", generation })
export const settled = (flightId: number, outcome: Machine.Outcome, random = 0.5): Machine.Event => ({
  _tag: "Settled",
  flightId,
  outcome,
  random
})
export const close = (reason: Machine.ClosedReason): Machine.Event => ({ _tag: "Close", reason })

/** What another process stored: a session obtained at `obtainedAt` for `lifetime` ms (server clock = ours). */
export const storedSession = (obtainedAt: number, lifetime = 1000 * SECOND): StoredSession => ({
  ks: Redacted.make(`ks-stored-at-${obtainedAt}`),
  partnerId: 12345,
  userId: "",
  sessionType: 0,
  privileges: "",
  expiry: Math.floor((obtainedAt + lifetime) / 1000),
  clockOffset: 0,
  obtainedAt,
  widget: {
    ks: Redacted.make("djJ8MTIzNDV8stored-widget"),
    expiry: 86400,
    obtainedAt,
    validUntil: obtainedAt + 85_800_000
  }
})
export const storeRead = (flightId: number, entry: StoredSession | undefined): Machine.Event => ({
  _tag: "StoreRead",
  flightId,
  entry,
  random: 0.5
})
export const storeLeased = (flightId: number, leased: boolean): Machine.Event => ({
  _tag: "StoreLeased",
  flightId,
  leased
})

/** Applies `[event, now]` pairs from `state` (with `policy` unless another is given); returns the last transition. */
export const drive = (
  state: Machine.State,
  ...events: ReadonlyArray<readonly [Machine.Event, number]>
): Machine.Transition => driveWith(policy, state, ...events)

export const driveWith = (
  with_: Machine.Policy,
  state: Machine.State,
  ...events: ReadonlyArray<readonly [Machine.Event, number]>
): Machine.Transition => {
  let transition: Machine.Transition = { state, commands: [] }
  for (const [event, now] of events) transition = Machine.step(with_, transition.state, event, now)
  return transition
}

/** A state reached from the initial one. */
export const reach = (...events: ReadonlyArray<readonly [Machine.Event, number]>): Machine.State =>
  drive(Machine.initial, ...events).state

/** A state reached from the initial one with the store policy. */
export const reachWithStore = (...events: ReadonlyArray<readonly [Machine.Event, number]>): Machine.State =>
  driveWith(storePolicy, Machine.initial, ...events).state

/** A one-line summary of a transition: the reply, the commands, and the status right after it. */
export const summary = (transition: Machine.Transition, now: number): string => {
  let reply = "-"
  const commands: Array<string> = []
  for (const command of transition.commands) {
    switch (command._tag) {
      case "Reply": {
        const answer = command.answer
        reply = answer._tag === "Serve"
          ? `Serve g${answer.session.generation}`
          : answer._tag === "Await"
          ? `Await f${answer.flightId}`
          : `Fail ${describe(answer.error)}`
        break
      }
      case "Acquire":
        commands.push(`Acquire f${command.flightId}${command.widget === undefined ? "" : " reusing widget"}`)
        break
      case "Complete":
        commands.push(
          `Complete f${command.flightId} ${
            command.result._tag === "Obtained"
              ? `g${command.result.session.generation}`
              : `${describe(command.result.error)}${command.result.stillValid === undefined ? "" : " (still valid)"}`
          }`
        )
        break
      case "Obtained":
        commands.push(
          `${command.replaced ? "Refreshed" : "Started"}${command.session.source === "store" ? " from the store" : ""}`
        )
        break
      case "StoreRead":
      case "StoreLease":
      case "StoreRelease":
        commands.push(`${command._tag} f${command.flightId}`)
        break
      case "AttemptFailed":
        commands.push(
          `AttemptFailed ${command.permanent ? "permanent" : "transient"}${
            command.widgetDropped ? " widget dropped" : ""
          }`
        )
        break
      case "Invalidated":
        commands.push(`Invalidated${command.widgetDropped ? " widget dropped" : ""}`)
        break
      case "DateIgnored":
        commands.push(command.skew === undefined ? "NoDateHeader" : "DateIgnored")
        break
      default:
        commands.push(command._tag)
    }
  }
  return `${reply} | ${commands.length === 0 ? "-" : commands.join(", ")} | ${Machine.statusOf(transition.state, now)}`
}

const describe = (error: AppTokenSessionError) =>
  error._tag === "KalturaApiError" ? error.code : error._tag === "KalturaSessionError" ? error.reason : error._tag

/** The situations of the state table: a state reached by driving the machine, looked at a given time. */
export const situations: ReadonlyArray<{
  readonly name: string
  readonly state: Machine.State
  readonly now: number
  readonly policy?: Machine.Policy | undefined
}> = (() => {
  const firstFlight: ReadonlyArray<readonly [Machine.Event, number]> = [[get, 0]]
  const fresh = [...firstFlight, [settled(1, success(0)), 0]] as const
  const refreshing = [...fresh, [tick, 800 * SECOND]] as const
  return [
    { name: "initial", state: Machine.initial, now: 0 },
    { name: "first flight", state: reach(...firstFlight), now: 100 },
    { name: "fresh", state: reach(...fresh), now: 100 * SECOND },
    { name: "fresh, within the minimum interval of its start", state: reach(...fresh), now: 2 * SECOND },
    { name: "fresh, past the refresh point (timer not yet fired)", state: reach(...fresh), now: 850 * SECOND },
    { name: "fresh, inside the hard margin", state: reach(...fresh), now: 950 * SECOND },
    { name: "fresh, past the deadline", state: reach(...fresh), now: 1001 * SECOND },
    {
      name: "a refresh waiting out the minimum interval, no KS held",
      state: reach(...fresh, [invalidate(1), 1 * SECOND], [refresh, 2 * SECOND]),
      now: 3 * SECOND
    },
    {
      // a forced refresh at 6 s returned a 5 s session: its refresh point (10 s) comes before the next start (11 s)
      name: "a refresh waiting out the minimum interval, KS held",
      state: reach(
        [get, 0],
        [settled(1, success(0, { lifetime: 10 * SECOND })), 0],
        [refresh, 6 * SECOND],
        [settled(2, success(6 * SECOND, { lifetime: 5 * SECOND })), 6 * SECOND],
        [tick, 10 * SECOND]
      ),
      now: 10_200
    },
    { name: "refreshing", state: reach(...refreshing), now: 801 * SECOND },
    { name: "refreshing, past the deadline", state: reach(...refreshing), now: 1001 * SECOND },
    { name: "degraded", state: reach(...refreshing, [settled(2, unavailable), 801 * SECOND]), now: 802 * SECOND },
    {
      name: "degraded, inside the hard margin",
      state: reach(...refreshing, [settled(2, unavailable), 801 * SECOND]),
      now: 950 * SECOND
    },
    {
      name: "failed, KS held",
      state: reach(...refreshing, [settled(2, notActive), 801 * SECOND]),
      now: 802 * SECOND
    },
    {
      name: "failed, past the deadline and the cooldown",
      state: reach(...refreshing, [settled(2, notActive), 801 * SECOND]),
      now: 1001 * SECOND
    },
    { name: "first attempt failed transiently", state: reach(...firstFlight, [settled(1, unavailable), 0]), now: 1 },
    { name: "first attempt failed permanently", state: reach(...firstFlight, [settled(1, notActive), 0]), now: 1 },
    { name: "invalidated", state: reach(...fresh, [invalidate(), 10 * SECOND]), now: 20 * SECOND },
    {
      name: "evicted while refreshing",
      state: reach(...refreshing, [close("Evicted"), 801 * SECOND]),
      now: 802 * SECOND
    },
    { name: "closed", state: reach(...fresh, [close("Closed"), 10 * SECOND]), now: 20 * SECOND },
    // with a shared session store
    { name: "store: initial", state: Machine.initial, now: 0, policy: storePolicy },
    { name: "store: first read", state: reachWithStore([get, 0]), now: 100, policy: storePolicy },
    {
      name: "store: asking for the lease",
      state: reachWithStore([get, 0], [storeRead(1, undefined), 0]),
      now: 100,
      policy: storePolicy
    },
    {
      name: "store: waiting for another holder, no KS",
      state: reachWithStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, false), 0]),
      now: 100,
      policy: storePolicy
    },
    {
      name: "store: waiting, the holder's time is up (30 s)",
      state: reachWithStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, false), 0], [tick, 500]),
      now: 30_100,
      policy: storePolicy
    },
    {
      name: "store: reading again under the lease",
      state: reachWithStore([get, 0], [storeRead(1, undefined), 0], [storeLeased(1, true), 0]),
      now: 100,
      policy: storePolicy
    },
    {
      name: "store: acquiring under the lease",
      state: reachWithStore(
        [get, 0],
        [storeRead(1, undefined), 0],
        [storeLeased(1, true), 0],
        [storeRead(1, undefined), 0]
      ),
      now: 100,
      policy: storePolicy
    },
    {
      name: "store: fresh, refresh reading the store",
      state: reachWithStore(
        [get, 0],
        [storeRead(1, storedSession(0)), 0],
        [tick, 800 * SECOND]
      ),
      now: 801 * SECOND,
      policy: storePolicy
    }
  ]
})()

/** The events every situation is tried with; flight ids refer to the current flight (or a stale one). */
export const eventsFor = (state: Machine.State): ReadonlyArray<readonly [string, Machine.Event]> => {
  const flight = state.flight?.id ?? state.nextFlightId - 1
  return [
    ["get", get],
    ["refresh", refresh],
    ["getWith 500 s", getWith(500 * SECOND)],
    ["getWith 2 h", getWith(7200 * SECOND)],
    ["tick", tick],
    ["invalidate", invalidate()],
    ["invalidate g1", invalidate(1)],
    ["invalidate g9", invalidate(9)],
    ["settled: success", settled(flight, success(state.flight?.startAt ?? 0))],
    ["settled: 503", settled(flight, unavailable)],
    ["settled: APP_TOKEN_NOT_ACTIVE", settled(flight, notActive)],
    ["settled: INVALID_KS", settled(flight, invalidKs)],
    ["settled: defect", settled(flight, defect)],
    ["settled: stale flight", settled(flight + 100, success(0))],
    ["store read: a newer session", storeRead(flight, storedSession(state.flight?.startAt ?? 0))],
    [
      "store read: the session held",
      storeRead(
        flight,
        state.held === undefined ? undefined : {
          ...storedSession(state.held.session.obtainedAt),
          expiry: state.held.session.expiry
        }
      )
    ],
    ["store read: miss", storeRead(flight, undefined)],
    ["lease: granted", storeLeased(flight, true)],
    ["lease: held elsewhere", storeLeased(flight, false)],
    ["close: Evicted", close("Evicted")],
    ["close: Closed", close("Closed")]
  ]
}
