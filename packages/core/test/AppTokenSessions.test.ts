import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSessions, KalturaConfig, SessionStore, TokenHasher } from "@kaltura-effect/core"
import { Deferred, Effect, Fiber, Layer, Redacted, Ref, TestClock } from "effect"
import { identityOf } from "../src/internal/keys.js"

// An in-memory Kaltura that mints `ks-<partnerId>-<tokenValue>-<n>`, so a test can see which key a session
// was minted for, and whose startSession can be held back to simulate a slow (late) refresh.
const makeServer = Effect.gen(function*() {
  const minted = yield* Ref.make(0)
  const gate = yield* Ref.make<
    { readonly reached: Deferred.Deferred<void>; readonly held: Deferred.Deferred<void> } | undefined
  >(
    undefined
  )
  const client = HttpClient.make((request) =>
    Effect.gen(function*() {
      const body = JSON.parse(new TextDecoder().decode((request.body as { body: Uint8Array }).body))
      const respond = (json: unknown) =>
        HttpClientResponse.fromWeb(request, new Response(JSON.stringify(json), { status: 200 }))
      if (request.url.endsWith("/startWidgetSession")) {
        const partnerId = Number(String(body.widgetId).slice(1))
        return respond({ partnerId, ks: `djJ8widget${partnerId}AAAAAAAA`, userId: 0 })
      }
      const gated = yield* Ref.get(gate)
      if (gated !== undefined) {
        yield* Deferred.succeed(gated.reached, undefined)
        yield* Deferred.await(gated.held)
      }
      const n = yield* Ref.updateAndGet(minted, (m) => m + 1)
      const partnerId = Number(/widget(\d+)/.exec(body.ks)![1])
      // the hash encodes the token, so the KS shows which token it was minted with
      return respond({
        ks: `ks-${partnerId}-${String(body.tokenHash).slice(0, 8)}-${n}-padding`,
        sessionType: 0,
        partnerId: String(partnerId),
        userId: body.userId ?? "",
        expiry: 3600,
        privileges: ""
      })
    })
  )
  return { client, minted: Ref.get(minted), gate }
})

const key = (partnerId: number, token = "a1b2c3d4e5f60718293a4b5c6d7e8f90") => ({
  partnerId,
  appTokenId: "0_abcd1234",
  token: Redacted.make(token)
})

const withSessions = <A, E>(
  options: AppTokenSessions.Options,
  f: (
    sessions: AppTokenSessions.Service,
    server: Effect.Effect.Success<typeof makeServer>
  ) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const server = yield* makeServer
    const sessions = yield* AppTokenSessions.make(options).pipe(
      Effect.provide(
        Layer.mergeAll(Layer.succeed(HttpClient.HttpClient, server.client), TokenHasher.layer, SessionStore.layerNone)
      )
    )
    return yield* f(sessions, server)
  })

const ksOf = (session: { readonly ks: Redacted.Redacted<string> }) => Redacted.value(session.ks)

