/**
 * Shared pieces: a seeded random generator, the library's stack on the fake server with short timeouts, and
 * exit classification (typed failure, defect, interruption).
 */
import type { AppTokenSession, KalturaApi, KalturaConfig, KalturaError } from "@kaltura-effect/core"
import type { NodeAppToken } from "@kaltura-effect/node"
import type { FakeKaltura } from "@kaltura-effect/testing"
import { Cause, Duration, Effect, Exit, Option, Redacted, Schedule } from "effect"

/** mulberry32: a small seeded generator, so a run can be replayed from its seed. */
export const prng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6D2B79F5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!,
    chance: (p: number) => next() < p
  }
}

/** A short transport policy for live tests: 200 ms per attempt, 4 retries from 5 ms, jittered. */
export const shortRetrySchedule: Schedule.Schedule<unknown, KalturaError.KalturaCallError> = Schedule.exponential(
  "5 millis",
  2
).pipe(Schedule.intersect(Schedule.recurs(4)), Schedule.jittered)

export const shortTuning = (overrides?: {
  readonly api?: KalturaApi.Options | undefined
  readonly session?: AppTokenSession.Options | undefined
}): NodeAppToken.Tuning => ({
  api: { timeout: "200 millis", retrySchedule: shortRetrySchedule, ...overrides?.api },
  session: {
    minRefreshInterval: "10 millis",
    failureCooldown: "50 millis",
    retryBase: "20 millis",
    retryMax: "200 millis",
    hardMargin: "60 seconds",
    ...overrides?.session
  }
})

export const optionsFor = (
  fake: FakeKaltura.Service,
  token: FakeKaltura.AppToken,
  extra?: Partial<KalturaConfig.Options>
): KalturaConfig.Options => ({
  serviceUrl: fake.url,
  partnerId: token.partnerId,
  appTokenId: token.id,
  token: Redacted.make(token.token),
  hashType: token.hashType,
  ...extra
})

export type Outcome =
  | { readonly _tag: "Success" }
  | { readonly _tag: "Failure"; readonly tag: string; readonly error: unknown }
  | { readonly _tag: "Defect"; readonly cause: Cause.Cause<unknown> }
  | { readonly _tag: "Interrupted" }

export const classify = <A, E>(exit: Exit.Exit<A, E>): Outcome => {
  if (Exit.isSuccess(exit)) return { _tag: "Success" }
  const cause = exit.cause
  if (Cause.isInterruptedOnly(cause)) return { _tag: "Interrupted" }
  const defects = Cause.defects(cause)
  const failure = Cause.failureOption(cause)
  if (defects.length > 0 || Option.isNone(failure)) return { _tag: "Defect", cause }
  const error = failure.value as {
    readonly _tag?: unknown
    readonly code?: unknown
    readonly reason?: unknown
    readonly ksReason?: unknown
  }
  const tag = typeof error._tag === "string" ? error._tag : "untagged"
  const detail = typeof error.code === "string"
    ? `:${error.code}${typeof error.ksReason === "string" ? `:${error.ksReason}` : ""}`
    : typeof error.reason === "string"
    ? `:${error.reason}`
    : ""
  return { _tag: "Failure", tag: `${tag}${detail}`, error: failure.value }
}

/** Counts by key. */
export const tally = () => {
  const counts: Record<string, number> = {}
  return {
    counts,
    add: (key: string, n = 1) => {
      counts[key] = (counts[key] ?? 0) + n
    }
  }
}

export const millis = (d: Duration.DurationInput) => Duration.toMillis(Duration.decode(d))

export const elapsed = Effect.map(Effect.sync(() => performance.now()), (start) => () => performance.now() - start)
