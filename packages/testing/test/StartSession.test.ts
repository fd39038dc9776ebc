import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { FakeKaltura, Ks } from "../src/index.js"
import { call, expectApiError, expectInvalidKs, request, startSession, widgetKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

const start = (fake: FakeKaltura.Service, params: Record<string, unknown>) =>
  call(fake.url, "apptoken", "startSession", params)

const forbidden = {
  code: "SERVICE_FORBIDDEN",
  message: "The access to service [apptoken->startSession] is forbidden",
  args: { SERVICE: "apptoken->startSession" }
}

describe("appToken.startSession validation order (spec §1.2, §9)", () => {
  it.live("1. an unparseable KS → INVALID_KS with the KS string, before any argument check", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        expectInvalidKs(yield* start(fake, { ks: "not-a-ks" }), "not-a-ks")
        // a well-formed KS of an unknown partner, or signed with another secret
        const foreign = Ks.encodeV2({ partnerId: 999, adminSecret: "x", expiresAt: 2e9, type: 0, userId: "0" })
        expectInvalidKs(yield* start(fake, { ks: foreign }), foreign)
        const forged = Ks.encodeV2({ partnerId: 12345, adminSecret: "wrong", expiresAt: 2e9, type: 0, userId: "0" })
        expectInvalidKs(yield* start(fake, { ks: forged, id: "0_x", tokenHash: "y" }), forged)
      })
    ))

  it.live("2. id, then tokenHash required; type must be 0 or 2", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* widgetKs(fake.url, fake.partnerId)
        expectApiError(yield* start(fake, { ks }), "MISSING_MANDATORY_PARAMETER", "Missing parameter \"id\"", {
          PARAM_NAME: "id"
        })
        expectApiError(
          yield* start(fake, { ks, id: "0_x" }),
          "MISSING_MANDATORY_PARAMETER",
          "Missing parameter \"tokenHash\"",
          { PARAM_NAME: "tokenHash" }
        )
        for (const [type, value] of [[1, "1"], ["1", "1"], [3, "3"], ["true", "1"], ["admin", "admin"]] as const) {
          expectApiError(
            yield* start(fake, { ks, id: "0_x", tokenHash: "y", type }),
            "INVALID_ENUM_VALUE",
            `Invalid enumeration value "${value}" for parameter "type", expecting enumeration type "KalturaSessionType"`,
            { ENUM_VAL: value, PARAM_NAME: "type", ENUM_TYPE: "KalturaSessionType" }
          )
        }
        // type 0, 2 and "false" pass argument validation (and reach the token lookup)
        for (const type of [0, 2, "2", "false"]) {
          assert.strictEqual(
            (yield* start(fake, { ks, id: "0_x", tokenHash: "y", type })).json.code,
            "APP_TOKEN_ID_NOT_FOUND"
          )
        }
      })
    ))

  it.live("3. KS validity after the arguments: EXPIRED, LOGOUT", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const expired = yield* fake.mintKs({ type: 0, userId: "0", privileges: "view:*,widget:1", expiry: 0 })
        // the argument check comes first …
        assert.strictEqual((yield* start(fake, { ks: expired })).json.code, "MISSING_MANDATORY_PARAMETER")
        // … then validity, before the token lookup
        expectInvalidKs(yield* start(fake, { ks: expired, id: "0_unknown", tokenHash: "y" }), "EXPIRED")
        const revoked = yield* fake.mintKs({ type: 0, expiry: 600, privileges: "sessionid:0_abc" })
        yield* fake.revokeKs(revoked)
        expectInvalidKs(yield* start(fake, { ks: revoked, id: "0_unknown", tokenHash: "y" }), "LOGOUT")
      })
    ))

  it.live("4. no KS → SERVICE_FORBIDDEN (not MISSING_KS), after the arguments, before the token lookup", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        assert.strictEqual((yield* start(fake, {})).json.code, "MISSING_MANDATORY_PARAMETER")
        for (const id of ["0_unknown", token.id]) {
          const response = yield* start(fake, { id, tokenHash: "y" })
          expectApiError(response, forbidden.code, forbidden.message, forbidden.args)
          assert.strictEqual(response.headers.get("x-kaltura"), "error-SERVICE_FORBIDDEN")
        }
        // an empty ks is no ks
        assert.strictEqual((yield* start(fake, { ks: "", id: token.id, tokenHash: "y" })).json.code, forbidden.code)
      })
    ))

  it.live("5. the token is looked up within the KS's partner; unknown, deleted or foreign → APP_TOKEN_ID_NOT_FOUND", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 777, adminSecret: "secret-777" })
        const foreign = yield* fake.seedAppToken({ partnerId: 777 })
        const deleted = yield* fake.seedAppToken()
        yield* fake.deleteAppToken(deleted.id)
        const ks = yield* widgetKs(fake.url, fake.partnerId)
        for (const token of [{ id: "0_nothere", token: "" }, foreign, deleted]) {
          expectApiError(
            yield* start(fake, { ks, id: token.id, tokenHash: Ks.appTokenHash("SHA1", ks, token.token) }),
            "APP_TOKEN_ID_NOT_FOUND",
            `Application token id "${token.id}" not found`,
            { ID: token.id }
          )
        }
        // and the foreign token works with its own partner's KS
        const ok = yield* startSession(fake.url, foreign, {}, 777)
        assert.strictEqual(ok.json.objectType, "KalturaSessionInfo", ok.text)
        assert.strictEqual(ok.json.partnerId, "777")
      })
    ))

  it.live("6. status != ACTIVE → APP_TOKEN_NOT_ACTIVE, before the hash check", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ status: 1 })
        const ks = yield* widgetKs(fake.url, fake.partnerId)
        for (const tokenHash of ["wrong", Ks.appTokenHash("SHA1", ks, token.token)]) {
          expectApiError(
            yield* start(fake, { ks, id: token.id, tokenHash }),
            "APP_TOKEN_NOT_ACTIVE",
            `Application token id "${token.id}" not active`,
            { ID: token.id }
          )
        }
        yield* fake.enableAppToken(token.id)
        assert.strictEqual((yield* startSession(fake.url, token)).json.objectType, "KalturaSessionInfo")
        yield* fake.disableAppToken(token.id)
        assert.strictEqual((yield* startSession(fake.url, token)).json.code, "APP_TOKEN_NOT_ACTIVE")
      })
    ))

  it.live("7. hash(hashType, ks + token) in lower-case hex, case-sensitive → INVALID_APP_TOKEN_HASH (args [])", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        for (const hashType of Ks.hashTypes) {
          const token = yield* fake.seedAppToken({ hashType })
          const ks = yield* widgetKs(fake.url, fake.partnerId)
          const good = Ks.appTokenHash(hashType, ks, token.token)
          const ok = yield* start(fake, { ks, id: token.id, tokenHash: good })
          assert.strictEqual(ok.json.objectType, "KalturaSessionInfo", `${hashType}: ${ok.text}`)
          const wrongs = [
            good.toUpperCase(),
            Ks.appTokenHash(hashType, token.token, ks), // token first
            Ks.appTokenHash(hashType === "SHA1" ? "SHA256" : "SHA1", ks, token.token), // another algorithm
            Ks.appTokenHash(hashType, ks, token.id), // the id instead of the token
            token.token // the token itself
          ]
          for (const tokenHash of wrongs) {
            expectApiError(
              yield* start(fake, { ks, id: token.id, tokenHash }),
              "INVALID_APP_TOKEN_HASH",
              "Invalid application token hash",
              []
            )
          }
        }
        // any valid KS of the partner works (not only a widget KS): the hash is over the ks parameter as sent
        const token = yield* fake.seedAppToken()
        const adminKs = yield* fake.mintKs({ type: 2 })
        const ok = yield* start(fake, {
          ks: adminKs,
          id: token.id,
          tokenHash: Ks.appTokenHash("SHA1", adminKs, token.token)
        })
        assert.strictEqual(ok.json.objectType, "KalturaSessionInfo")
      })
    ))

  it.live("7. the hash uses the ks parameter exactly as decoded (v1 KS with +/= sent form-urlencoded)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 101, ksVersion: 1 })
        const token = yield* fake.seedAppToken({ partnerId: 101, hashType: "SHA256" })
        // v1 KSs are standard base64: find one with '+', '/' or '=' (the random part varies its length and bytes)
        let ks = ""
        for (let i = 0; i < 50 && !/[+/=]/.test(ks); i++) {
          ks = (yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_101" })).json.ks as string
        }
        assert.match(ks, /[+/=]/)
        const hash = Ks.appTokenHash("SHA256", ks, token.token)
        const form = yield* request(`${fake.url}/api_v3/service/apptoken/action/startSession`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ ks, id: token.id, tokenHash: hash, format: "1" }).toString()
        })
        assert.strictEqual(form.json.objectType, "KalturaSessionInfo", form.text)
        assert.isTrue(Buffer.from(form.json.ks, "base64").toString("utf8").includes("|101;101;"))
      })
    ))

  it.live("8. token expiry → APP_TOKEN_EXPIRED, checked after the hash", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ expiresIn: -10 })
        const ks = yield* widgetKs(fake.url, fake.partnerId)
        expectApiError(
          yield* start(fake, { ks, id: token.id, tokenHash: "wrong" }),
          "INVALID_APP_TOKEN_HASH",
          "Invalid application token hash",
          []
        )
        expectApiError(
          yield* start(fake, { ks, id: token.id, tokenHash: Ks.appTokenHash("SHA1", ks, token.token) }),
          "APP_TOKEN_EXPIRED",
          `Application token id "${token.id}" expired`,
          { ID: token.id }
        )
        const later = yield* fake.seedAppToken()
        yield* fake.expireAppToken(later.id)
        assert.strictEqual((yield* startSession(fake.url, later)).json.code, "APP_TOKEN_EXPIRED")
      })
    ))
})

