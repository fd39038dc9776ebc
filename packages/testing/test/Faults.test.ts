import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { FakeKaltura, FakeKalturaFault, Ks } from "../src/index.js"
import { call, expectInvalidKs, request, startSession, widgetKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

const widget = (fake: FakeKaltura.Service) => call(fake.url, "session", "startWidgetSession", { widgetId: "_12345" })

/** The fetch failure's cause code (ECONNREFUSED, UND_ERR_SOCKET, …). */
const failure = (fake: FakeKaltura.Service) =>
  Effect.map(Effect.either(widget(fake)), (result) => {
    assert.isTrue(Either.isLeft(result), "the request was expected to fail")
    const error = (result as Either.Left<any, unknown>).left
    return String(error?.error?.cause?.code ?? error?.error?.cause?.message ?? error)
  })

describe("scripted faults", () => {
  it.live("N times HTTP 503 with an HTML body, then normal service; only for the scripted action", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.serviceUnavailable, { times: 2 })
        const token = yield* fake.seedAppToken()
        for (let i = 0; i < 2; i++) {
          const response = yield* widget(fake)
          assert.strictEqual(response.status, 503)
          assert.match(response.headers.get("content-type") ?? "", /text\/html/)
          assert.match(response.text, /^<html>/)
        }
        assert.strictEqual((yield* widget(fake)).status, 200)
        yield* fake.injectFault("appToken.startSession", FakeKalturaFault.serviceUnavailable)
        // startWidgetSession is not affected by a startSession fault, startSession is
        const failed = yield* startSession(fake.url, token).pipe(Effect.map((r) => r.status))
        assert.strictEqual(failed, 503)
        assert.strictEqual((yield* startSession(fake.url, token)).json.objectType, "KalturaSessionInfo")
        const log = yield* fake.requests
        assert.deepStrictEqual(log.map((entry) => entry.fault ?? null), [
          "ServiceUnavailable",
          "ServiceUnavailable",
          null,
          null,
          "ServiceUnavailable",
          null,
          null
        ])
        assert.deepStrictEqual(yield* fake.pendingFaults, [])
      })
    ))

  it.live("502 with an HTML body, and any raw status and body", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.badGateway)
        yield* fake.injectFault(
          "session.startWidgetSession",
          FakeKalturaFault.raw({ status: 429, body: "slow down", headers: { "retry-after": "1" } })
        )
        const bad = yield* widget(fake)
        assert.strictEqual(bad.status, 502)
        assert.include(bad.text, "502 Bad Gateway")
        assert.match(bad.headers.get("content-type") ?? "", /text\/html/)
        const raw = yield* widget(fake)
        assert.strictEqual(raw.status, 429)
        assert.strictEqual(raw.text, "slow down")
        assert.strictEqual(raw.headers.get("retry-after"), "1")
        assert.strictEqual((yield* widget(fake)).status, 200)
      })
    ))

  it.live("connection reset: the socket is destroyed without a response; the next call works", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.connectionReset)
        const code = yield* failure(fake)
        assert.match(code, /UND_ERR_SOCKET|ECONNRESET|other side closed/)
        assert.strictEqual((yield* widget(fake)).status, 200)
        const log = yield* fake.requests
        assert.strictEqual(log[0]!.fault, "ConnectionReset")
        assert.strictEqual(log[0]!.status, undefined)
      })
    ))

  it.live("delay: the request is answered normally after the delay", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault("*", FakeKalturaFault.delay("300 millis"))
        const started = Date.now()
        const response = yield* widget(fake)
        assert.isAtLeast(Date.now() - started, 290)
        assert.strictEqual(response.json.objectType, "KalturaStartWidgetSessionResponse")
        yield* widget(fake)
        assert.deepStrictEqual((yield* fake.requests).map((entry) => entry.fault ?? null), ["Delay", null])
      })
    ))

  it.live("truncated JSON: status 200, application/json, half a body", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.truncatedJson)
        const response = yield* widget(fake)
        assert.strictEqual(response.status, 200)
        assert.strictEqual(response.headers.get("content-type"), "application/json")
        assert.strictEqual(response.json, undefined)
        assert.isTrue(response.text.startsWith("{\"partnerId\":12345,"))
      })
    ))

  it.live("the KS is reported expired on the next call, then accepted again", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        const ks = (yield* startSession(fake.url, token)).json.ks
        yield* fake.injectFault("baseEntry.list", FakeKalturaFault.ksExpired)
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks }), "EXPIRED")
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list", { ks })).json.totalCount, 3)
      })
    ))

  it.live("the '*' wildcard matches any action, multirequest included", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault("*", FakeKalturaFault.serviceUnavailable, { times: 2 })
        assert.strictEqual((yield* call(fake.url, "multirequest", "", {})).status, 503)
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list")).status, 503)
        assert.strictEqual((yield* call(fake.url, "baseEntry", "list")).status, 200)
        yield* fake.injectFault("*", FakeKalturaFault.badGateway)
        yield* fake.clearFaults
        assert.strictEqual((yield* widget(fake)).status, 200)
      })
    ))
})

