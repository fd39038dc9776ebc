/**
 * The lifecycle with a shared `SessionStore` (docs/lifecycle.md, "Sharing sessions"): sessions in different
 * processes, here different layers on one store, obtain one KS between them, and a KS that is refused or replaced
 * is not handed out again from the store.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import * as AppTokenSession from "../src/AppTokenSession.js"
import * as KalturaConfig from "../src/KalturaConfig.js"
import * as SessionStore from "../src/SessionStore.js"
import type * as FakeTransport from "./utils/FakeTransport.js"
import {
  adminKs,
  adminKs2,
  baseOptions,
  happyFake,
  sessionReply,
  stack,
  type StackOptions,
  startSessionRoute,
  widgetRoute
} from "./utils/fixtures.js"
import { broken } from "./utils/store.js"

/** Runs `f` with a session of its own (own transport, own layer) on `store`. */
const withSession = <A, E>(
  fake: FakeTransport.FakeTransport,
  store: SessionStore.Service,
  f: (session: AppTokenSession.Service) => Effect.Effect<A, E>,
  options?: StackOptions
) =>
  Effect.flatMap(AppTokenSession.AppTokenSession, f).pipe(
    Effect.provide(stack(fake, { ...options, store: Layer.succeed(SessionStore.SessionStore, store) }))
  )

const settings = Effect.runSync(KalturaConfig.make(baseOptions))
/** A real pause: the store's Web Crypto work completes on Node's event loop, which the test clock does not drive. */
const pause = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 2)))
/** Retries `effect` (the lifecycle's store updates run in the background) until it gives a value, for about 2 s. */
const eventually = <A, E>(effect: Effect.Effect<Option.Option<A>, E>, tries = 1000): Effect.Effect<A, E> =>
  Effect.flatMap(effect, (result) =>
    Option.isSome(result)
      ? Effect.succeed(result.value)
      : tries <= 1
      ? Effect.dieMessage("never happened")
      : Effect.zipRight(pause, eventually(effect, tries - 1)))

const startSessions = (fakes: ReadonlyArray<FakeTransport.FakeTransport>) =>
  fakes.reduce((sum, fake) => sum + fake.requestsTo(startSessionRoute).length, 0)