describe("appToken.startSession derivation (spec §1.4–§1.6, §9)", () => {
  it.live("expiry = min(request || tokenExpiry, tokenExpiry), tokenExpiry = min(sessionDuration, expiry - now)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ sessionDuration: 3600 })
        const lifetime = (params: Record<string, unknown>, t: FakeKaltura.AppToken = token) =>
          Effect.gen(function*() {
            const response = yield* startSession(fake.url, t, params)
            assert.strictEqual(response.json.objectType, "KalturaSessionInfo", response.text)
            const after = yield* fake.now
            const ks = Option.getOrThrow(yield* fake.decodeKs(response.json.ks))
            assert.strictEqual(ks.validUntil, response.json.expiry, "expiry is the absolute valid_until")
            return response.json.expiry - after
          })
        assert.closeTo(yield* lifetime({}), 3600, 1)
        assert.closeTo(yield* lifetime({ expiry: 0 }), 3600, 1)
        assert.closeTo(yield* lifetime({ expiry: 100 }), 100, 1)
        assert.closeTo(yield* lifetime({ expiry: 999999 }), 3600, 1, "a larger request is silently capped")
        assert.closeTo(yield* lifetime({ expiry: -5 }), -5, 1, "a negative request gives an expired KS, no error")
        const expiring = yield* fake.seedAppToken({ sessionDuration: 3600, expiresIn: 600 })
        assert.closeTo(yield* lifetime({}, expiring), 600, 1)
        assert.closeTo(yield* lifetime({ expiry: 1000 }, expiring), 600, 1)
        // no partner cap: a 10-day sessionDuration is honoured although ksMaxExpiry is 86400
        const long = yield* fake.seedAppToken({ sessionDuration: 864000 })
        assert.closeTo(yield* lifetime({}, long), 864000, 1)
        // token.expiry == now gives a 0-second (already expired) KS, not an error
        const now = yield* fake.now
        const edge = yield* fake.seedAppToken({ expiry: now + 2 })
        assert.isTrue((yield* lifetime({}, edge)) <= 2)
      })
    ))

  it.live("defaults: type 0 (USER), user \"\"; the request's type and userId apply when the token has none", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        const plain = yield* startSession(fake.url, token)
        assert.strictEqual(plain.json.sessionType, 0)
        assert.strictEqual(plain.json.userId, "")
        const admin = yield* startSession(fake.url, token, { type: 2, userId: "bob@example.com" })
        assert.strictEqual(admin.json.sessionType, 2)
        assert.strictEqual(admin.json.userId, "bob@example.com")
        const ks = Option.getOrThrow(yield* fake.decodeKs(admin.json.ks))
        assert.strictEqual(ks.type, 2)
        assert.strictEqual(ks.userId, "bob@example.com")
      })
    ))

  it.live("the token's sessionType and sessionUserId override the request", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ sessionType: 0, sessionUserId: "alice" })
        const response = yield* startSession(fake.url, token, { type: 2, userId: "mallory" })
        assert.strictEqual(response.json.sessionType, 0)
        assert.strictEqual(response.json.userId, "alice")
        const adminToken = yield* fake.seedAppToken({ sessionType: 2 })
        assert.strictEqual((yield* startSession(fake.url, adminToken, { type: 0 })).json.sessionType, 2)
      })
    ))

  it.live("privileges: sessionid,apptoken first, then the token's (normalised), then allowed request privileges", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const bare = yield* fake.seedAppToken({ id: "0_abcd1234" })
        assert.strictEqual(
          (yield* startSession(fake.url, bare)).json.privileges,
          "sessionid:0_abcd1234,apptoken:0_abcd1234"
        )
        const token = yield* fake.seedAppToken({ id: "0_efgh5678", sessionPrivileges: "edit:1_a,edit:1_b,list:*" })
        const response = yield* startSession(fake.url, token, {
          sessionPrivileges: "view:*,list:0_x,edit:9_z,setrole:9,sessionid:evil,custom:1"
        })
        const expected = "sessionid:0_efgh5678,apptoken:0_efgh5678,edit:1_a/1_b,list:0_x,view:*,custom:1"
        assert.strictEqual(response.json.privileges, expected)
        assert.strictEqual(Option.getOrThrow(yield* fake.decodeKs(response.json.ks)).privileges, expected)
      })
    ))

  it.live("KalturaSessionInfo: keys in order, partnerId a numeric string (a number only if sent as one)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        const response = yield* startSession(fake.url, token)
        assert.deepStrictEqual(Object.keys(response.json), [
          "ks",
          "sessionType",
          "partnerId",
          "userId",
          "expiry",
          "privileges",
          "objectType"
        ])
        assert.strictEqual(response.json.partnerId, "12345")
        assert.strictEqual(typeof response.json.sessionType, "number")
        assert.strictEqual(typeof response.json.expiry, "number")
        assert.strictEqual(response.json.objectType, "KalturaSessionInfo")
        const numeric = yield* startSession(fake.url, token, { partnerId: 12345 })
        assert.strictEqual(numeric.json.partnerId, 12345)
      })
    ))

  it.live("the new KS is a v2 KS of the partner that unlocks baseEntry.list (the widget KS does not)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ hashType: "SHA512" })
        const response = yield* startSession(fake.url, token)
        assert.match(response.json.ks, /^djJ8MTIzNDV8/)
        const list = yield* call(fake.url, "baseEntry", "list", { ks: response.json.ks })
        assert.strictEqual(list.json.objectType, "KalturaBaseEntryListResponse", list.text)
        assert.strictEqual(list.json.totalCount, 3)
        assert.deepStrictEqual(Object.keys(list.json.objects[0]).at(-1), "objectType")
        const widget = yield* widgetKs(fake.url, fake.partnerId)
        expectApiError(
          yield* call(fake.url, "baseEntry", "list", { ks: widget }),
          "SERVICE_FORBIDDEN",
          "The access to service [baseentry->list] is forbidden",
          { SERVICE: "baseentry->list" }
        )
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", {})).json.code, "SERVICE_FORBIDDEN")
      })
    ))

  it.live("allowWidgetKsForBaseEntryList follows the real permission model", () =>
    Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const widget = yield* widgetKs(fake.url, fake.partnerId)
      const list = yield* call(fake.url, "baseEntry", "list", { ks: widget, filter: { idEqual: "0_entry002" } })
      assert.strictEqual(list.json.totalCount, 1, list.text)
      assert.strictEqual(list.json.objects[0].id, "0_entry002")
    }).pipe(Effect.provide(FakeKaltura.layer({ allowWidgetKsForBaseEntryList: true }))))
})
