import { assert, describe, it } from "@effect/vitest"
import type { AppTokenSession, WidgetSession } from "@kaltura-effect/core"
import { KalturaError } from "@kaltura-effect/core"
import { Chunk, Clock, Duration, Effect, Exit, Fiber, Option, Random, Redacted, Ref, Stream, TestClock } from "effect"
import { advance, makeDriver, settle } from "./utils/scripted.js"

// The lifecycle is driven here by a scripted acquisition under TestClock: no I/O races the clock.

const SECOND = 1000
const DAY = 86_400 * SECOND

const widget: WidgetSession.WidgetSessionInfo = {
  ks: Redacted.make("djJ8MTIzNDV8widgetwidgetwidget"),
  partnerId: 12345,
  widgetId: "_12345",
  expiry: 86400,
  obtainedAt: 0,
  validUntil: DAY
}

type Outcome =
  | { readonly _tag: "Ok"; readonly lifetime: number; readonly delay?: number }
  | { readonly _tag: "Fail"; readonly error: KalturaError.KalturaCallError }

const ok = (lifetimeSeconds: number, delayMillis = 0): Outcome => ({
  _tag: "Ok",
  lifetime: lifetimeSeconds,
  delay: delayMillis
})
const unavailable = (): Outcome => ({
  _tag: "Fail",
  error: new KalturaError.KalturaHttpError({ service: "apptoken", action: "startSession", status: 503, attempts: 5 })
})
const rejected = (code: string): Outcome => ({
  _tag: "Fail",
  error: new KalturaError.KalturaApiError({
    service: "apptoken",
    action: "startSession",
    code,
    kalturaMessage: `rejected: ${code}`,
    args: {},
    attempts: 1
  })
})

/**
 * A lifecycle whose acquisitions follow `next(n)` for the n-th call (from 1). Each session's KS is
 * `ks-<n>`, its server expiry `now + lifetime`, and responses carry no Date header, so the lifetime is
 * exactly what was scripted.
 */
const makeScripted = (next: (n: number, now: number) => Outcome, options?: AppTokenSession.Options) =>
  Effect.gen(function*() {
    const calls = yield* Ref.make(0)
    const acquire = (_widget: WidgetSession.WidgetSessionInfo | undefined) =>
      Effect.gen(function*() {
        const n = yield* Ref.updateAndGet(calls, (c) => c + 1)
        const sentAt = yield* Clock.currentTimeMillis
        const outcome = next(n, sentAt)
        if (outcome._tag === "Fail") return yield* outcome.error
        if (outcome.delay) yield* Effect.sleep(Duration.millis(outcome.delay))
        return {
          response: {
            result: {
              ks: `ks-${n}`,
              sessionType: 0 as const,
              partnerId: 12345,
              userId: "",
              expiry: Math.floor(sentAt / 1000) + outcome.lifetime,
              privileges: ""
            },
            sentAt,
            receivedAt: sentAt,
            serverDate: Option.none()
          },
          widget
        }
      })
    const { service: session } = yield* makeDriver(acquire, options)
    return { session, calls: Ref.get(calls) }
  })

const ksOf = (session: AppTokenSession.Session) => Redacted.value(session.ks)