describe("AppTokenSessions", () => {
  it.scoped("each key has its own session; a key is reused, not re-acquired", () =>
    withSessions({}, (sessions, server) =>
      Effect.gen(function*() {
        const a = yield* sessions.get(key(111))
        const b = yield* sessions.get(key(222))
        const a2 = yield* sessions.get(key(111))
        assert.isTrue(ksOf(a).startsWith("ks-111-"))
        assert.isTrue(ksOf(b).startsWith("ks-222-"))
        assert.strictEqual(ksOf(a2), ksOf(a))
        assert.strictEqual(yield* server.minted, 2)
        assert.strictEqual(yield* sessions.size, 2)
      })))

  it.scoped("the token is part of the key: a wrong token never gets the session minted with the right one", () =>
    withSessions({}, (sessions) =>
      Effect.gen(function*() {
        const right = yield* sessions.get(key(111, "a1b2c3d4e5f60718293a4b5c6d7e8f90"))
        const wrong = yield* sessions.get(key(111, "ffffffffffffffffffffffffffffffff"))
        assert.notStrictEqual(ksOf(right), ksOf(wrong))
        assert.strictEqual(yield* sessions.size, 2)
      })))

  it.scoped("a key's identity never holds the token, only its digest", () =>
    Effect.gen(function*() {
      const settings = yield* KalturaConfig.make(key(111))
      const identity = identityOf(settings)
      assert.include(identity, "0_abcd1234")
      assert.notInclude(identity, "a1b2c3d4e5f60718293a4b5c6d7e8f90")
    }))

  it.scoped("keys that differ only in how their fields would join are different keys", () =>
    withSessions({}, (sessions, server) =>
      Effect.gen(function*() {
        // joined with "|", both would read `…|alice|2|…|edit:0_x` in some arrangement: they must not share a session
        const a = yield* sessions.get({ ...key(111), userId: "alice|2", sessionPrivileges: "edit:0_x" })
        const b = yield* sessions.get({
          ...key(111),
          userId: "alice",
          sessionType: "ADMIN",
          sessionPrivileges: "|edit:0_x"
        })
        assert.notStrictEqual(ksOf(a), ksOf(b))
        assert.strictEqual(yield* server.minted, 2)
        assert.strictEqual(yield* sessions.size, 2)
      })))

  it.scoped("a key object changed after its first use gets the session of its new fields", () =>
    withSessions({}, (sessions, server) =>
      Effect.gen(function*() {
        const mutable: { -readonly [K in keyof AppTokenSessions.Key]: AppTokenSessions.Key[K] } = key(111)
        const first = yield* sessions.get(mutable)
        assert.strictEqual(ksOf(yield* sessions.get(mutable)), ksOf(first))
        mutable.token = Redacted.make("ffffffffffffffffffffffffffffffff")
        const withNewToken = yield* sessions.get(mutable)
        assert.notStrictEqual(ksOf(withNewToken), ksOf(first))
        mutable.userId = "bob"
        const forBob = yield* sessions.get(mutable)
        assert.notStrictEqual(ksOf(forBob), ksOf(withNewToken))
        assert.strictEqual(yield* server.minted, 3)
        // a change to an invalid value is refused, as for a new key
        mutable.partnerId = -1
        assert.strictEqual((yield* Effect.flip(sessions.get(mutable)))._tag, "KalturaConfigError")
      })))

  it.scoped("bad keys fail before any request", () =>
    withSessions({}, (sessions, server) =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(sessions.get({ ...key(111), partnerId: -1 }))
        assert.strictEqual(error._tag, "KalturaConfigError")
        assert.strictEqual(yield* server.minted, 0)
      })))

  it.scoped("capacity: the least recently used key is evicted", () =>
    withSessions({ capacity: 3 }, (sessions, server) =>
      Effect.gen(function*() {
        yield* sessions.get(key(1))
        yield* sessions.get(key(2))
        yield* sessions.get(key(3))
        yield* sessions.get(key(1)) // 2 is now the least recently used
        yield* sessions.get(key(4))
        assert.strictEqual(yield* sessions.size, 3)
        assert.strictEqual(yield* server.minted, 4)
        yield* sessions.get(key(1))
        yield* sessions.get(key(3))
        assert.strictEqual(yield* server.minted, 4) // 1 and 3 were kept
        yield* sessions.get(key(2))
        assert.strictEqual(yield* server.minted, 5) // 2 had been evicted
      })))

  it.scoped("idle keys are evicted after idleTimeToLive", () =>
    withSessions({ idleTimeToLive: "30 minutes" }, (sessions) =>
      Effect.gen(function*() {
        yield* sessions.get(key(1))
        yield* TestClock.adjust("20 minutes")
        yield* sessions.get(key(2))
        yield* TestClock.adjust("15 minutes")
        assert.strictEqual(yield* sessions.size, 1) // key 1 idle for 35 minutes
        yield* TestClock.adjust("20 minutes")
        assert.strictEqual(yield* sessions.size, 0)
      })))

  it.scoped("a late refresh never writes into an entry that was evicted and re-created", () =>
    withSessions({}, (sessions, server) =>
      Effect.gen(function*() {
        // the first acquisition for key 1 is held back at the server
        const reached = yield* Deferred.make<void>()
        const held = yield* Deferred.make<void>()
        yield* Ref.set(server.gate, { reached, held })
        const slow = yield* Effect.fork(sessions.get(key(1)))
        yield* Deferred.await(reached)
        yield* Ref.set(server.gate, undefined)
        // evicted while its acquisition is in flight, then re-created
        yield* sessions.evict(key(1))
        const fresh = yield* sessions.get(key(1))
        // the evicted entry's request now completes late: its waiting caller gets that session...
        yield* Deferred.succeed(held, undefined)
        const slowSession = yield* Fiber.join(slow)
        assert.isTrue(ksOf(slowSession).startsWith("ks-1-"))
        assert.notStrictEqual(ksOf(slowSession), ksOf(fresh))
        // ...and it never reaches the new entry
        const again = yield* sessions.get(key(1))
        assert.strictEqual(ksOf(again), ksOf(fresh))
        assert.strictEqual(yield* sessions.size, 1)
      })))
})
