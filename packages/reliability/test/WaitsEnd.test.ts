/**
 * Part 8, every wait ends: keyed sessions under eviction pressure (many tenants over capacity at high concurrency,
 * capacity 1 with two keys at once, handles kept after eviction), a session whose layer was released, and an
 * acquisition that dies. Every `get` must end with a session or a typed error: never a hang, never an interrupt
 * the caller did not receive itself, never a defect.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import {
  AppTokenSession,
  AppTokenSessions,
  KalturaApi,
  KalturaConfig,
  SessionStore,
  TokenHasher,
  WidgetSession
} from "@kaltura-effect/core"
import { NodeAppToken, NodeTokenHasher } from "@kaltura-effect/node"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, Scope } from "effect"
import * as Capture from "./utils/capture.js"
import { optionsFor, shortTuning, tally } from "./utils/support.js"

const TENANTS = 24
const CAPACITY = 10
const GETS = 2_400
const CONCURRENCY = 48
/** A wait still running after this is a hang. */
const HANG_AFTER = "30 seconds"

class Hang {
  readonly _tag = "Hang"
}

/** Runs `effect` and says how it ended: a session, a typed error (by tag and reason), an interrupt, a defect, a hang. */
const outcomeOf = <A, E>(effect: Effect.Effect<A, E>) =>
  effect.pipe(
    Effect.timeoutFail({ duration: HANG_AFTER, onTimeout: () => new Hang() }),
    Effect.exit,
    Effect.map((exit): string => {
      if (Exit.isSuccess(exit)) return "session"
      if (Cause.isInterruptedOnly(exit.cause)) return "interrupt only"
      const failure = Cause.failureOption(exit.cause)
      if (Cause.defects(exit.cause).length > 0 || Option.isNone(failure)) return "defect"
      const error = failure.value as { readonly _tag?: string; readonly reason?: string }
      if (error instanceof Hang) return "hang"
      return `typed ${error._tag}${typeof error.reason === "string" ? `:${error.reason}` : ""}`
    })
  )

const sum = (counts: Readonly<Record<string, number>>, keys: ReadonlyArray<string>) =>
  keys.reduce((n, key) => n + (counts[key] ?? 0), 0)

