import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectInvalidKs, startSession, widgetKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>, options?: FakeKaltura.Options) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer(options)))

describe("the fake's clock", () => {
  // Under TestClock: the server takes its time from the test's TestClock. The HTTP calls here are sequential and
  // the server never sleeps on these paths, so no round trip races a clock adjustment (no retries, timeouts or
  // scripted delays under TestClock).
  it.effect("TestClock expires sessions (valid_until <= now) and app tokens", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        assert.strictEqual(yield* fake.now, 0)
        const token = yield* fake.seedAppToken({ expiresIn: 3600, sessionDuration: 600 })
        const session = yield* startSession(fake.url, token)
        assert.strictEqual(session.json.expiry, 600, session.text)
        assert.strictEqual(session.headers.get("date"), new Date(0).toUTCString())
        yield* TestClock.adjust("599 seconds")
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks: session.json.ks })).json.totalCount, 3)
        yield* TestClock.adjust("1 second")
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: session.json.ks }), "EXPIRED")
        // token.expiry caps the next session: 3600 - 600 = 3000 s left
        const capped = yield* startSession(fake.url, token, { expiry: 5000 })
        assert.strictEqual(capped.json.expiry - 600, 600)
        yield* TestClock.adjust("3000 seconds")
        // token.expiry == now: a 0-second KS, not an error …
        const zero = yield* startSession(fake.url, token)
        assert.strictEqual(zero.json.expiry, 3600)
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: zero.json.ks }), "EXPIRED")
        // … one second later the token is expired
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* startSession(fake.url, token)).json.code, "APP_TOKEN_EXPIRED")
      })
    ))

  it.effect("TestClock expires widget sessions too", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry: 60 })).json.ks
        const token = yield* fake.seedAppToken()
        yield* TestClock.adjust("60 seconds")
        expectInvalidKs(
          yield* call(fake.url, "apptoken", "startSession", { ks, id: token.id, tokenHash: "x" }),
          "EXPIRED"
        )
      })
    ))

  it.live("a clock offset puts the server ahead of (or behind) the client: expiry, Date header, KS validity", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        const session = yield* startSession(fake.url, token, { expiry: 600 })
        const ks = session.json.ks as string
        assert.closeTo(session.json.expiry - Date.now() / 1000, 600, 2)
        // the server runs 10 minutes ahead: the KS the client believes fresh is expired there
        yield* fake.setClockOffset(600_000)
        assert.strictEqual(yield* fake.clockOffset, 600_000)
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks }), "EXPIRED")
        const ahead = yield* startSession(fake.url, token, { expiry: 600 })
        assert.closeTo(ahead.json.expiry - Date.now() / 1000, 1200, 2)
        assert.closeTo(Date.parse(ahead.headers.get("date")!) - Date.now(), 600_000, 2_000)
        // behind: the old KS is valid again
        yield* fake.setClockOffset(-600_000)
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks })).json.totalCount, 3)
        assert.closeTo((yield* fake.now) - Date.now() / 1000, -600, 2)
      })
    ))

  it.live("clockOffsetMillis option and liveClock", () =>
    withFake(
      (fake) =>
        Effect.gen(function*() {
          assert.closeTo((yield* fake.now) - Date.now() / 1000, 30, 2)
          const ks = yield* widgetKs(fake.url, fake.partnerId)
          const decoded = Option.getOrThrow(yield* fake.decodeKs(ks))
          assert.closeTo(decoded.validUntil - Date.now() / 1000, 86400 + 30, 2)
        }),
      { clockOffsetMillis: 30_000, liveClock: true }
    ))

  it.effect("liveClock ignores the TestClock the layer is built under", () =>
    withFake(
      (fake) => Effect.map(fake.now, (now) => assert.closeTo(now, Date.now() / 1000, 2)),
      { liveClock: true }
    ))
})