describe("AppTokenSession lifecycle", () => {
  it.scoped("1,000 concurrent cold callers cause exactly one acquisition", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(3600, 50))
      const fiber = yield* Effect.fork(Effect.all(Array.from({ length: 1000 }, () => session.get), {
        concurrency: "unbounded"
      }))
      yield* TestClock.adjust("1 second")
      const sessions = yield* Fiber.join(fiber)
      assert.strictEqual(yield* calls, 1)
      assert.isTrue(sessions.every((s) => ksOf(s) === "ks-1" && s.generation === 1))
    }))

  it.scoped("a held session is served without any acquisition until its refresh point", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(1000))
      const first = yield* session.get
      yield* TestClock.adjust("700 seconds")
      const again = yield* session.get
      assert.strictEqual(ksOf(again), ksOf(first))
      assert.strictEqual(yield* calls, 1)
      assert.strictEqual(yield* session.status, "Fresh")
    }))

  it.scoped("the proactive refresh is scheduled between 75% and 85% of the lifetime, at a random point", () =>
    Effect.gen(function*() {
      const refreshPoints: Array<number> = []
      for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
        // a day apart, so that the timers of earlier rounds are in the past
        yield* advance("1 day")
        const point = yield* Effect.scoped(Effect.gen(function*() {
          const start = yield* Clock.currentTimeMillis
          const { session } = yield* makeScripted(() => ok(1000))
          yield* session.get
          yield* settle
          const wakeUps = Chunk.toReadonlyArray(yield* TestClock.sleeps()).filter((at) => at > start)
          return Math.min(...wakeUps) - start
        })).pipe(Effect.withRandom(Random.make(seed)))
        refreshPoints.push(point)
      }
      for (const point of refreshPoints) {
        assert.isAtLeast(point, 750 * SECOND)
        assert.isAtMost(point, 850 * SECOND)
      }
      // drawn once per session: a fleet on one token does not refresh in lockstep
      assert.isAbove(new Set(refreshPoints).size, 4)
    }))

  it.scoped("the refresh actually happens inside the window", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(1000))
      yield* session.get
      yield* advance("749 seconds")
      assert.strictEqual(yield* calls, 1)
      yield* advance("102 seconds")
      assert.strictEqual(yield* calls, 2)
      assert.strictEqual((yield* session.get).generation, 2)
    }))

  it.scoped("no sleep is longer than a day, even for a 60-day session", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(60 * 86_400))
      yield* session.get
      yield* settle
      const check = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const sleeps = Chunk.toReadonlyArray(yield* TestClock.sleeps())
        assert.isAbove(sleeps.length, 0)
        for (const wakeAt of sleeps) assert.isAtMost(wakeAt - now, DAY)
      })
      yield* check
      for (let day = 0; day < 52; day++) {
        yield* TestClock.adjust("1 day")
        yield* check
      }
      assert.strictEqual(yield* calls, 2)
    }))

  it.scoped("callers get the current KS at once while a refresh is in flight", () =>
    Effect.gen(function*() {
      // the refresh starts between 750 s and 850 s and takes 120 s, so it is in flight at 860 s
      const { calls, session } = yield* makeScripted((n) => n === 1 ? ok(1000) : ok(1000, 120 * SECOND))
      yield* session.get
      yield* advance("860 seconds")
      assert.strictEqual(yield* session.status, "Refreshing")
      const during = yield* session.get
      assert.strictEqual(ksOf(during), "ks-1")
      yield* advance("121 seconds")
      assert.strictEqual(ksOf(yield* session.get), "ks-2")
      assert.strictEqual(yield* calls, 2)
      assert.strictEqual(yield* session.status, "Fresh")
    }))

  it.scoped("a transient failure while the KS is valid: status Degraded, the valid KS is still served, retries back off", () =>
    Effect.gen(function*() {
      // refresh at 800 s; backoff from 5 s doubling up to 20 s (jittered), so retries go on within the minute
      const { calls, session } = yield* makeScripted((n) => n === 1 ? ok(1000) : unavailable(), {
        refreshWindow: { min: 0.8, max: 0.8 },
        retryMax: "20 seconds"
      })
      yield* session.get
      yield* advance("860 seconds")
      assert.strictEqual(yield* session.status, "Degraded")
      assert.strictEqual(ksOf(yield* session.get), "ks-1")
      const afterFirst = yield* calls
      // callers keep asking every second (before the hard margin at 940 s): they get the valid KS and do not hurry
      // the backoff
      for (let i = 0; i < 60; i++) {
        yield* advance("1 second")
        assert.strictEqual(ksOf(yield* session.get), "ks-1")
      }
      const afterMinute = yield* calls
      // a handful of attempts (at most one per 16-24 s by now), not one per caller or per second
      assert.isAtLeast(afterMinute - afterFirst, 2)
      assert.isAtMost(afterMinute - afterFirst, 4)
      assert.strictEqual(ksOf(yield* session.get), "ks-1")
    }))

  it.scoped("a permanent failure in a background refresh: status Failed, no further automatic attempt, KS still served", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(
        (n) => n === 1 ? ok(1000) : rejected("APP_TOKEN_NOT_ACTIVE"),
        { failureCooldown: "5 minutes" }
      )
      yield* session.get
      yield* advance("860 seconds")
      assert.strictEqual(yield* calls, 2)
      assert.strictEqual(yield* session.status, "Failed")
      yield* advance("30 seconds")
      assert.strictEqual(ksOf(yield* session.get), "ks-1")
      assert.strictEqual(yield* calls, 2)
      // inside the hard margin (the last 60 s) the KS is no longer handed out: the permanent error is
      yield* advance("55 seconds")
      const error = yield* Effect.flip(session.get)
      assert.strictEqual((error as KalturaError.KalturaApiError).code, "APP_TOKEN_NOT_ACTIVE")
      assert.strictEqual(yield* calls, 2) // still inside the cooldown after the failure
      // a forced refresh is the way out
      yield* Effect.exit(session.refresh)
      assert.strictEqual(yield* calls, 3)
    }))

  it.scoped("outage: the valid KS is served until the deadline, then a typed error, then recovery when the server is back", () =>
    Effect.gen(function*() {
      let serverUp = true
      const { session } = yield* makeScripted(() => serverUp ? ok(1000) : unavailable())
      yield* session.get
      serverUp = false
      for (let i = 0; i < 987; i += 7) yield* advance("7 seconds")
      // 987 s: inside the hard margin (the last 60 s) with every refresh failing: still the valid KS
      assert.strictEqual(ksOf(yield* session.get), "ks-1")
      assert.strictEqual(Redacted.value(yield* session.ks), "ks-1")
      yield* advance("14 seconds")
      const failure = yield* Effect.flip(session.get)
      assert.strictEqual(failure._tag, "KalturaHttpError")
      assert.strictEqual(yield* session.status, "Expired")
      serverUp = true
      yield* advance("10 seconds")
      const recovered = yield* session.get
      assert.isTrue(ksOf(recovered).startsWith("ks-"))
      assert.strictEqual(yield* session.status, "Fresh")
    }))

  it.scoped("an interrupted or timed-out caller does not stop the shared refresh", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(1000, 10 * SECOND))
      const impatient = yield* Effect.fork(Effect.timeout(session.get, "1 second"))
      const interrupted = yield* Effect.fork(session.get)
      yield* TestClock.adjust("500 millis")
      yield* Fiber.interrupt(interrupted)
      yield* TestClock.adjust("1 second")
      const timedOut = yield* Effect.exit(Fiber.join(impatient))
      assert.isTrue(Exit.isFailure(timedOut))
      const patient = yield* Effect.fork(session.get)
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(ksOf(yield* Fiber.join(patient)), "ks-1")
      assert.strictEqual(yield* calls, 1)
    }))

  it.scoped("a failure is not cached: the next demand after the cooldown tries again", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted((n) => n === 1 ? unavailable() : ok(1000))
      assert.strictEqual((yield* Effect.flip(session.get))._tag, "KalturaHttpError")
      // within the minimum interval the same failure is shared, with no new attempt
      assert.strictEqual((yield* Effect.flip(session.get))._tag, "KalturaHttpError")
      assert.strictEqual(yield* calls, 1)
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(ksOf(yield* session.get), "ks-2")
    }))

  it.scoped("forced refreshes are throttled to one start per minimum interval", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(1000))
      yield* session.get
      yield* TestClock.adjust("5 seconds")
      const refreshed = yield* session.refresh
      assert.strictEqual(refreshed.generation, 2)
      // joins the result of the refresh that just happened
      const again = yield* Effect.all(Array.from({ length: 10 }, () => session.refresh), { concurrency: "unbounded" })
      assert.isTrue(again.every((s) => s.generation === 2))
      assert.strictEqual(yield* calls, 2)
    }))

  it.scoped("shrinking lifetimes near the App Token's expiry: throttled, then APP_TOKEN_EXPIRED surfaced", () =>
    Effect.gen(function*() {
      // the token expires at t = 60 s: no session outlives it, so lifetimes shrink towards zero
      const tokenExpiresAt = 60 * SECOND
      const { calls, session } = yield* makeScripted((_, now) =>
        now < tokenExpiresAt
          ? ok(Math.max(1, Math.floor((tokenExpiresAt - now) / SECOND)))
          : rejected("APP_TOKEN_EXPIRED")
      )
      const callers = yield* Effect.fork(
        Effect.forEach(
          Array.from({ length: 90 }),
          () => Effect.zipRight(Effect.exit(session.get), Effect.sleep("1 second"))
        )
      )
      for (let second = 0; second < 600 && (yield* Fiber.poll(callers))._tag === "None"; second++) {
        yield* advance("1 second")
      }
      yield* Fiber.join(callers)
      // at most one start per 5 s minimum interval over 90 s: never a storm
      assert.isAtMost(yield* calls, 90 / 5 + 1)
      assert.isAtLeast(yield* calls, 3)
      assert.strictEqual(yield* session.status, "Failed")
      const error = yield* Effect.flip(session.get)
      assert.strictEqual((error as KalturaError.KalturaApiError).code, "APP_TOKEN_EXPIRED")
    }))

  it.scoped("invalidateGeneration drops only the current generation; N invalidations cause one refresh", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(1000))
      const first = yield* session.get
      yield* TestClock.adjust("10 seconds")
      yield* session.invalidateGeneration(first.generation + 7) // a stale or unknown generation: no effect
      assert.strictEqual((yield* session.get).generation, 1)
      const renewed = yield* Effect.all(
        Array.from({ length: 100 }, () => Effect.zipRight(session.invalidateGeneration(1), session.get)),
        { concurrency: "unbounded" }
      )
      assert.isTrue(renewed.every((s) => s.generation === 2))
      assert.strictEqual(yield* calls, 2)
    }))

  it.scoped("getWith: a minRemaining longer than any session can live fails at once with a typed error", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(1000))
      const error = yield* Effect.flip(session.getWith({ minRemaining: "2 hours" }))
      assert.strictEqual(error._tag, "KalturaSessionError")
      assert.strictEqual((error as KalturaError.KalturaSessionError).reason, "MinRemainingTooLong")
      assert.strictEqual(yield* calls, 1)
    }))

  it.scoped("getWith: a held session that is too short is refreshed once", () =>
    Effect.gen(function*() {
      const { calls, session } = yield* makeScripted(() => ok(1000))
      yield* session.get
      yield* TestClock.adjust("600 seconds")
      const long = yield* session.getWith({ minRemaining: "10 minutes" })
      assert.strictEqual(long.generation, 2)
      assert.isAtLeast(long.expiresAt - (yield* Clock.currentTimeMillis), 600 * SECOND)
      assert.strictEqual(yield* calls, 2)
    }))

  it.scoped("status changes and rotations are published", () =>
    Effect.gen(function*() {
      const { session } = yield* makeScripted((n) => n === 2 ? unavailable() : ok(1000))
      const statuses = yield* Effect.fork(Stream.runCollect(Stream.take(session.statusChanges, 4)))
      const rotations = yield* Effect.fork(Stream.runCollect(Stream.take(session.rotations, 2)))
      yield* Effect.yieldNow()
      yield* session.get
      yield* advance("860 seconds") // refresh fails: Degraded
      for (let i = 0; i < 20; i++) yield* advance("1 second") // the retry succeeds: Fresh
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(statuses)), [
        "Expired",
        "Fresh",
        "Refreshing",
        "Degraded"
      ])
      assert.deepStrictEqual(Chunk.toReadonlyArray(yield* Fiber.join(rotations)).map(ksOf), ["ks-1", "ks-3"])
      assert.strictEqual(yield* session.status, "Fresh")
    }))

  it.effect("closing the layer's scope stops every timer and refresh", () =>
    Effect.gen(function*() {
      const calls = yield* Effect.scoped(Effect.gen(function*() {
        const { calls, session } = yield* makeScripted(() => ok(1000))
        yield* session.get
        return calls
      }))
      yield* advance("1 day")
      assert.strictEqual(yield* calls, 1)
    }))

  it.scoped("a session for another partner, or already expired, is refused", () =>
    Effect.gen(function*() {
      const acquire = () =>
        Effect.succeed({
          response: {
            result: { ks: "ks-x", sessionType: 0 as const, partnerId: 999, userId: "", expiry: 10_000, privileges: "" },
            sentAt: 0,
            receivedAt: 0,
            serverDate: Option.none()
          },
          widget
        })
      const { service: session } = yield* makeDriver(acquire)
      const error = yield* Effect.flip(session.get)
      assert.strictEqual(error._tag, "KalturaSessionError")
      assert.include(error.message, "partner 999")
    }))
})
