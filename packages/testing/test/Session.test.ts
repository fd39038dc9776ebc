import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectApiError, expectInvalidKs, startSession, widgetKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

describe("session.get / session.end / session.start", () => {
  it.live("session.get returns the KS's content, values as strings", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ id: "0_abcd1234" })
        const info = (yield* startSession(fake.url, token, { type: 2 })).json
        const got = yield* call(fake.url, "session", "get", { ks: info.ks })
        assert.deepStrictEqual(got.json, {
          ks: info.ks,
          sessionType: "2",
          partnerId: "12345",
          userId: "",
          expiry: String(info.expiry),
          privileges: "sessionid:0_abcd1234,apptoken:0_abcd1234",
          objectType: "KalturaSessionInfo"
        })
        // of another KS given as `session`
        const widget = yield* widgetKs(fake.url, fake.partnerId)
        const other = yield* call(fake.url, "session", "get", { ks: info.ks, session: widget })
        assert.strictEqual(other.json.privileges, "view:*,widget:1")
        assert.strictEqual(other.json.userId, "0")
        assert.strictEqual((yield* call(fake.url, "session", "get", {})).json.code, "SERVICE_FORBIDDEN")
      })
    ))

  it.live("session.end on an app-token KS revokes every KS of that token, existing and new, for 24 h", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        const other = yield* fake.seedAppToken()
        const a = (yield* startSession(fake.url, token)).json.ks
        const b = (yield* startSession(fake.url, token)).json.ks
        const unrelated = (yield* startSession(fake.url, other)).json.ks
        const ended = yield* call(fake.url, "session", "end", { ks: a })
        assert.strictEqual(ended.text, "null")
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: a }), "LOGOUT")
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: b }), "LOGOUT")
        // a KS minted after the end is dead on arrival: same sessionid
        const c = (yield* startSession(fake.url, token)).json.ks
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: c }), "LOGOUT")
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks: unrelated })).json.totalCount, 3)
        // … for 24 hours of server time
        yield* fake.setClockOffset(86401 * 1000)
        const d = (yield* startSession(fake.url, token)).json.ks
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks: d })).json.totalCount, 3)
      })
    ))

  it.live("widget sessions skip the revocation lookup", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const widget = yield* widgetKs(fake.url, fake.partnerId)
        yield* call(fake.url, "session", "end", { ks: widget })
        const token = yield* fake.seedAppToken()
        const response = yield* call(fake.url, "apptoken", "startSession", {
          ks: widget,
          id: token.id,
          tokenHash: "wrong"
        })
        assert.strictEqual(response.json.code, "INVALID_APP_TOKEN_HASH")
      })
    ))

  it.live("session.start with the admin secret (ADMIN) or the user secret (USER); a wrong secret fails", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const admin = yield* call(fake.url, "session", "start", {
          secret: FakeKaltura.defaultAdminSecret,
          partnerId: fake.partnerId,
          type: 2
        })
        assert.match(admin.json, /^djJ8MTIzNDV8/, admin.text)
        const ks = admin.json as string
        assert.strictEqual((yield* call(fake.url, "appToken", "list", { ks })).json.totalCount, 0)
        const user = yield* call(fake.url, "session", "start", {
          secret: FakeKaltura.defaultUserSecret,
          partnerId: fake.partnerId,
          userId: "u1"
        })
        assert.strictEqual(typeof user.json, "string")
        expectApiError(
          yield* call(fake.url, "session", "start", {
            secret: FakeKaltura.defaultUserSecret,
            partnerId: fake.partnerId,
            type: 2
          }),
          "START_SESSION_ERROR",
          "Error while starting session for partner [12345]",
          { PID: "12345" }
        )
      })
    ))
})

describe("multirequest (spec §4.4, §9)", () => {
  it.live("0-based (Node client) with {1:result:ks}, top-level ks inherited, array mixing results and errors", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const adminKs = yield* fake.mintKs({ type: 2 })
        const response = yield* call(fake.url, "multirequest", "", {})
        assert.deepStrictEqual(response.json, [])
        const multi = yield* call(fake.url, "multirequest", "null", {
          ks: adminKs,
          "0": { service: "session", action: "startWidgetSession", widgetId: "_12345", format: 2 },
          "1": { service: "session", action: "get", session: "{1:result:ks}" },
          "2": { service: "appToken", action: "get", id: "0_missing" },
          "3": { service: "appToken", action: "list" },
          "4": { service: "session", action: "get", session: "{3:result:ks}" }
        })
        assert.isArray(multi.json, multi.text)
        assert.strictEqual(multi.json.length, 5)
        assert.strictEqual(multi.json[0].objectType, "KalturaStartWidgetSessionResponse")
        assert.strictEqual(multi.json[1].ks, multi.json[0].ks)
        assert.strictEqual(multi.json[1].privileges, "view:*,widget:1")
        assert.deepStrictEqual(Object.keys(multi.json[2]), ["code", "message", "objectType", "args"])
        assert.strictEqual(multi.json[2].code, "APP_TOKEN_ID_NOT_FOUND")
        assert.strictEqual(multi.json[3].objectType, "KalturaAppTokenListResponse")
        // a reference to a failed request becomes "", so session.get falls back to the current KS
        assert.strictEqual(multi.json[4].ks, adminKs)
        assert.strictEqual(yield* fake.callCount("multirequest"), 2)
        assert.strictEqual(yield* fake.callCount("session.get"), 2)
      })
    ))

  it.live("1-based prefixed keys (1:service) in a form body; stops at the first index without service/action", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const body = new URLSearchParams({
          format: "1",
          "1:service": "session",
          "1:action": "startWidgetSession",
          "1:widgetId": "_12345",
          "2:service": "session",
          "2:action": "get",
          "2:ks": "{1:result:ks}",
          "4:service": "session",
          "4:action": "startWidgetSession",
          "4:widgetId": "_12345"
        })
        const response = yield* Effect.tryPromise(() =>
          fetch(`${fake.url}/api_v3/service/multirequest`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: body.toString(),
            signal: AbortSignal.timeout(5000)
          }).then((r) => r.json() as Promise<any>)
        )
        assert.strictEqual(response.length, 2)
        assert.strictEqual(response[1].privileges, "view:*,widget:1")
      })
    ))

  it.live("errors inside a multirequest follow each action's validation (expired KS per sub-request)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const expired = yield* fake.mintKs({ expiry: -1 })
        const multi = yield* call(fake.url, "multirequest", "", {
          ks: expired,
          "0": { service: "session", action: "startWidgetSession", widgetId: "_12345" },
          "1": { service: "session", action: "startWidgetSession", widgetId: "_12345", ks: "" }
        })
        assert.strictEqual(multi.json[0].code, "INVALID_KS")
        assert.strictEqual(multi.json[0].args.KSID, "EXPIRED")
        assert.strictEqual(multi.json[1].objectType, "KalturaStartWidgetSessionResponse")
        expectApiError(
          { ...multi, json: multi.json[0] },
          "INVALID_KS",
          "Invalid KS \"EXPIRED\", Error \"-1,INVALID_STR\"",
          {
            KSID: "EXPIRED",
            ERR_CODE: "-1",
            ERR_DESC: "INVALID_STR"
          }
        )
      })
    ))
})
