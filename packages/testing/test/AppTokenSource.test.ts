/**
 * `appToken.add/get/list/update/delete` as kaltura/server c447fdb runs them: AppTokenService.php,
 * KalturaRequestDeserializer::buildObject / castSimpleType, KalturaObject::validateForInsert / validateForUpdate,
 * kTime::getRelativeTime, AppToken::setKuserIdBySessionUserId, KalturaFilter / baseObjectFilter, KalturaFilterPager.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectApiError, expectInvalidKs, startSession } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

const notUpdatable = (property: string) =>
  [
    "PROPERTY_VALIDATION_NOT_UPDATABLE",
    `The property "KalturaAppToken::${property}" cannot be updated`,
    { PROP_NAME: `KalturaAppToken::${property}` }
  ] as const

const invalidEnum = (value: string, param: string, type: string) =>
  [
    "INVALID_ENUM_VALUE",
    `Invalid enumeration value "${value}" for parameter "${param}", expecting enumeration type "${type}"`,
    { ENUM_VAL: value, PARAM_NAME: param, ENUM_TYPE: type }
  ] as const

describe("appToken.add: JSON null is a value, not 'unset'", () => {
  it.live("null expiry is 0 (expired), null sessionDuration 0, null sessionType USER, null description ''", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const add = (appToken: Record<string, unknown>) => call(fake.url, "appToken", "add", { ks, appToken })
        const expired = yield* add({ expiry: null, hashType: "SHA256" })
        assert.strictEqual(expired.json.expiry, 0, expired.text)
        assert.strictEqual((yield* startSession(fake.url, expired.json)).json.code, "APP_TOKEN_EXPIRED")
        assert.strictEqual((yield* add({ expiry: "" })).json.expiry, 0)
        // -1 is kTime::REMOVE_DATE, kept as is (absolute), not "a second ago"
        assert.strictEqual((yield* add({ expiry: -1 })).json.expiry, -1)
        const zero = yield* add({ sessionDuration: null, sessionType: null, description: null })
        assert.strictEqual(zero.json.sessionDuration, 0, zero.text)
        assert.strictEqual(zero.json.sessionType, 0)
        assert.strictEqual(zero.json.description, "")
        expectApiError(yield* add({ hashType: null }), ...invalidEnum("", "hashType", "KalturaAppTokenHashType"))
        expectApiError(
          yield* add({ sessionUserId: null }),
          "INVALID_FIELD_VALUE",
          "value in field [sessionUserId] is not valid",
          { FIELD_NAME: "sessionUserId" }
        )
        // omitted fields keep the defaults; `<field>__null` is the way to send a null
        const defaults = yield* add({ sessionDuration__null: "", expiry__null: "" })
        assert.strictEqual(defaults.json.sessionDuration, 86400, defaults.text)
        assert.isUndefined(defaults.json.expiry)
        assert.strictEqual(defaults.json.hashType, "SHA1")
        assert.isUndefined(defaults.json.sessionType)
      })
    ))

  it.live("relative times follow the KS's reftime privilege", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2, privileges: "reftime:1000000000" })
        const added = yield* call(fake.url, "appToken", "add", { ks, appToken: { expiry: 3600 } })
        assert.strictEqual(added.json.expiry, 1000003600, added.text)
      })
    ))
})

describe("appToken.add / update: validation order and read-only fields", () => {
  it.live("values are checked in request order before the permission; read-only fields after it", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const userKs = yield* fake.mintKs({ type: 0, userId: "bob" })
        const adminKs = yield* fake.mintKs({ type: 2 })
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks: userKs, appToken: { hashType: "sha1" } }),
          ...invalidEnum("sha1", "hashType", "KalturaAppTokenHashType")
        )
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks: userKs, appToken: { id: "0_mine" } }),
          "SERVICE_FORBIDDEN",
          "The access to service [apptoken->add] is forbidden",
          { SERVICE: "apptoken->add" }
        )
        expectApiError(
          yield* call(fake.url, "appToken", "add", {
            ks: adminKs,
            appToken: { sessionType: 5, hashType: "md5", status: 9 }
          }),
          ...invalidEnum("5", "sessionType", "KalturaSessionType")
        )
        expectApiError(
          yield* call(fake.url, "appToken", "add", {
            ks: adminKs,
            appToken: { status: 9, sessionType: 5 }
          }),
          ...invalidEnum("9", "status", "KalturaAppTokenStatus")
        )
        // the first read-only property in declaration order, whatever the request's order
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks: adminKs, appToken: { status: 2, token: "t", id: null } }),
          ...notUpdatable("id")
        )
        // the read-only check runs after the token lookup in update
        expectApiError(
          yield* call(fake.url, "appToken", "update", { ks: adminKs, id: "0_missing", appToken: { token: "t" } }),
          "APP_TOKEN_ID_NOT_FOUND",
          "Application token id \"0_missing\" not found",
          { ID: "0_missing" }
        )
      })
    ))

  it.live("update accepts read-only fields that keep their value (not createdAt/updatedAt)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const token = yield* fake.seedAppToken()
        const update = (appToken: Record<string, unknown>) =>
          call(fake.url, "appToken", "update", { ks, id: token.id, appToken })
        const same = yield* update({
          id: token.id,
          token: token.token,
          partnerId: token.partnerId,
          status: 2,
          description: "kept"
        })
        assert.strictEqual(same.json.description, "kept", same.text)
        expectApiError(yield* update({ createdAt: token.createdAt }), ...notUpdatable("createdAt"))
        expectApiError(yield* update({ token: "another" }), ...notUpdatable("token"))
        expectApiError(yield* update({ status__null: "" }), ...notUpdatable("status"))
      })
    ))

  it.live("objectType is only a type hint; a non-object appToken is PROPERTY_VALIDATION_WRONG_FORMAT", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const other = yield* call(fake.url, "appToken", "add", {
          ks,
          appToken: { objectType: "KalturaMediaEntry", description: "d" }
        })
        assert.strictEqual(other.json.objectType, "KalturaAppToken", other.text)
        assert.strictEqual(other.json.description, "d")
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks, appToken: "x" }),
          "PROPERTY_VALIDATION_WRONG_FORMAT",
          "The property \"appToken\" must match format array",
          { PROP_NAME: "appToken", FORMAT: "array" }
        )
        expectApiError(
          yield* call(fake.url, "appToken", "add", { ks, appToken: null }),
          "MISSING_MANDATORY_PARAMETER",
          "Missing parameter \"appToken\"",
          { PARAM_NAME: "appToken" }
        )
      })
    ))

  it.live("update: __null clears (hashType reads back SHA1; no sessionDuration mints expired sessions)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const token = yield* fake.seedAppToken({ hashType: "SHA256", expiresIn: 3600, description: "d" })
        const updated = yield* call(fake.url, "appToken", "update", {
          ks,
          id: token.id,
          appToken: { hashType__null: "", expiry__null: "", description__null: "", sessionDuration__null: "" }
        })
        assert.strictEqual(updated.json.hashType, "SHA1", updated.text)
        assert.isUndefined(updated.json.expiry)
        assert.isUndefined(updated.json.description)
        assert.isUndefined(updated.json.sessionDuration)
        const before = yield* fake.now
        const session = yield* startSession(fake.url, { ...token, hashType: "SHA1" })
        assert.isAtLeast(session.json.expiry, before, session.text)
        assert.isAtMost(session.json.expiry, yield* fake.now)
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: session.json.ks }), "EXPIRED")
        // a JSON null on update is a value too: expiry 0 expires the token
        yield* call(fake.url, "appToken", "update", {
          ks,
          id: token.id,
          appToken: { expiry: null, sessionDuration: 60 }
        })
        assert.strictEqual(
          (yield* startSession(fake.url, { ...token, hashType: "SHA1" })).json.code,
          "APP_TOKEN_EXPIRED"
        )
      })
    ))
})

describe("appToken.list: KalturaAppTokenFilter and KalturaFilterPager", () => {
  it.live("empty filter values are ignored, statusEqual is an enum, an unknown user gives no objects", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const a = yield* fake.seedAppToken({ sessionUserId: "alice" })
        const b = yield* fake.seedAppToken()
        const list = (filter: unknown, pager?: unknown) =>
          call(fake.url, "appToken", "list", { ks, filter, ...(pager === undefined ? {} : { pager }) })
        for (const filter of [{ idEqual: "" }, { idIn: "" }, { statusIn: "" }, { sessionUserIdEqual: "" }]) {
          assert.strictEqual((yield* list(filter)).json.totalCount, 2, JSON.stringify(filter))
        }
        expectApiError(yield* list({ statusEqual: "" }), ...invalidEnum("", "statusEqual", "KalturaAppTokenStatus"))
        const unknown = yield* list({ sessionUserIdEqual: "nobody" })
        assert.deepStrictEqual(unknown.json, { totalCount: 0, objectType: "KalturaAppTokenListResponse" })
        assert.deepStrictEqual((yield* list({ sessionUserIdEqual: "alice" })).json.objects.map((o: any) => o.id), [
          a.id
        ])
        // IN values are split on "," and not trimmed
        const idIn = yield* list({ idIn: `${a.id}, ${b.id}` })
        assert.deepStrictEqual(idIn.json.objects.map((o: any) => o.id), [a.id])
        assert.strictEqual((yield* list({ statusIn: "1,2" })).json.totalCount, 2)
        expectApiError(
          yield* list("x"),
          "PROPERTY_VALIDATION_WRONG_FORMAT",
          "The property \"filter\" must match format array",
          { PROP_NAME: "filter", FORMAT: "array" }
        )
      })
    ))

  it.live("orderBy, relative time filters, pageSize 0 (no limit), pageIndex below 1", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const now = yield* fake.now
        const old = yield* fake.seedAppToken()
        yield* fake.updateAppToken(old.id, { createdAt: now - 7200 })
        const middle = yield* fake.seedAppToken()
        yield* fake.updateAppToken(middle.id, { createdAt: now - 3600 })
        const recent = yield* fake.seedAppToken()
        const ids = (response: { readonly json: any }) => response.json.objects.map((o: any) => o.id)
        const list = (params: Record<string, unknown>) => call(fake.url, "appToken", "list", { ks, ...params })
        assert.deepStrictEqual(ids(yield* list({ filter: { orderBy: "-createdAt" } })), [
          recent.id,
          middle.id,
          old.id
        ])
        assert.deepStrictEqual(ids(yield* list({ filter: { orderBy: "+nothing,+createdAt" } })), [
          old.id,
          middle.id,
          recent.id
        ])
        // -5400 and -60 are relative to now
        assert.deepStrictEqual(ids(yield* list({ filter: { createdAtGreaterThanOrEqual: -5400 } })), [
          middle.id,
          recent.id
        ])
        assert.deepStrictEqual(ids(yield* list({ filter: { createdAtLessThanOrEqual: -60 } })), [old.id, middle.id])
        const unlimited = yield* list({ pager: { pageSize: 0, pageIndex: 3 } })
        assert.strictEqual(unlimited.json.objects.length, 3, unlimited.text)
        const first = yield* list({ pager: { pageSize: 2, pageIndex: -4 } })
        assert.deepStrictEqual(ids(first), [old.id, middle.id])
        assert.strictEqual(first.json.totalCount, 3)
      })
    ))
})
