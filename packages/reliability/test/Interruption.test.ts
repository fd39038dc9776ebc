/**
 * Part 5, interruption and timeouts: 1,000 callers interrupted or timed out at random points during a cold start
 * and during a refresh; the shared flight completes, later callers get a KS, and no fiber is left behind.
 */
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Context, Effect, Exit, Fiber, Layer, Redacted, Supervisor } from "effect"
import * as Capture from "./utils/capture.js"
import * as Secrets from "./utils/secrets.js"
import { optionsFor, prng, shortTuning, tally } from "./utils/support.js"

const SEED = 7
const CALLERS = 1_000
/** Each flight is slowed down by the server, so that callers give up while it is in progress. */
const FLIGHT_DELAY = "150 millis"
/** How long the fibers of stopped callers may take to wind down before one still alive counts as leaked. */
const DRAIN_BOUND_MILLIS = 5_000

describe("interruption and timeouts", () => {
  it.live("1,000 callers interrupted or timed out at random points during cold start and refresh", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const rng = prng(SEED)
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })
      const supervisor = yield* Supervisor.track
      const liveFibers = Effect.map(supervisor.value, (fibers) => fibers.length)
      /**
       * Waits (at most DRAIN_BOUND) for the live fibers to come down to `target`: a stopped caller's fiber may take
       * a moment to wind down; one still alive after the bound is a leak.
       */
      const drain = (target: number) =>
        Effect.gen(function*() {
          const t0 = performance.now()
          let count = yield* liveFibers
          while (count > target && performance.now() - t0 < DRAIN_BOUND_MILLIS) {
            yield* Effect.sleep("20 millis")
            count = yield* liveFibers
          }
          return { count, millis: performance.now() - t0 }
        })

      // everything the library forks is under the supervisor: the layer's timer and flights, and the callers
      const program = Effect.gen(function*() {
        const services = yield* Layer.build(
          NodeAppToken.layer(optionsFor(fake, token), shortTuning({ api: { timeout: "2 seconds" } }))
        )
        const session = Context.get(services, AppTokenSession.AppTokenSession)
        const outcomes = tally()

        /** One wave: CALLERS callers of `effect`, each stopped at a random point (interrupt or timeout). */
        const wave = (name: string, effect: Effect.Effect<AppTokenSession.Session, unknown>) =>
          Effect.gen(function*() {
            const fibers = yield* Effect.forEach(Array.from({ length: CALLERS }), () => {
              const stopAt = rng.int(0, 600)
              const how = rng.pick(["interrupt", "timeout", "race", "patient"] as const)
              const caller = how === "timeout"
                ? Effect.timeout(effect, stopAt)
                : how === "race"
                ? Effect.raceFirst(effect, Effect.zipRight(Effect.sleep(stopAt), Effect.fail("gave up")))
                : effect
              return Effect.map(Effect.fork(caller), (fiber) => ({ fiber, how, stopAt }))
            })
            const interrupters = yield* Effect.forEach(
              fibers.filter(({ how }) => how === "interrupt"),
              ({ fiber, stopAt }) => Effect.fork(Effect.zipRight(Effect.sleep(stopAt), Fiber.interrupt(fiber)))
            )
            for (const { fiber, how } of fibers) {
              const exit = yield* Fiber.await(fiber)
              outcomes.add(
                `${name}, ${how}: ${Exit.isSuccess(exit) ? "KS" : Exit.isInterrupted(exit) ? "interrupted" : "gave up"}`
              )
            }
            // the test's own interrupters are done too before fibers are counted
            yield* Fiber.joinAll(interrupters)
          })

        // 1. cold start
        yield* fake.injectFault("appToken.startSession", FakeKalturaFault.delay(FLIGHT_DELAY))
        yield* wave("cold start", session.get)
        const afterCold = yield* fake.callCount("appToken.startSession")
        const later = yield* session.get
        const afterColdLater = yield* fake.callCount("appToken.startSession")
        // once the callers are gone, only the layer's refresh timer is left
        const fibersAfterCold = yield* drain(1)

        // 2. refresh: forced refreshes and waiters on an invalidated session, all stopped at random points
        yield* fake.injectFault("appToken.startSession", FakeKalturaFault.delay(FLIGHT_DELAY))
        yield* session.invalidate
        yield* wave("refresh", Effect.suspend(() => rng.chance(0.5) ? session.refresh : session.get))
        const afterRefresh = yield* fake.callCount("appToken.startSession")
        const renewed = yield* session.get
        const afterRefreshLater = yield* fake.callCount("appToken.startSession")
        const fibersAfterRefresh = yield* drain(1)
        return {
          outcomes,
          afterCold,
          afterColdLater,
          afterRefresh,
          afterRefreshLater,
          later,
          renewed,
          fibersAfterCold,
          fibersAfterRefresh,
          status: yield* session.status
        }
      }).pipe(Effect.scoped)

      const fibersBefore = yield* liveFibers

      const result = yield* Effect.supervised(program, supervisor)
      const fibersAfterRelease = yield* drain(0)

      const log = yield* fake.requests
      const scanner = new Secrets.Scanner()
      Secrets.learnFromLog(scanner, log, [token])
      scanner.scanValue("session", result.later)
      scanner.scanValue("session", result.renewed)
      scanner.scanAll(capture.texts())
      Secrets.scanWire(scanner, log)

      const extraFibers = Math.max(0, result.fibersAfterRefresh.count - result.fibersAfterCold.count)
      Results.record({
        id: "5-interruption",
        part: 5,
        title: "1,000 callers interrupted or timed out during cold start, and 1,000 during a refresh",
        description:
          `Live time, the fake server holding each \`appToken.startSession\` for ${FLIGHT_DELAY}. In each wave ` +
          `${CALLERS} callers (\`get\` at cold start; \`refresh\` or \`get\` after \`invalidate\`) are each stopped at ` +
          "a random point in 0-600 ms (seed 7): interrupted from outside, `Effect.timeout`, `Effect.raceFirst` with " +
          "a give-up, or left to finish. Fibers are counted with `Supervisor.track` over the layer and the " +
          "callers: after the cold wave (the layer's refresh timer is then alive), after the refresh wave, and " +
          "after the layer is released.",
        figures: {
          "callers stopped or left to finish, by wave and outcome": result.outcomes.counts,
          "startSession calls for the cold wave (one flight)": result.afterCold,
          "startSession calls for the refresh wave (one flight)": result.afterRefresh - result.afterCold,
          "later callers that got a KS": [result.later, result.renewed].filter((s) => Redacted.value(s.ks).length > 0)
            .length,
          "extra calls for the later callers": (result.afterColdLater - result.afterCold) +
            (result.afterRefreshLater - result.afterRefresh),
          "status at the end": result.status,
          "live fibers: before / after cold wave / after refresh wave / after release":
            `${fibersBefore} / ${result.fibersAfterCold.count} / ${result.fibersAfterRefresh.count} / ${fibersAfterRelease.count}`,
          "time for stopped callers' fibers to wind down, ms (cold / refresh / release)": `${
            result.fibersAfterCold.millis.toFixed(0)
          } / ${result.fibersAfterRefresh.millis.toFixed(0)} / ${fibersAfterRelease.millis.toFixed(0)}`,
          "fibers leaked by the cold wave (alive after 5 s)": Math.max(0, result.fibersAfterCold.count - 1),
          "fibers leaked by the refresh wave (alive after 5 s)": extraFibers,
          "fibers left after the layer's release": fibersAfterRelease.count,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "fibers leaked by the cold wave (alive after 5 s)",
          "fibers leaked by the refresh wave (alive after 5 s)",
          "fibers left after the layer's release",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })

      // the shared flight completed once per wave, whatever happened to its callers
      assert.strictEqual(result.afterCold, 1)
      assert.strictEqual(result.afterRefresh, 2)
      assert.strictEqual(result.afterColdLater, result.afterCold)
      assert.strictEqual(result.afterRefreshLater, result.afterRefresh)
      assert.notStrictEqual(Redacted.value(result.renewed.ks), Redacted.value(result.later.ks))
      assert.strictEqual(result.status, "Fresh")
      // callers really were stopped mid-flight
      const stopped = Object.entries(result.outcomes.counts).filter(([k]) => !k.endsWith(": KS")).reduce(
        (n, [, v]) => n + v,
        0
      )
      assert.isAtLeast(stopped, CALLERS / 2)
      assert.strictEqual(result.fibersAfterCold.count, 1)
      assert.strictEqual(extraFibers, 0)
      assert.strictEqual(fibersAfterRelease.count, 0)
      assert.deepStrictEqual(scanner.findings, [])
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })
})
