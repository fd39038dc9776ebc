/**
 * Multirequest as `KalturaFrontController::handleMultiRequest` runs it (kaltura/server c447fdb, api_v3/lib/
 * KalturaFrontController.php:153–440): numbering, inherited parameters, and `{N:result…}` references.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectApiError, expectInvalidKs, request } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

const multi = (url: string, params: Record<string, unknown>) => call(url, "multirequest", "null", params)

const notFound = (id: string) => ({
  code: "APP_TOKEN_ID_NOT_FOUND",
  message: `Application token id "${id}" not found`,
  objectType: "KalturaAPIException",
  args: { ID: id }
})

describe("multirequest against KalturaFrontController::handleMultiRequest", () => {
  it.live("runs from min(1, lowest index): requests numbered from 2 never run; negative indices do", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const fromTwo = yield* multi(fake.url, {
          ks,
          "2": { service: "appToken", action: "list" },
          "3": { service: "appToken", action: "list" }
        })
        assert.deepStrictEqual(fromTwo.json, [], fromTwo.text)
        assert.strictEqual(yield* fake.callCount("appToken.list"), 0)
        // is_numeric keys: "-1" is an index, so -1, 0, 1 run (and the first-index gap rule applies from -1)
        const negative = yield* multi(fake.url, {
          ks,
          "-1": { service: "appToken", action: "get", id: "a" },
          "0": { service: "appToken", action: "get", id: "b" },
          "1": { service: "appToken", action: "get", id: "c" }
        })
        assert.deepStrictEqual(negative.json, [notFound("a"), notFound("b"), notFound("c")])
      })
    ))

  it.live("ks and partnerId are copied into sub-requests that lack them (a JSON null counts as lacking)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const adminKs = yield* fake.mintKs({ type: 2 })
        const userKs = yield* fake.mintKs({ type: 0, userId: "bob" })
        const response = yield* multi(fake.url, {
          ks: adminKs,
          "1": { service: "appToken", action: "list" },
          "2": { service: "appToken", action: "list", ks: userKs },
          "3": { service: "appToken", action: "list", ks: null },
          "4": { service: "session", action: "startWidgetSession", widgetId: "_12345", partnerId: 99999 }
        })
        assert.strictEqual(response.json[0].objectType, "KalturaAppTokenListResponse", response.text)
        assert.strictEqual(response.json[1].code, "SERVICE_FORBIDDEN")
        assert.strictEqual(response.json[2].objectType, "KalturaAppTokenListResponse")
        // a sub-request's own partnerId is used: an unknown partner is SERVICE_FORBIDDEN_CONTENT_BLOCKED
        assert.strictEqual(response.json[3].code, "SERVICE_FORBIDDEN_CONTENT_BLOCKED")
        const inherited = yield* multi(fake.url, {
          partnerId: 99999,
          "1": { service: "session", action: "startWidgetSession", widgetId: "_12345" },
          "2": { service: "session", action: "startWidgetSession", widgetId: "_12345", partnerId: 12345 }
        })
        assert.strictEqual(inherited.json[0].code, "SERVICE_FORBIDDEN_CONTENT_BLOCKED", inherited.text)
        assert.strictEqual(inherited.json[1].objectType, "KalturaStartWidgetSessionResponse")
      })
    ))

  it.live("{N:result} of a scalar result is the value; a top-level parameter's reference is never resolved", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const start = {
          service: "session",
          action: "start",
          secret: FakeKaltura.defaultAdminSecret,
          partnerId: 12345,
          type: 2
        }
        // the KS that session.start returns (a JSON string) feeds request 2
        const resolved = yield* multi(fake.url, {
          "1": start,
          "2": { service: "appToken", action: "list", ks: "{1:result}" }
        })
        assert.strictEqual(typeof resolved.json[0], "string", resolved.text)
        assert.strictEqual(resolved.json[1].objectType, "KalturaAppTokenListResponse")
        // a top-level ks is a common parameter: copied as written, so the literal reaches the dispatcher
        const literal = yield* multi(fake.url, {
          ks: "{1:result}",
          "1": { ...start, ks: "" },
          "2": { service: "appToken", action: "list" }
        })
        assert.strictEqual(typeof literal.json[0], "string", literal.text)
        expectInvalidKs({ ...literal, json: literal.json[1] }, "{1:result}")
      })
    ))

  it.live("paths: an object result gives '', typed arrays by index or _all, numbers as text", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const a = yield* fake.seedAppToken()
        const b = yield* fake.seedAppToken()
        const response = yield* multi(fake.url, {
          ks,
          "0": { service: "appToken", action: "list" },
          "1": { service: "appToken", action: "get", id: "{1:result}" },
          "2": { service: "appToken", action: "get", id: "{1:result:objects}" },
          "3": { service: "appToken", action: "get", id: "{1:result:objects:1:id}" },
          "4": { service: "appToken", action: "get", id: "{1:result:objects:_all:id}" },
          "5": { service: "appToken", action: "get", id: "{1:result:totalCount}" },
          "6": { service: "appToken", action: "get", id: "{1:result:objects:7:id}" },
          "7": { service: "appToken", action: "get", id: "{1:result:nothere:deeper}" }
        })
        assert.strictEqual(response.json.length, 8, response.text)
        assert.deepStrictEqual(response.json[1], notFound(""))
        assert.deepStrictEqual(response.json[2], notFound(""))
        assert.strictEqual(response.json[3].id, b.id)
        assert.deepStrictEqual(response.json[4], notFound(`${a.id},${b.id},`))
        assert.deepStrictEqual(response.json[5], notFound("2"))
        assert.deepStrictEqual(response.json[6], notFound(""))
        assert.deepStrictEqual(response.json[7], notFound(""))
      })
    ))

  it.live("a reference inside text is replaced in place; two references in one value are replaced whole by ''", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const token = yield* fake.seedAppToken({ id: "0_abcd1234" })
        const response = yield* multi(fake.url, {
          ks,
          "1": { service: "appToken", action: "get", id: token.id },
          "2": { service: "appToken", action: "get", id: "x-{1:result:id}-y" },
          "3": { service: "appToken", action: "get", id: "{1:result:id}{1:result:id}" },
          "4": { service: "appToken", action: "get", id: "<{1:result:id}|{2:result:id}>" },
          "5": { service: "appToken", action: "update", id: token.id, appToken: { description: "{1:result:id}!" } }
        })
        assert.deepStrictEqual(response.json[1], notFound("x-0_abcd1234-y"), response.text)
        // the greedy pattern takes "{1:result:id}{1:result:id}" as one reference with the path "id}{1", "result",
        // "id": no such property, so the whole span becomes ""
        assert.deepStrictEqual(response.json[2], notFound(""))
        assert.deepStrictEqual(response.json[3], notFound("<>"))
        // nested parameters are resolved too
        assert.strictEqual(response.json[4].description, "0_abcd1234!")
      })
    ))

  it.live("references to a failed request give ''; forward and self references stay as written", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const response = yield* multi(fake.url, {
          ks,
          "1": { service: "appToken", action: "get", id: "0_missing" },
          "2": { service: "appToken", action: "get", id: "{1:result:id}" },
          "3": { service: "appToken", action: "get", id: "{1:result:code}" },
          "4": { service: "appToken", action: "get", id: "{4:result:id}" },
          "5": { service: "appToken", action: "get", id: "{9:result:id}" }
        })
        assert.deepStrictEqual(response.json[0], notFound("0_missing"), response.text)
        assert.deepStrictEqual(response.json[1], notFound(""))
        assert.deepStrictEqual(response.json[2], notFound(""))
        assert.deepStrictEqual(response.json[3], notFound("{4:result:id}"))
        assert.deepStrictEqual(response.json[4], notFound("{9:result:id}"))
      })
    ))

  it.live("prefixed keys in a form body, nested 1:filter:idEqual, and references across them", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const token = yield* fake.seedAppToken()
        yield* fake.seedAppToken()
        const body = new URLSearchParams({
          format: "1",
          ks,
          "1:service": "appToken",
          "1:action": "list",
          "1:filter:idEqual": token.id,
          "2:service": "appToken",
          "2:action": "get",
          "2:id": "{1:result:objects:0:id}"
        })
        const response = yield* request(`${fake.url}/api_v3/service/multirequest`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: body.toString()
        })
        assert.strictEqual(response.json[0].totalCount, 1, response.text)
        assert.strictEqual(response.json[1].id, token.id)
      })
    ))

  it.live("only the exact service name multirequest is a multirequest", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const body = JSON.stringify({ format: 1, "1": { service: "session", action: "startWidgetSession" } })
        const headers = { "content-type": "application/json" }
        const other = yield* request(`${fake.url}/api_v3/index.php?service=MultiRequest`, {
          method: "POST",
          headers,
          body
        })
        expectApiError(other, "SERVICE_DOES_NOT_EXISTS", "Service \"multirequest\" does not exists", {
          SERVICE: "multirequest"
        })
        const exact = yield* request(`${fake.url}/api_v3/index.php?service=multirequest`, {
          method: "POST",
          headers,
          body
        })
        assert.isArray(exact.json, exact.text)
      })
    ))
})