describe("AppTokenSession with a shared session store", () => {
  it.effect("a second session adopts the first one's KS without calling Kaltura, widget session included", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      const first = happyFake()
      const obtained = yield* withSession(first, store, (session) => session.get)
      assert.strictEqual(obtained.source, "kaltura")
      assert.strictEqual(first.requests().length, 2)

      const second = happyFake()
      const adopted = yield* withSession(second, store, (session) => session.get)
      assert.strictEqual(adopted.source, "store")
      assert.strictEqual(Redacted.value(adopted.ks), adminKs)
      assert.strictEqual(adopted.expiresAt, obtained.expiresAt)
      assert.strictEqual(second.requests().length, 0)
    }))

  it.effect("five sessions starting cold together: one acquisition between them, the others adopt it", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      const fakes = Array.from({ length: 5 }, () => happyFake())
      const fiber = yield* Effect.fork(
        Effect.all(fakes.map((fake) => withSession(fake, store, (session) => session.get)), {
          concurrency: "unbounded"
        })
      )
      // the losers poll the store while the lease holder acquires
      for (let i = 0; i < 20; i++) yield* TestClock.adjust("500 millis")
      const sessions = yield* Fiber.join(fiber)
      assert.strictEqual(startSessions(fakes), 1)
      assert.deepStrictEqual(sessions.map((session) => Redacted.value(session.ks)), Array(5).fill(adminKs))
      assert.strictEqual(sessions.filter((session) => session.source === "kaltura").length, 1)
    }))

  it.effect("the lease is released only once the write has landed", () =>
    Effect.gen(function*() {
      const memory = yield* SessionStore.makeMemory
      const slowWrites: SessionStore.Service = {
        ...memory,
        write: (settings, session) => Effect.zipRight(Effect.sleep("1 second"), memory.write(settings, session))
      }
      const obtained = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(
        withSession(happyFake(), slowWrites, (session) =>
          Effect.zipRight(session.get, Deferred.succeed(obtained, void 0)))
      )
      yield* Deferred.await(obtained)
      // the KS is obtained, its write pending: the lease is still held
      assert.isTrue(Option.isNone(yield* memory.lease(settings, "1 second")))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      assert.isTrue(Option.isSome(yield* memory.read(settings)))
      assert.isTrue(Option.isSome(yield* memory.lease(settings, "1 second")))
    }))

  it.effect("an entry for other settings (another user) is never adopted", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      yield* withSession(happyFake(), store, (session) => session.get)
      const other = happyFake()
      const session = yield* withSession(other, store, (session) => session.get, {
        config: { userId: "someone-else" }
      })
      assert.strictEqual(session.source, "kaltura")
      assert.strictEqual(other.requestsTo(startSessionRoute).length, 1)
    }))

  it.effect("a stored session past its refresh point is served, and refreshed after the minimum interval under the lease", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      yield* withSession(happyFake(), store, (session) => session.get)
      // the stored KS (expiry 3600 s) is past the default refresh point (80% of its lifetime) at 50 minutes
      yield* TestClock.setTime(50 * 60_000)
      const later = happyFake()
      later.setDefault(startSessionRoute, sessionReply({ ks: adminKs2, expiry: 3000 + 3600 }))
      yield* withSession(later, store, (session) =>
        Effect.gen(function*() {
          const served = yield* session.get
          assert.strictEqual(served.source, "store")
          assert.strictEqual(Redacted.value(served.ks), adminKs)
          // the refresh starts once the minimum interval (5 s) since the first flight is over
          const refreshed = yield* eventually(
            Effect.zipRight(
              TestClock.adjust("100 millis"),
              Effect.map(session.get, Option.liftPredicate((current) => current.generation > served.generation))
            )
          )
          assert.isAtLeast(refreshed.obtainedAt, served.obtainedAt + 50 * 60_000 + 5_000)
          assert.strictEqual(refreshed.source, "kaltura")
          assert.strictEqual(Redacted.value(refreshed.ks), adminKs2)
        }))
      // one round trip: the stored widget KS was reused
      assert.deepStrictEqual(later.requests().map((request) => request.route), [startSessionRoute])
      const stored = Option.getOrThrow(yield* store.read(settings))
      assert.strictEqual(Redacted.value(stored.ks), adminKs2)
    }))

  it.effect("invalidate removes the KS from the store, so no other process adopts a refused KS", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      yield* withSession(happyFake(), store, (session) =>
        Effect.gen(function*() {
          yield* session.get
          yield* eventually(store.read(settings))
          yield* session.invalidate
        }))
      assert.isTrue(Option.isNone(yield* store.read(settings)))
    }))

  it.effect("a KS refused mid-generation is replaced in the store by the refreshed one", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      const fake = happyFake()
      fake.enqueue(startSessionRoute, sessionReply())
      fake.setDefault(startSessionRoute, sessionReply({ ks: adminKs2, expiry: 7200 }))
      yield* withSession(fake, store, (session) =>
        Effect.gen(function*() {
          const first = yield* session.get
          yield* session.invalidateGeneration(first.generation)
          const fiber = yield* Effect.fork(session.get)
          yield* TestClock.adjust("1 minute")
          const second = yield* Fiber.join(fiber)
          assert.strictEqual(Redacted.value(second.ks), adminKs2)
          assert.strictEqual(second.source, "kaltura")
        }))
      const stored = Option.getOrThrow(yield* store.read(settings))
      assert.strictEqual(Redacted.value(stored.ks), adminKs2)
    }))

  for (const mode of ["fail", "die", "hang"] as const) {
    it.effect(`a store that ${mode === "hang" ? "hangs" : mode === "die" ? "dies" : "fails"} degrades to no store`, () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.make(broken("broken", mode), { timeout: "200 millis" })
        const fake = happyFake()
        // the session's layer, closing, waits for its store updates, each cut off by the store's timeout
        const fiber = yield* Effect.fork(withSession(fake, store, (session) => session.get))
        const exit = yield* eventually(Effect.zipRight(TestClock.adjust("100 millis"), Fiber.poll(fiber)))
        const session = yield* exit
        assert.strictEqual(session.source, "kaltura")
        assert.strictEqual(Redacted.value(session.ks), adminKs)
        assert.strictEqual(fake.requestsTo(widgetRoute).length, 1)
        assert.strictEqual(fake.requestsTo(startSessionRoute).length, 1)
      }))
  }
})