describe("outage", () => {
  it.live("connections are refused until restore, then the same port answers again", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        assert.strictEqual((yield* widget(fake)).status, 200)
        yield* fake.outage()
        assert.isFalse(yield* fake.isUp)
        assert.strictEqual(yield* failure(fake), "ECONNREFUSED")
        assert.strictEqual(yield* failure(fake), "ECONNREFUSED")
        yield* fake.restore
        assert.isTrue(yield* fake.isUp)
        const response = yield* widget(fake)
        assert.strictEqual(response.status, 200)
        // outage and restore are idempotent
        yield* fake.restore
        yield* fake.outage()
        yield* fake.outage()
        assert.strictEqual(yield* failure(fake), "ECONNREFUSED")
        yield* fake.restore
        assert.strictEqual((yield* widget(fake)).status, 200)
      })
    ))

  it.live("an outage for a given duration ends by itself", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.outage({ duration: "300 millis" })
        assert.strictEqual(yield* failure(fake), "ECONNREFUSED")
        // wait (live time) for the server to come back by itself, at most 3 s
        yield* Effect.sleep("300 millis")
        for (let i = 0; i < 30 && !(yield* fake.isUp); i++) yield* Effect.sleep("100 millis")
        assert.isTrue(yield* fake.isUp)
        assert.strictEqual((yield* widget(fake)).status, 200)
      })
    ))
})

describe("request log and counters", () => {
  it.live("records what crossed the wire: the hash and the KS, never the app token itself", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        const ks = yield* widgetKs(fake.url, fake.partnerId)
        const tokenHash = Ks.appTokenHash("SHA256", ks, token.token)
        yield* request(`${fake.url}/api_v3/service/apptoken/action/startSession?format=1`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-custom": "yes" },
          body: JSON.stringify({ id: token.id, tokenHash, ks })
        })
        const log = yield* fake.requests
        assert.strictEqual(log.length, 2)
        const entry = log[1]!
        assert.strictEqual(entry.sequence, 2)
        assert.strictEqual(entry.method, "POST")
        assert.strictEqual(entry.url, "/api_v3/service/apptoken/action/startSession?format=1")
        assert.strictEqual(entry.headers["x-custom"], "yes")
        assert.strictEqual(entry.body, JSON.stringify({ id: token.id, tokenHash, ks }))
        assert.strictEqual(entry.params.tokenHash, tokenHash)
        assert.strictEqual(entry.service, "apptoken")
        assert.strictEqual(entry.action, "startsession")
        assert.strictEqual(entry.status, 200)
        assert.strictEqual(entry.errorCode, undefined)
        assert.include(entry.responseBody ?? "", "KalturaSessionInfo")
        for (const logged of log) {
          assert.notInclude(logged.body + logged.url + JSON.stringify(logged.headers), token.token)
        }
        yield* call(fake.url, "apptoken", "startSession", { id: token.id, tokenHash: "x", ks })
        assert.strictEqual((yield* fake.requests).at(-1)!.errorCode, "INVALID_APP_TOKEN_HASH")
        yield* fake.clearRequests
        assert.deepStrictEqual(yield* fake.requests, [])
      })
    ))

  it.live("counts calls per action (case-insensitive), multirequest sub-calls included", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* widget(fake)
        yield* call(fake.url, "SESSION", "STARTWIDGETSESSION", { widgetId: "_12345" })
        yield* call(fake.url, "multirequest", "", {
          "0": { service: "session", action: "startWidgetSession", widgetId: "_12345" }
        })
        assert.strictEqual(yield* fake.callCount("session.startWidgetSession"), 3)
        assert.strictEqual(yield* fake.callCount("Session.StartWidgetSession"), 3)
        assert.strictEqual(yield* fake.callCount("appToken.startSession"), 0)
        assert.deepStrictEqual(yield* fake.callCounts, { "session.startwidgetsession": 3, multirequest: 1 })
      })
    ))
})

describe("scripted API errors and concurrency", () => {
  it.live("apiError: any Kaltura error as HTTP 200 (e.g. the rate limiter's ACTION_BLOCKED)", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault(
          "appToken.startSession",
          FakeKalturaFault.apiError({
            code: "ACTION_BLOCKED",
            message: "Action \"startsession\" in service \"apptoken\" is blocked",
            args: { ACTION_NAME: "startsession", SERVICE_NAME: "apptoken" }
          })
        )
        yield* fake.injectFault("appToken.startSession", FakeKalturaFault.apiError({ code: "X", message: "y" }))
        const token = yield* fake.seedAppToken()
        const blocked = yield* startSession(fake.url, token)
        assert.strictEqual(
          blocked.text,
          "{\"code\":\"ACTION_BLOCKED\",\"message\":\"Action \\\"startsession\\\" in service \\\"apptoken\\\" is blocked\",\"objectType\":\"KalturaAPIException\",\"args\":{\"ACTION_NAME\":\"startsession\",\"SERVICE_NAME\":\"apptoken\"}}"
        )
        assert.deepStrictEqual((yield* startSession(fake.url, token)).json.args, [])
        assert.strictEqual((yield* fake.requests).at(-1)!.errorCode, "X")
      })
    ))

  it.live("requests are handled concurrently: a delayed call does not hold up others", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.delay("600 millis"))
        const finished: Array<string> = []
        yield* Effect.all([
          Effect.tap(widget(fake), () => Effect.sync(() => finished.push("slow"))),
          Effect.zipRight(
            Effect.sleep("50 millis"),
            Effect.tap(call(fake.url, "baseEntry", "list"), () => Effect.sync(() => finished.push("fast")))
          )
        ], { concurrency: "unbounded" })
        assert.deepStrictEqual(finished, ["fast", "slow"])
      })
    ))
})
