import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectApiError, expectInvalidKs, startSession } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

describe("appToken CRUD (spec §5, §9)", () => {
  it.live("add: id ^\\d+_[0-9a-z]{8}$, token 32 lower-case hex, status ACTIVE, hashType SHA1 and sessionDuration defaults", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 321, ksMaxExpiry: 7200 })
        const ks = yield* fake.mintKs({ partnerId: 321, type: 2 })
        const before = yield* fake.now
        const ids = new Set<string>()
        for (let i = 0; i < 5; i++) {
          const added = yield* call(fake.url, "appToken", "add", { ks, appToken: { objectType: "KalturaAppToken" } })
          assert.match(added.json.id, /^\d+_[0-9a-z]{8}$/, added.text)
          assert.match(added.json.token, /^[0-9a-f]{32}$/)
          assert.strictEqual(added.json.status, 2)
          assert.strictEqual(added.json.hashType, "SHA1")
          assert.strictEqual(added.json.sessionDuration, 7200)
          assert.strictEqual(added.json.partnerId, 321)
          assert.isTrue(added.json.createdAt >= before)
          ids.add(added.json.id)
        }
        assert.strictEqual(ids.size, 5)
        // seeded tokens follow the same rules
        const seeded = yield* fake.seedAppToken()
        assert.match(seeded.id, /^\d+_[0-9a-z]{8}$/)
        assert.match(seeded.token, /^[0-9a-f]{32}$/)
        assert.strictEqual(seeded.hashType, "SHA1")
        assert.strictEqual(seeded.sessionDuration, 86400)
      })
    ))

  it.live("add: writable fields, relative expiry, enum and field validation, read-only fields rejected", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const now = yield* fake.now
        const added = yield* call(fake.url, "appToken", "add", {
          ks,
          appToken: {
            objectType: "KalturaAppToken",
            expiry: 3600,
            sessionType: 2,
            sessionUserId: "svc@example.com",
            sessionDuration: 600,
            sessionPrivileges: "sview:*,list:*",
            hashType: "SHA256",
            description: "CI token"
          }
        })
        assert.closeTo(added.json.expiry, now + 3600, 2)
        assert.strictEqual(added.json.sessionType, 2)
        assert.strictEqual(added.json.sessionUserId, "svc@example.com")
        assert.strictEqual(added.json.sessionDuration, 600)
        assert.strictEqual(added.json.sessionPrivileges, "sview:*,list:*")
        assert.strictEqual(added.json.hashType, "SHA256")
        assert.strictEqual(added.json.description, "CI token")
        const absolute = yield* call(fake.url, "appToken", "add", { ks, appToken: { expiry: 2000000000 } })
        assert.strictEqual(absolute.json.expiry, 2000000000)
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks, appToken: { hashType: "sha256" } }),
          "INVALID_ENUM_VALUE",
          "Invalid enumeration value \"sha256\" for parameter \"hashType\", expecting enumeration type \"KalturaAppTokenHashType\"",
          { ENUM_VAL: "sha256", PARAM_NAME: "hashType", ENUM_TYPE: "KalturaAppTokenHashType" }
        )
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks, appToken: { sessionUserId: "has space" } }),
          "INVALID_FIELD_VALUE",
          "value in field [sessionUserId] is not valid",
          { FIELD_NAME: "sessionUserId" }
        )
        assert.strictEqual(
          (yield* call(fake.url, "appToken", "add", { ks, appToken: { token: "mine" } })).json.code,
          "PROPERTY_VALIDATION_NOT_UPDATABLE"
        )
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks }),
          "MISSING_MANDATORY_PARAMETER",
          "Missing parameter \"appToken\"",
          { PARAM_NAME: "appToken" }
        )
      })
    ))

  it.live("CRUD needs an ADMIN KS: a user or widget KS, or none, gets SERVICE_FORBIDDEN", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const userKs = yield* fake.mintKs({ type: 0, userId: "bob" })
        for (
          const [action, params] of [["add", { appToken: {} }], ["get", { id: "0_x" }], ["list", {}], [
            "update",
            { id: "0_x", appToken: {} }
          ], ["delete", { id: "0_x" }]] as const
        ) {
          for (const ks of [userKs, undefined]) {
            expectApiError(
              yield* call(fake.url, "appToken", action, { ...params, ...(ks ? { ks } : {}) }),
              "SERVICE_FORBIDDEN",
              `The access to service [apptoken->${action}] is forbidden`,
              { SERVICE: `apptoken->${action}` }
            )
          }
        }
      })
    ))

  it.live("get, list (filters, pager, deleted excluded), update (hashType and sessionType too)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const a = yield* fake.seedAppToken({ sessionUserId: "alice" })
        const b = yield* fake.seedAppToken({ status: 1 })
        const c = yield* fake.seedAppToken()
        yield* fake.deleteAppToken(c.id)
        const got = yield* call(fake.url, "appToken", "get", { ks, id: a.id })
        assert.strictEqual(got.json.token, a.token)
        assert.strictEqual(got.json.hashType, "SHA1")
        expectApiError(
          yield* call(fake.url, "appToken", "get", { ks, id: c.id }),
          "APP_TOKEN_ID_NOT_FOUND",
          `Application token id "${c.id}" not found`,
          { ID: c.id }
        )
        const list = yield* call(fake.url, "appToken", "list", { ks })
        assert.strictEqual(list.json.objectType, "KalturaAppTokenListResponse")
        assert.strictEqual(list.json.totalCount, 2)
        assert.deepStrictEqual(list.json.objects.map((o: any) => o.id), [a.id, b.id])
        const filtered = yield* call(fake.url, "appToken", "list", { ks, filter: { statusEqual: 1 } })
        assert.deepStrictEqual(filtered.json.objects.map((o: any) => o.id), [b.id])
        const byUser = yield* call(fake.url, "appToken", "list", { ks, filter: { sessionUserIdEqual: "alice" } })
        assert.deepStrictEqual(byUser.json.objects.map((o: any) => o.id), [a.id])
        const paged = yield* call(fake.url, "appToken", "list", { ks, pager: { pageSize: 1, pageIndex: 2 } })
        assert.deepStrictEqual(paged.json.objects.map((o: any) => o.id), [b.id])
        assert.strictEqual(paged.json.totalCount, 2)
        const updated = yield* call(fake.url, "appToken", "update", {
          ks,
          id: a.id,
          appToken: { objectType: "KalturaAppToken", hashType: "SHA512", sessionType: 2, description: "x" }
        })
        assert.strictEqual(updated.json.hashType, "SHA512")
        assert.strictEqual(updated.json.sessionType, 2)
        assert.strictEqual(updated.json.token, a.token)
        assert.strictEqual(updated.json.sessionUserId, "alice")
        const session = yield* startSession(fake.url, { ...a, hashType: "SHA512" })
        assert.strictEqual(session.json.sessionType, 2, session.text)
        assert.strictEqual(
          (yield* call(fake.url, "appToken", "update", { ks, id: "0_nothere", appToken: {} })).json.code,
          "APP_TOKEN_ID_NOT_FOUND"
        )
      })
    ))

  it.live("delete → status 3, null body, and every KS minted from the token is revoked (INVALID_KS LOGOUT)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const adminKs = yield* fake.mintKs({ type: 2 })
        const token = yield* fake.seedAppToken()
        const other = yield* fake.seedAppToken()
        const first = (yield* startSession(fake.url, token)).json.ks
        const second = (yield* startSession(fake.url, token, { type: 2 })).json.ks
        const unrelated = (yield* startSession(fake.url, other)).json.ks
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks: first })).json.totalCount, 3)
        const deleted = yield* call(fake.url, "appToken", "delete", { ks: adminKs, id: token.id })
        assert.strictEqual(deleted.text, "null")
        assert.strictEqual(Option.getOrThrow(yield* fake.getAppToken(token.id)).status, 3)
        for (const ks of [first, second]) {
          expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks }), "LOGOUT")
        }
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks: unrelated })).json.totalCount, 3)
        assert.strictEqual((yield* startSession(fake.url, token)).json.code, "APP_TOKEN_ID_NOT_FOUND")
        assert.strictEqual(
          (yield* call(fake.url, "appToken", "delete", { ks: adminKs, id: token.id })).json.code,
          "APP_TOKEN_ID_NOT_FOUND"
        )
      })
    ))

  it.live("the admin handle sets DISABLED and a past expiry (no public API can)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        yield* fake.disableAppToken(token.id)
        assert.strictEqual((yield* startSession(fake.url, token)).json.code, "APP_TOKEN_NOT_ACTIVE")
        yield* fake.enableAppToken(token.id)
        const now = yield* fake.now
        const expired = yield* fake.updateAppToken(token.id, { expiry: now - 3600 })
        assert.strictEqual(expired.expiry, now - 3600)
        assert.strictEqual((yield* startSession(fake.url, token)).json.code, "APP_TOKEN_EXPIRED")
        // the read-only status is rejected on the API
        const ks = yield* fake.mintKs({ type: 2 })
        expectApiError(
          yield* call(fake.url, "appToken", "update", { ks, id: token.id, appToken: { status: 1 } }),
          "PROPERTY_VALIDATION_NOT_UPDATABLE",
          "The property \"KalturaAppToken::status\" cannot be updated",
          { PROP_NAME: "KalturaAppToken::status" }
        )
      })
    ))
})
