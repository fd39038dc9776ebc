import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { FakeKaltura, FakeKalturaFault, Ks } from "../src/index.js"
import { call, expectApiError, request, widgetKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

describe("wire format (spec §4, §9)", () => {
  it.live("binds 127.0.0.1 on a free port", () =>
    withFake((fake) =>
      Effect.sync(() => {
        assert.match(fake.url, /^http:\/\/127\.0\.0\.1:\d+$/)
        assert.isAbove(fake.port, 0)
      })
    ))

  it.live("routes /service/{service}/action/{action}, GET and POST, names case-insensitive", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        for (const [service, action] of [["session", "startWidgetSession"], ["SESSION", "startwidgetsession"]]) {
          const post = yield* call(fake.url, service, action, { widgetId: "_12345" })
          assert.strictEqual(post.json.objectType, "KalturaStartWidgetSessionResponse", post.text)
          const get = yield* request(
            `${fake.url}/api_v3/service/${service}/action/${action}?widgetId=_12345&format=1`
          )
          assert.strictEqual(get.json.objectType, "KalturaStartWidgetSessionResponse", get.text)
        }
        const ks = yield* widgetKs(fake.url, fake.partnerId)
        const token = yield* fake.seedAppToken()
        // apptoken == appToken == APPTOKEN: all reach startSession (a wrong hash proves the action ran)
        for (const service of ["apptoken", "appToken", "APPTOKEN"]) {
          const response = yield* call(fake.url, service, "StartSession", { id: token.id, tokenHash: "x", ks })
          assert.strictEqual(response.json.code, "INVALID_APP_TOKEN_HASH")
        }
        assert.strictEqual(yield* fake.callCount("appToken.startSession"), 3)
      })
    ))

  it.live("reads /key/value path pairs and the legacy index.php form", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const path = yield* request(
          `${fake.url}/api_v3/service/session/action/startWidgetSession/widgetId/_12345/format/1`
        )
        assert.strictEqual(path.json.partnerId, 12345, path.text)
        const legacy = yield* request(
          `${fake.url}/api_v3/index.php?service=session&action=startWidgetSession&widgetId=_12345&format=1`
        )
        assert.strictEqual(legacy.json.partnerId, 12345, legacy.text)
      })
    ))

  it.live("unknown service / action / no action", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        expectApiError(
          yield* call(fake.url, "Nope", "list"),
          "SERVICE_DOES_NOT_EXISTS",
          "Service \"nope\" does not exists",
          {
            SERVICE: "nope"
          }
        )
        expectApiError(
          yield* call(fake.url, "session", "nope"),
          "ACTION_DOES_NOT_EXISTS",
          "Action \"nope\" does not exists for service \"session\"",
          { ACTION: "nope", SERVICE: "session" }
        )
        expectApiError(
          yield* request(`${fake.url}/api_v3/service/session?format=1`),
          "ACTION_NOT_SPECIFIED",
          "Action name was not specified, please specify one",
          []
        )
        const notFound = yield* request(`${fake.url}/nothing/here`)
        assert.strictEqual(notFound.status, 404)
      })
    ))

  it.live("URL parameters (query and path) override the body", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 777 })
        const query = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession?widgetId=_777`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ widgetId: "_12345", format: 1 })
        })
        assert.strictEqual(query.json.partnerId, 777, query.text)
        const form = yield* request(
          `${fake.url}/api_v3/service/session/action/startWidgetSession/widgetId/_777?format=1`,
          {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: "widgetId=_12345&format=2"
          }
        )
        assert.strictEqual(form.json.partnerId, 777, form.text)
      })
    ))

  it.live("a JSON body is read only with exactly Content-Type: application/json", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const body = JSON.stringify({ widgetId: "_12345", format: 1 })
        const exact = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession?format=1`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body
        })
        assert.strictEqual(exact.json.objectType, "KalturaStartWidgetSessionResponse")
        const upper = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession?format=1`, {
          method: "POST",
          headers: { "content-type": "Application/JSON" },
          body
        })
        assert.strictEqual(upper.json.objectType, "KalturaStartWidgetSessionResponse")
        const charset = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession?format=1`, {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8" },
          body
        })
        expectApiError(charset, "MISSING_MANDATORY_PARAMETER", "Missing parameter \"widgetId\"", {
          PARAM_NAME: "widgetId"
        })
        // and without format in the URL the whole body (format=1 included) is ignored: XML
        const ignored = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession`, {
          method: "POST",
          headers: { "content-type": "application/json; charset=utf-8" },
          body
        })
        assert.isTrue(ignored.text.startsWith("<?xml"), ignored.text)
        assert.include(ignored.text, "<code>MISSING_MANDATORY_PARAMETER</code>")
      })
    ))

  it.live("form-urlencoded bodies with a[b] and a:b nesting", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const form = (body: string) =>
          request(`${fake.url}/api_v3/service/appToken/action/add`, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded;charset=UTF-8" },
            body
          })
        const brackets = yield* form(
          new URLSearchParams({
            ks,
            format: "1",
            "appToken[objectType]": "KalturaAppToken",
            "appToken[hashType]": "SHA256",
            "appToken[sessionDuration]": "600"
          }).toString()
        )
        assert.strictEqual(brackets.json.hashType, "SHA256", brackets.text)
        assert.strictEqual(brackets.json.sessionDuration, 600)
        const colons = yield* form(
          new URLSearchParams({ ks, format: "1", "appToken:hashType": "MD5", "appToken:description": "a b" })
            .toString()
        )
        assert.strictEqual(colons.json.hashType, "MD5", colons.text)
        assert.strictEqual(colons.json.description, "a b")
        const log = yield* fake.requests
        assert.deepStrictEqual(log[1]!.params.appToken, { hashType: "MD5", description: "a b" })
      })
    ))

  it.live("unknown parameters (kalsig, apiVersion, clientTag, anything) are ignored", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const response = yield* call(fake.url, "session", "startWidgetSession", {
          widgetId: "_12345",
          kalsig: "0123",
          apiVersion: "21.20.0",
          clientTag: "node:25-07-20",
          whatever: { nested: true }
        })
        assert.strictEqual(response.json.objectType, "KalturaStartWidgetSessionResponse", response.text)
      })
    ))

  it.live("format=1 gives JSON; no format gives a non-JSON XML body", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const json = yield* request(
          `${fake.url}/api_v3/service/session/action/startWidgetSession?widgetId=_12345&format=1`
        )
        assert.strictEqual(json.headers.get("content-type"), "application/json")
        assert.strictEqual(json.json.partnerId, 12345)
        const xml = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession?widgetId=_12345`)
        assert.strictEqual(xml.json, undefined)
        assert.match(xml.headers.get("content-type") ?? "", /xml/)
        assert.match(xml.text, /^<\?xml version="1\.0" encoding="utf-8"\?><xml><result><objectType>/)
        const error = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession?widgetId=x`)
        assert.include(error.text, "<error><code>INVALID_WIDGET_ID</code>")
        assert.include(error.text, "<name>WIDGET_ID</name><value>x</value>")
      })
    ))

  it.live("errors: HTTP 200, keys code,message,objectType,args; args strings or []", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const withArgs = yield* call(fake.url, "session", "startWidgetSession", { widgetId: "nope" })
        assert.strictEqual(withArgs.status, 200)
        assert.strictEqual(
          withArgs.text,
          "{\"code\":\"INVALID_WIDGET_ID\",\"message\":\"Unknown widget [nope]\",\"objectType\":\"KalturaAPIException\",\"args\":{\"WIDGET_ID\":\"nope\"}}"
        )
        const token = yield* fake.seedAppToken()
        const noArgs = yield* call(fake.url, "apptoken", "startSession", {
          id: token.id,
          tokenHash: "0",
          ks: yield* widgetKs(fake.url, fake.partnerId)
        })
        assert.strictEqual(
          noArgs.text,
          "{\"code\":\"INVALID_APP_TOKEN_HASH\",\"message\":\"Invalid application token hash\",\"objectType\":\"KalturaAPIException\",\"args\":[]}"
        )
        // numeric values in args are strings
        const enumError = yield* call(fake.url, "apptoken", "startSession", { id: "x", tokenHash: "y", type: 1 })
        assert.deepStrictEqual(enumError.json.args, {
          ENUM_VAL: "1",
          PARAM_NAME: "type",
          ENUM_TYPE: "KalturaSessionType"
        })
      })
    ))

  it.live("success bodies: bare objects, nulls dropped, objectType last; a void result is null", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const ks = yield* fake.mintKs({ type: 2 })
        const added = yield* call(fake.url, "apptoken", "add", { ks, appToken: { objectType: "KalturaAppToken" } })
        const keys = Object.keys(added.json)
        assert.deepStrictEqual(keys, [
          "id",
          "token",
          "partnerId",
          "createdAt",
          "updatedAt",
          "status",
          "sessionDuration",
          "hashType",
          "objectType"
        ])
        assert.notInclude(added.text, "null")
        const deleted = yield* call(fake.url, "apptoken", "delete", { ks, id: added.json.id })
        assert.strictEqual(deleted.text, "null")
        assert.strictEqual(deleted.json, null)
      })
    ))

  it.live("every response has a Date header from the fake's clock (offset included)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.setClockOffset(-3 * 3600 * 1000)
        const exchanges = [
          yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345" }),
          yield* request(`${fake.url}/nowhere`)
        ]
        yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.serviceUnavailable)
        exchanges.push(yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_12345" }))
        for (const exchange of exchanges) {
          const date = Date.parse(exchange.headers.get("date") ?? "")
          assert.isTrue(Math.abs(date - (Date.now() - 3 * 3600 * 1000)) < 5_000, exchange.headers.get("date")!)
        }
        assert.strictEqual(exchanges[2]!.status, 503)
      })
    ))

  it.live("OPTIONS preflight answers 200 with CORS headers", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const response = yield* request(`${fake.url}/api_v3/service/session/action/startWidgetSession`, {
          method: "OPTIONS"
        })
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers.get("access-control-allow-origin"), "*")
      })
    ))
})

describe("other server-side checks", () => {
  it.live("control characters in a string parameter → INVALID_PARAMETER_CHAR", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        expectApiError(
          yield* call(fake.url, "session", "startWidgetSession", { widgetId: "_123\u000145" }),
          "INVALID_PARAMETER_CHAR",
          "Invalid char in \"widgetId\" param",
          { PARAM_NAME: "widgetId" }
        )
      })
    ))

  it.live("a blocked partner → SERVICE_FORBIDDEN_CONTENT_BLOCKED", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 666, blocked: true })
        const ks = yield* fake.mintKs({ partnerId: 666, type: 0 })
        expectApiError(
          yield* call(fake.url, "baseEntry", "list", { ks }),
          "SERVICE_FORBIDDEN_CONTENT_BLOCKED",
          "The access to this service is forbidden since the specified partner is blocked",
          []
        )
      })
    ))

  it.live("rotated admin secrets: KSs signed with any of them are accepted, new ones use the first", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.seedPartner({ id: 888, adminSecret: "old-secret" })
        const old = yield* fake.mintKs({ partnerId: 888, type: 0 })
        yield* fake.seedPartner({ id: 888, adminSecrets: ["new-secret", "old-secret"] })
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks: old })).json.totalCount, 3)
        const fresh = yield* fake.mintKs({ partnerId: 888, type: 0 })
        assert.isTrue(Either.isRight(Ks.decode(fresh, () => ["new-secret"])))
      })
    ))
})
