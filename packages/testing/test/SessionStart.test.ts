/**
 * `session.start` as kaltura/server c447fdb runs it (api_v3/services/SessionService.php:40, kSessionUtils::
 * startKSession, Partner::validateSecret), and the dispatcher's partner rules every action goes through
 * (KalturaDispatcher::dispatch:42–44, kCurrentContext::initKsPartnerUser, kPermissionManager::init).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectApiError, expectInvalidKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

const start = (url: string, params: Record<string, unknown>) => call(url, "session", "start", params)

const startSessionError = (pid: string) =>
  [
    "START_SESSION_ERROR",
    `Error while starting session for partner [${pid}]`,
    { PID: pid }
  ] as const

const contentBlocked = [
  "SERVICE_FORBIDDEN_CONTENT_BLOCKED",
  "The access to this service is forbidden since the specified partner is blocked",
  []
] as const

describe("session.start against SessionService::startAction", () => {
  it.live("the partner is the partnerId argument only: absent is partner 0, whatever KS is sent", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        expectApiError(
          yield* start(fake.url, { secret: FakeKaltura.defaultAdminSecret, type: 2 }),
          ...startSessionError("0")
        )
        const ks = yield* fake.mintKs({ type: 2 })
        expectApiError(
          yield* start(fake.url, { ks, secret: FakeKaltura.defaultAdminSecret, type: 2 }),
          ...startSessionError("0")
        )
        // p selects the partner for the dispatcher, not for the action
        expectApiError(
          yield* start(fake.url, { p: 12345, secret: FakeKaltura.defaultAdminSecret, type: 2 }),
          ...startSessionError("0")
        )
        const ok = yield* start(fake.url, { ks, partnerId: 12345, secret: FakeKaltura.defaultAdminSecret, type: 2 })
        assert.strictEqual(typeof ok.json, "string", ok.text)
      })
    ))

  it.live("an unknown or blocked partner is SERVICE_FORBIDDEN_CONTENT_BLOCKED; a wrong secret START_SESSION_ERROR", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        expectApiError(
          yield* start(fake.url, { partnerId: 99999, secret: FakeKaltura.defaultAdminSecret }),
          ...contentBlocked
        )
        yield* fake.seedPartner({ id: 777, blocked: true })
        expectApiError(
          yield* start(fake.url, { partnerId: 777, secret: FakeKaltura.defaultAdminSecret }),
          ...contentBlocked
        )
        expectApiError(yield* start(fake.url, { partnerId: 12345, secret: "wrong" }), ...startSessionError("12345"))
        // a JSON null is a present parameter, cast to "": a wrong secret, not a missing one
        expectApiError(yield* start(fake.url, { partnerId: 12345, secret: null }), ...startSessionError("12345"))
        expectApiError(
          yield* start(fake.url, { partnerId: 12345 }),
          "MISSING_MANDATORY_PARAMETER",
          "Missing parameter \"secret\"",
          { PARAM_NAME: "secret" }
        )
      })
    ))

  it.live("the admin secret gives USER or ADMIN, the user secret USER only; type is the KalturaSessionType enum", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const decode = (ks: unknown) => Effect.map(fake.decodeKs(ks as string), Option.getOrThrow)
        const asUser = yield* start(fake.url, { partnerId: 12345, secret: FakeKaltura.defaultAdminSecret })
        assert.strictEqual((yield* decode(asUser.json)).type, 0, asUser.text)
        const zeroTwo = yield* start(fake.url, { partnerId: 12345, secret: FakeKaltura.defaultAdminSecret, type: "02" })
        assert.strictEqual((yield* decode(zeroTwo.json)).type, 2, zeroTwo.text)
        expectApiError(
          yield* start(fake.url, { partnerId: 12345, secret: FakeKaltura.defaultUserSecret, type: 2 }),
          ...startSessionError("12345")
        )
        for (const [type, shown] of [["", ""], [1, "1"], ["TRUE", "1"], ["03", "03"]] as const) {
          expectApiError(
            yield* start(fake.url, { partnerId: 12345, secret: FakeKaltura.defaultUserSecret, type }),
            "INVALID_ENUM_VALUE",
            `Invalid enumeration value "${shown}" for parameter "type", expecting enumeration type "KalturaSessionType"`,
            { ENUM_VAL: shown, PARAM_NAME: "type", ENUM_TYPE: "KalturaSessionType" }
          )
        }
      })
    ))

  it.live("expiry: default 86400, capped by ksMaxExpiry (a day when the partner has none), negative kept", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const validFor = (ks: unknown) =>
          Effect.gen(function*() {
            const data = Option.getOrThrow(yield* fake.decodeKs(ks as string))
            return data.validUntil - (yield* fake.now)
          })
        yield* fake.seedPartner({ id: 600, ksMaxExpiry: 600 })
        yield* fake.seedPartner({ id: 700, ksMaxExpiry: 0 })
        const secret = FakeKaltura.defaultAdminSecret
        assert.closeTo(yield* validFor((yield* start(fake.url, { partnerId: 12345, secret })).json), 86400, 2)
        assert.closeTo(yield* validFor((yield* start(fake.url, { partnerId: 600, secret })).json), 600, 2)
        const uncapped = (yield* start(fake.url, { partnerId: 700, secret, expiry: 200000 })).json
        assert.closeTo(yield* validFor(uncapped), 86400, 2)
        const negative = (yield* start(fake.url, { partnerId: 12345, secret, expiry: -10 })).json
        assert.closeTo(yield* validFor(negative), -10, 2)
        expectInvalidKs(yield* call(fake.url, "session", "get", { ks: negative }), "EXPIRED")
      })
    ))
})

describe("the dispatcher's partner rules (every action)", () => {
  it.live("a KS sent with session.start is still checked; a KS of one partner cannot act on another", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const expired = yield* fake.mintKs({ type: 2, expiry: -1 })
        expectInvalidKs(
          yield* start(fake.url, { ks: expired, partnerId: 12345, secret: FakeKaltura.defaultAdminSecret }),
          "EXPIRED"
        )
        yield* fake.seedPartner({ id: 777 })
        const ks = yield* fake.mintKs({ type: 2 })
        expectApiError(
          yield* start(fake.url, { ks, partnerId: 777, secret: FakeKaltura.defaultAdminSecret }),
          "SERVICE_FORBIDDEN",
          "The access to service [session->start] is forbidden",
          { SERVICE: "session->start" }
        )
        expectApiError(
          yield* call(fake.url, "appToken", "list", { ks, partnerId: 777 }),
          "SERVICE_FORBIDDEN",
          "The access to service [apptoken->list] is forbidden",
          { SERVICE: "apptoken->list" }
        )
        // with a KS, a requested partner 0 is dropped
        assert.strictEqual((yield* call(fake.url, "appToken", "list", { ks, partnerId: 0 })).json.totalCount, 0)
      })
    ))

  it.live("p wins over partnerId; a blocked KS partner is refused", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const widget = (params: Record<string, unknown>) =>
          call(fake.url, "session", "startWidgetSession", { widgetId: "_12345", ...params })
        expectApiError(yield* widget({ p: 99999, partnerId: 12345 }), ...contentBlocked)
        assert.strictEqual(
          (yield* widget({ p: 12345, partnerId: 99999 })).json.objectType,
          "KalturaStartWidgetSessionResponse"
        )
        // p = "0" is falsy, so partnerId is read
        expectApiError(yield* widget({ p: "0", partnerId: 99999 }), ...contentBlocked)
        yield* fake.seedPartner({ id: 888, blocked: false })
        const ks = yield* fake.mintKs({ partnerId: 888, type: 2 })
        yield* fake.seedPartner({ id: 888, blocked: true })
        expectApiError(yield* call(fake.url, "appToken", "list", { ks }), ...contentBlocked)
      })
    ))

  it.live("session.end is always allowed: without a KS it returns null", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ended = yield* call(fake.url, "session", "end", {})
        assert.strictEqual(ended.status, 200)
        assert.strictEqual(ended.text, "null")
      })
    ))
})
