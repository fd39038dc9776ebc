import { assert, describe, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectApiError, expectInvalidKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>, options?: FakeKaltura.Options) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer(options)))

const decode = (fake: FakeKaltura.Service, ks: string) =>
  Effect.map(fake.decodeKs(ks), Option.getOrThrowWith(() => new Error(`undecodable KS ${ks}`)))

describe("session.startWidgetSession (spec §2, §9)", () => {
  it.live("_<pid> resolves to the partner; the response is exactly partnerId (number), ks, userId 0, objectType", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const response = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345" })
        assert.deepStrictEqual(Object.keys(response.json), ["partnerId", "ks", "userId", "objectType"])
        assert.strictEqual(response.json.partnerId, 12345)
        assert.strictEqual(response.json.userId, 0)
        assert.strictEqual(response.json.objectType, "KalturaStartWidgetSessionResponse")
        assert.match(response.json.ks, /^djJ8MTIzNDV8[A-Za-z0-9_-]+=*$/)
        assert.notProperty(response.json, "expiry")
        assert.match(response.text, /^\{"partnerId":12345,"ks":"[^"]+","userId":0,"objectType":/)
      })
    ))

  it.live("the KS is type 0, user \"0\", privileges view:*,widget:1, valid for the requested expiry", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const before = yield* fake.now
        const response = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry: 600 })
        const ks = yield* decode(fake, response.json.ks)
        assert.strictEqual(ks.version, 2)
        assert.strictEqual(ks.type, 0)
        assert.strictEqual(ks.userId, "0")
        assert.strictEqual(ks.privileges, "view:*,widget:1")
        assert.isTrue(ks.validUntil >= before + 600 && ks.validUntil <= (yield* fake.now) + 600)
      })
    ))

  it.live("expiry defaults to 86400 and is capped by the partner's ksMaxExpiry", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 555, ksMaxExpiry: 3600 })
        const now = yield* fake.now
        const byDefault = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345" })
        assert.closeTo((yield* decode(fake, byDefault.json.ks)).validUntil - now, 86400, 2)
        const capped = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry: 999999 })
        assert.closeTo((yield* decode(fake, capped.json.ks)).validUntil - now, 86400, 2)
        const small = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_555", expiry: 7200 })
        assert.closeTo((yield* decode(fake, small.json.ks)).validUntil - now, 3600, 2)
      })
    ))

  it.live("expiry <= 0 (or non-numeric) gives an already-expired KS", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        for (const expiry of [0, -10, "abc"]) {
          const response = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry })
          assert.strictEqual(response.json.objectType, "KalturaStartWidgetSessionResponse", response.text)
          const used = yield* call(fake.url, "session", "get", { ks: response.json.ks })
          expectInvalidKs(used, "EXPIRED")
        }
      })
    ))

  it.live("an unknown widget → INVALID_WIDGET_ID; a missing widgetId → MISSING_MANDATORY_PARAMETER", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        for (const widgetId of ["_99999", "12345", "_12345x", "0_abc"]) {
          expectApiError(
            yield* call(fake.url, "session", "startWidgetSession", { widgetId }),
            "INVALID_WIDGET_ID",
            `Unknown widget [${widgetId}]`,
            { WIDGET_ID: widgetId }
          )
        }
        expectApiError(
          yield* call(fake.url, "session", "startWidgetSession", {}),
          "MISSING_MANDATORY_PARAMETER",
          "Missing parameter \"widgetId\"",
          { PARAM_NAME: "widgetId" }
        )
      })
    ))

  it.live("a ks sent with it is still validated: expired → INVALID_KS EXPIRED, garbage → INVALID_KS <ks>", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const expired = yield* fake.mintKs({ expiry: -1 })
        expectInvalidKs(
          yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", ks: expired }),
          "EXPIRED"
        )
        expectInvalidKs(
          yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", ks: "garbage" }),
          "garbage"
        )
        const valid = yield* fake.mintKs({ expiry: 60 })
        const ok = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", ks: valid })
        assert.strictEqual(ok.json.objectType, "KalturaStartWidgetSessionResponse")
      })
    ))

  it.live("a v1 partner gets v1 widget KSs, readable without the secret", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 4242, ksVersion: 1 })
        const response = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_4242" })
        const decoded = Buffer.from(response.json.ks, "base64").toString("utf8")
        assert.match(decoded, /^[0-9a-f]{40}\|4242;4242;\d+;0;[^;]*;0;view:\*,widget:1;;$/)
      })
    ))
})

describe("widget session realism knobs", () => {
  it.effect("widgetSessionCache: the same KS for identical requests during 600 s (TestClock, sequential calls)", () =>
    Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const first = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry: 3600 })).json
      yield* TestClock.adjust("599 seconds")
      const cached = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry: 3600 })).json
      assert.strictEqual(cached.ks, first.ks)
      const other = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry: 600 })).json
      assert.notStrictEqual(other.ks, first.ks)
      yield* TestClock.adjust("1 second")
      const fresh = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", expiry: 3600 })).json
      assert.notStrictEqual(fresh.ks, first.ks)
      assert.strictEqual(Option.getOrThrow(yield* fake.decodeKs(fresh.ks)).validUntil, 600 + 3600)
    }).pipe(Effect.provide(FakeKaltura.layer({ widgetSessionCache: true }))))

  it.live("without the knob every call mints a new KS", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const a = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345" })).json.ks
        const b = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345" })).json.ks
        assert.notStrictEqual(a, b)
      })
    ))
})