describe("every wait ends", () => {
  it.live("eviction pressure, released layers and defects: no hang, no bare interrupt, no defect", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const tokens = yield* Effect.forEach(
        Array.from({ length: TENANTS }),
        () => fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })
      )
      // every acquisition takes a while, so that keys are evicted while their flights run
      yield* fake.injectFault("appToken.startSession", FakeKalturaFault.delay("15 millis"), { times: 1_000_000 })
      const keyOf = (i: number) => optionsFor(fake, tokens[i % TENANTS]!)
      const keyedLayer = (capacity: number) =>
        AppTokenSessions.layer({ capacity, ...shortTuning({ api: { timeout: "5 seconds" } }) }).pipe(
          Layer.provide(NodeTokenHasher.layer),
          Layer.provide(SessionStore.layerNone),
          Layer.provide(NodeHttpClient.layerUndici)
        )

      // 1. many tenants over capacity at high concurrency
      const pressure = tally()
      const minted = yield* Effect.scoped(Effect.gen(function*() {
        const sessions = Context.get(yield* Layer.build(keyedLayer(CAPACITY)), AppTokenSessions.AppTokenSessions)
        const before = yield* fake.callCount("appToken.startSession")
        yield* Effect.forEach(
          Array.from({ length: GETS }, (_, i) => i),
          (i) => Effect.map(outcomeOf(sessions.get(keyOf(i))), (outcome) => pressure.add(outcome)),
          { concurrency: CONCURRENCY, discard: true }
        )
        return (yield* fake.callCount("appToken.startSession")) - before
      }))

      // 2. capacity 1, two keys asked for at the same moment, 50 times
      const pairs = tally()
      yield* Effect.scoped(Effect.gen(function*() {
        const sessions = Context.get(yield* Layer.build(keyedLayer(1)), AppTokenSessions.AppTokenSessions)
        for (let round = 0; round < 50; round++) {
          const both = yield* Effect.all([
            outcomeOf(sessions.get(keyOf(2 * round))),
            outcomeOf(sessions.get(keyOf(2 * round + 1)))
          ], {
            concurrency: "unbounded"
          })
          for (const outcome of both) pairs.add(outcome)
        }
      }))

      // 3. lifecycle handles kept after their key's eviction
      const handles = tally()
      yield* Effect.scoped(Effect.gen(function*() {
        const sessions = Context.get(yield* Layer.build(keyedLayer(CAPACITY)), AppTokenSessions.AppTokenSessions)
        for (let i = 0; i < TENANTS; i++) {
          const handle = yield* sessions.session(keyOf(i))
          yield* handle.get
          yield* sessions.evict(keyOf(i))
          handles.add(yield* outcomeOf(handle.get))
          handles.add(`after eviction, get: ${yield* outcomeOf(sessions.get(keyOf(i)))}`)
        }
      }))

      // 4. a session whose layer was released: callers waiting at the release, and callers after it
      const released = tally()
      {
        const scope = yield* Scope.make()
        const session = Context.get(
          yield* Layer.build(NodeAppToken.layer(keyOf(0), shortTuning({ api: { timeout: "5 seconds" } }))).pipe(
            Scope.extend(scope)
          ),
          AppTokenSession.AppTokenSession
        )
        yield* fake.clearFaults
        yield* fake.injectFault("appToken.startSession", FakeKalturaFault.delay("2 seconds"), { times: 1 })
        const waiting = yield* Effect.forEach(Array.from({ length: 20 }), () => Effect.fork(outcomeOf(session.get)))
        yield* Effect.sleep("100 millis")
        yield* Scope.close(scope, Exit.void)
        for (const fiber of waiting) released.add(`waiting at the release: ${yield* Fiber.join(fiber)}`)
        yield* session.invalidate
        for (let i = 0; i < 20; i++) released.add(`after the release: ${yield* outcomeOf(session.get)}`)
      }

      // 5. an acquisition that dies (a hasher with a bug)
      const defects = tally()
      let status = ""
      yield* Effect.scoped(Effect.gen(function*() {
        const dying = Layer.succeed(
          TokenHasher.TokenHasher,
          TokenHasher.TokenHasher.of({ hash: () => Effect.dieMessage("a bug in a custom hasher") })
        )
        const tuning = shortTuning()
        const config = KalturaConfig.layer(keyOf(1))
        const api = KalturaApi.layer(tuning.api).pipe(
          Layer.provide(NodeHttpClient.layerUndici),
          Layer.provide(config)
        )
        const layer = AppTokenSession.layer(tuning.session).pipe(
          Layer.provide(WidgetSession.layer),
          Layer.provide(Layer.mergeAll(api, config, dying, SessionStore.layerNone))
        )
        const session = Context.get(yield* Layer.build(layer), AppTokenSession.AppTokenSession)
        const outcomes = yield* Effect.all(Array.from({ length: 20 }, () => outcomeOf(session.get)), {
          concurrency: "unbounded"
        })
        for (const outcome of outcomes) defects.add(outcome)
        status = yield* session.status
      }))

      const all = [pressure.counts, pairs.counts, handles.counts, released.counts, defects.counts]
      const count = (keys: ReadonlyArray<string>) =>
        all.reduce(
          (n, counts) => n + sum(counts, Object.keys(counts).filter((key) => keys.some((k) => key.endsWith(k)))),
          0
        )
      const hangs = count(["hang"])
      const bareInterrupts = count(["interrupt only"])
      const defectsSeen = count(["defect"])
      const pressureFailures = GETS - (pressure.counts.session ?? 0)
      const pairFailures = 100 - (pairs.counts.session ?? 0)

      Results.record({
        id: "8-waits-end",
        part: 8,
        title: "Every wait ends: eviction pressure, released layers, defects",
        description:
          `Live time, loopback HTTP to the fake server, each \`appToken.startSession\` held 15 ms. (1) ${GETS} keyed ` +
          `\`get\`s over ${TENANTS} tenants with capacity ${CAPACITY}, ${CONCURRENCY} at a time; (2) capacity 1 and ` +
          "two keys asked for at once, 50 times; (3) a lifecycle handle from `session(key)` kept after its key's " +
          "eviction; (4) 20 callers waiting when a session's layer is released, and 20 after it; (5) 20 callers of " +
          `a session whose hasher dies. A wait still running after ${HANG_AFTER} counts as a hang.`,
        figures: {
          "keyed gets over capacity, by outcome": pressure.counts,
          "startSession calls for them": minted,
          "capacity 1, two keys at once, by outcome": pairs.counts,
          "handles kept after eviction, by outcome": handles.counts,
          "callers of a released session, by outcome": released.counts,
          "callers of a session whose acquisition dies, by outcome": defects.counts,
          "status after the defect": status,
          hangs,
          "failures that are only an interrupt": bareInterrupts,
          "defects handed to callers": defectsSeen,
          "keyed gets over capacity that failed": pressureFailures,
          "capacity-1 gets that failed": pairFailures
        },
        mustBeZero: [
          "hangs",
          "failures that are only an interrupt",
          "defects handed to callers",
          "keyed gets over capacity that failed",
          "capacity-1 gets that failed"
        ],
        durationMillis: performance.now() - started
      })

      assert.strictEqual(hangs, 0)
      assert.strictEqual(bareInterrupts, 0)
      assert.strictEqual(defectsSeen, 0)
      assert.strictEqual(pressureFailures, 0, JSON.stringify(pressure.counts))
      assert.strictEqual(pairFailures, 0, JSON.stringify(pairs.counts))
      assert.deepStrictEqual(handles.counts, {
        "typed KalturaSessionError:Evicted": TENANTS,
        "after eviction, get: session": TENANTS
      })
      assert.deepStrictEqual(released.counts, {
        "waiting at the release: typed KalturaSessionError:Closed": 20,
        "after the release: typed KalturaSessionError:Closed": 20
      })
      assert.deepStrictEqual(defects.counts, { "typed KalturaSessionError:Defect": 20 })
      assert.strictEqual(status, "Failed")
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })
})
