/**
 * The transport on the in-memory `HttpClient`: error and result decoding, scrubbing, and retries
 * under `TestClock`.
 */
import { assert, describe, it } from "@effect/vitest"
import type { Duration } from "effect"
import { Effect, Fiber, Option, Redacted, Schedule, Schema, TestClock } from "effect"
import { SessionInfoResponse, StartWidgetSessionResponse } from "../src/internal/schemas.js"
import * as KalturaApi from "../src/KalturaApi.js"
import type * as KalturaError from "../src/KalturaError.js"
import * as FakeTransport from "./utils/FakeTransport.js"
import {
  adminKs,
  api,
  sessionReply,
  startSessionRoute,
  v1Ks,
  widgetKs,
  widgetReply,
  widgetRoute
} from "./utils/fixtures.js"

// Starting a session is harmless to repeat: the library sends both calls of the flow as idempotent.
const startSession = {
  service: "apptoken",
  action: "startSession",
  params: { id: "0_ab12cd34" },
  idempotent: true
} as const
const startWidget = {
  service: "session",
  action: "startWidgetSession",
  params: { widgetId: "_12345" },
  idempotent: true
} as const

/** One `apptoken.startSession` call answered by `replies`, then the error it failed with. */
const failure = (replies: ReadonlyArray<FakeTransport.Reply>, options?: KalturaApi.Options) =>
  Effect.gen(function*() {
    const fake = FakeTransport.make()
    fake.enqueue(startSessionRoute, ...replies)
    const transport = yield* api(fake, options)
    const error = yield* Effect.flip(transport.call(startSession, SessionInfoResponse))
    return { error, fake }
  })

/** Runs `effect` in a fiber while the TestClock moves forward by `by`, then joins it. */
const withClock = <A, E>(effect: Effect.Effect<A, E>, by: Duration.DurationInput = "5 minutes") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(by)
    return yield* Fiber.join(fiber)
  })

const assertNoWholeKs = (error: KalturaError.KalturaCallError, ks: string) => {
  for (
    const text of [
      error.message,
      String(error),
      JSON.stringify(error),
      JSON.stringify("args" in error ? error.args : {})
    ]
  ) {
    assert.notInclude(text, ks)
    // not even the signed/encrypted part without its first characters
    assert.notInclude(text, ks.slice(12))
  }
}

describe("KalturaApi decoding", () => {
  it.effect("decodes a result and reports timing facts", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(startSessionRoute, sessionReply())
      const transport = yield* api(fake)
      const response = yield* transport.execute(startSession, SessionInfoResponse)
      assert.deepStrictEqual(response.result, {
        ks: adminKs,
        sessionType: 2,
        partnerId: 12345,
        userId: "",
        expiry: 3600,
        privileges: "sessionid:0_ab12cd34,apptoken:0_ab12cd34"
      })
      assert.strictEqual(response.sentAt, 0)
      assert.strictEqual(response.receivedAt, 0)
      assert.isTrue(Option.isNone(response.serverDate))
    }))

  it.effect("numeric strings, and unknown extra fields ignored", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(
        startSessionRoute,
        sessionReply({ partnerId: "12345", expiry: "1700003600", sessionType: "2", extra: { nested: true }, foo: 1 })
      )
      const transport = yield* api(fake)
      const result = yield* transport.call(startSession, SessionInfoResponse)
      assert.strictEqual(result.partnerId, 12345)
      assert.strictEqual(result.expiry, 1700003600)
      assert.strictEqual(result.sessionType, 2)
      assert.isFalse("foo" in result)
      assert.isFalse("objectType" in result)
    }))

  it.effect("the widget answer with userId 0 (a number) and no expiry field", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(widgetRoute, widgetReply())
      const transport = yield* api(fake)
      const result = yield* transport.call(startWidget, StartWidgetSessionResponse)
      assert.deepStrictEqual(result, { partnerId: 12345, ks: widgetKs, userId: "0" })
    }))

  it.effect("the Date header is reported as serverDate", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(
        startSessionRoute,
        FakeTransport.json({ ks: adminKs, sessionType: 0, partnerId: 12345, expiry: 3600 }, {
          headers: { date: "Tue, 14 Nov 2023 22:13:20 GMT" }
        })
      )
      const transport = yield* api(fake)
      const response = yield* transport.execute(startSession, SessionInfoResponse)
      assert.deepStrictEqual(response.serverDate, Option.some(1700000000000))
      assert.strictEqual(response.result.userId, "")
      assert.strictEqual(response.result.privileges, "")
    }))

  it.effect("an error with args [] is a KalturaApiError with empty args", () =>
    Effect.gen(function*() {
      const { error, fake } = yield* failure([
        FakeTransport.apiError("INVALID_APP_TOKEN_HASH", "Invalid application token hash", [])
      ])
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.code, "INVALID_APP_TOKEN_HASH")
      assert.strictEqual(error.kalturaMessage, "Invalid application token hash")
      assert.deepStrictEqual(error.args, {})
      assert.strictEqual(error.service, "apptoken")
      assert.strictEqual(error.action, "startSession")
      assert.strictEqual(error.attempts, 1)
      assert.isFalse(error.isTransient)
      assert.include(error.message, "apptoken.startSession")
      assert.include(error.message, "INVALID_APP_TOKEN_HASH")
      assert.include(error.message, "KALTURA_APP_TOKEN_HASH_TYPE")
      assert.strictEqual(fake.requests().length, 1)
    }))

  it.effect("an error with args {...} keeps them, as strings", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([
        FakeTransport.apiError("APP_TOKEN_ID_NOT_FOUND", "Application token id \"0_ab12cd34\" not found", {
          ID: "0_ab12cd34",
          COUNT: 3
        })
      ])
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.code, "APP_TOKEN_ID_NOT_FOUND")
      assert.strictEqual(error.kalturaMessage, "Application token id \"0_ab12cd34\" not found")
      assert.deepStrictEqual(error.args, { ID: "0_ab12cd34", COUNT: "3" })
      assert.isUndefined(error.ksReason)
    }))

  it.effect("an error without message or args still decodes", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([
        FakeTransport.json({ code: "SOMETHING_NEW", objectType: "KalturaAPIException" })
      ])
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.code, "SOMETHING_NEW")
      assert.strictEqual(error.kalturaMessage, "")
      assert.deepStrictEqual(error.args, {})
    }))

  for (const [label, ks] of [["v2", adminKs], ["v1", v1Ks]] as const) {
    it.effect(`INVALID_KS quoting a whole ${label} KS is scrubbed from message, args, String and JSON`, () =>
      Effect.gen(function*() {
        const { error } = yield* failure([
          FakeTransport.apiError("INVALID_KS", `Invalid KS "${ks}", Error "-1,INVALID_STR"`, {
            KSID: ks,
            ERR_CODE: "-1",
            ERR_DESC: "INVALID_STR"
          })
        ])
        assert.strictEqual(error._tag, "KalturaApiError")
        if (error._tag !== "KalturaApiError") return
        assert.strictEqual(error.code, "INVALID_KS")
        assert.strictEqual(error.args.ERR_CODE, "-1")
        assert.strictEqual(error.args.ERR_DESC, "INVALID_STR")
        assert.strictEqual(error.ksReason, "INVALID_STR")
        assert.include(error.args.KSID, "[redacted]")
        assert.include(error.kalturaMessage, "[redacted]")
        assertNoWholeKs(error, ks)
      }))
  }

  it.effect("INVALID_KS EXPIRED keeps its reason", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([
        FakeTransport.apiError("INVALID_KS", "Invalid KS \"EXPIRED\", Error \"-1,INVALID_STR\"", {
          KSID: "EXPIRED",
          ERR_CODE: "-1",
          ERR_DESC: "INVALID_STR"
        })
      ])
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.ksReason, "EXPIRED")
      assert.strictEqual(error.args.KSID, "EXPIRED")
      assert.strictEqual(error.kalturaMessage, "Invalid KS \"EXPIRED\", Error \"-1,INVALID_STR\"")
    }))

  it.effect("valid JSON of the wrong shape is UnexpectedShape, not retried, value not quoted", () =>
    Effect.gen(function*() {
      const { error, fake } = yield* withClock(failure([
        sessionReply({ ks: 42 }),
        sessionReply()
      ]))
      assert.strictEqual(error._tag, "KalturaDecodeError")
      if (error._tag !== "KalturaDecodeError") return
      assert.strictEqual(error.reason, "UnexpectedShape")
      assert.include(error.description, "\"ks\"")
      assert.isFalse(error.isTransient)
      assert.strictEqual(error.attempts, 1)
      assert.strictEqual(fake.requests().length, 1)
    }))

  it.effect("a wrong-shaped result does not quote the offending value", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([sessionReply({ ks: "not a ks but a secret-looking value!", sessionType: 1 })])
      assert.strictEqual(error._tag, "KalturaDecodeError")
      if (error._tag !== "KalturaDecodeError") return
      assert.strictEqual(error.reason, "UnexpectedShape")
      assert.notInclude(JSON.stringify(error), "secret-looking")
      assert.notInclude(error.message, "secret-looking")
    }))

  it.effect("a wrong-shaped result says what the schema expected: a short KS names the KS format", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([sessionReply({ ks: "djJ8MTIz", sessionType: 1 })])
      assert.strictEqual(error._tag, "KalturaDecodeError")
      if (error._tag !== "KalturaDecodeError") return
      assert.include(
        error.description,
        "unexpected value at \"ks\": expected a KS (base64 text of 16 to 4096 characters)"
      )
      assert.include(error.description, "unexpected value at \"sessionType\": expected 0 or 2")
      assert.notInclude(error.message, "djJ8MTIz")
    }))

  it.effect("a JSON array, null or a malformed exception is UnexpectedShape", () =>
    Effect.gen(function*() {
      for (const body of [[], null, { objectType: "KalturaAPIException" }, "just a string"]) {
        const { error } = yield* failure([FakeTransport.json(body)])
        assert.strictEqual(error._tag, "KalturaDecodeError", JSON.stringify(body))
        if (error._tag !== "KalturaDecodeError") return
        assert.strictEqual(error.reason, "UnexpectedShape", JSON.stringify(body))
      }
    }))

  it.effect("HTML with 200 is NotJson, and transient", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([FakeTransport.text("<html><body>Proxy login</body></html>")], {
        retrySchedule: Schedule.stop
      })
      assert.strictEqual(error._tag, "KalturaDecodeError")
      if (error._tag !== "KalturaDecodeError") return
      assert.strictEqual(error.reason, "NotJson")
      assert.isTrue(error.isTransient)
      assert.include(error.description, "text/html")
      assert.notInclude(error.description, "Proxy login")
    }))

  it.effect("truncated JSON is NotJson", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([FakeTransport.text(`{"ks":"${adminKs}","sessionTy`, {
        contentType: "application/json"
      })], { retrySchedule: Schedule.stop })
      assert.strictEqual(error._tag, "KalturaDecodeError")
      if (error._tag !== "KalturaDecodeError") return
      assert.strictEqual(error.reason, "NotJson")
      assertNoWholeKs(error, adminKs)
    }))

  for (const status of [404, 403, 301, 500]) {
    it.effect(`HTTP ${status} is a KalturaHttpError with the status`, () =>
      Effect.gen(function*() {
        const { error } = yield* failure([FakeTransport.text("nope", { status })], { retrySchedule: Schedule.stop })
        assert.strictEqual(error._tag, "KalturaHttpError")
        if (error._tag !== "KalturaHttpError") return
        assert.strictEqual(error.status, status)
        assert.strictEqual(error.service, "apptoken")
        assert.strictEqual(error.action, "startSession")
        assert.strictEqual(error.isTransient, status === 500)
        assert.include(error.message, `HTTP ${status}`)
      }))
  }

  it.effect("an HTTP error status wins over a Kaltura error body", () =>
    Effect.gen(function*() {
      const { error } = yield* failure([FakeTransport.json({
        code: "INVALID_KS",
        message: "x",
        objectType: "KalturaAPIException",
        args: []
      }, { status: 404 })])
      assert.strictEqual(error._tag, "KalturaHttpError")
    }))

  it.effect("a RequestError is a KalturaTransportError Transport; its description is scrubbed", () =>
    Effect.gen(function*() {
      const { error } = yield* failure(
        [FakeTransport.transportError(`connect ECONNREFUSED while sending ${adminKs}`)],
        {
          retrySchedule: Schedule.stop
        }
      )
      assert.strictEqual(error._tag, "KalturaTransportError")
      if (error._tag !== "KalturaTransportError") return
      assert.strictEqual(error.reason, "Transport")
      assert.include(error.description, "ECONNREFUSED")
      assert.isTrue(error.isTransient)
      assertNoWholeKs(error, adminKs)
    }))

  it.effect("Redacted parameters are unwrapped into the body only; null and undefined are not sent", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(startSessionRoute, sessionReply())
      const transport = yield* api(fake)
      yield* transport.call({
        service: "apptoken",
        action: "startSession",
        params: { id: "0_x", tokenHash: Redacted.make("deadbeef"), userId: undefined, type: null, expiry: 0 },
        ks: Redacted.make(widgetKs)
      }, SessionInfoResponse)
      const [request] = fake.requests()
      assert.deepStrictEqual(request.body, {
        id: "0_x",
        tokenHash: "deadbeef",
        expiry: 0,
        ks: widgetKs,
        format: 1,
        clientTag: "kaltura-effect"
      })
    }))

  it.effect("transformClient is applied to every request", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(startSessionRoute, sessionReply())
      const { HttpClient, HttpClientRequest } = yield* Effect.promise(() => import("@effect/platform"))
      const transport = yield* api(fake, {
        transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-proxy", "yes"))
      })
      yield* transport.call(startSession, SessionInfoResponse)
      assert.strictEqual(fake.requests()[0].headers["x-proxy"], "yes")
    }))
})

describe("KalturaApi retries (TestClock)", () => {
  const transientFaults: ReadonlyArray<readonly [string, FakeTransport.Reply, KalturaError.KalturaCallError["_tag"]]> =
    [
      ["HTTP 503", FakeTransport.text("", { status: 503 }), "KalturaHttpError"],
      ["HTTP 502 with HTML", FakeTransport.text("<html>Bad Gateway</html>", { status: 502 }), "KalturaHttpError"],
      ["HTTP 429", FakeTransport.text("", { status: 429 }), "KalturaHttpError"],
      ["a RequestError", FakeTransport.transportError("ECONNRESET"), "KalturaTransportError"],
      ["200 with a non-JSON body", FakeTransport.text("<html>maintenance</html>"), "KalturaDecodeError"],
      [
        "ACTION_BLOCKED",
        FakeTransport.apiError("ACTION_BLOCKED", "Action \"startsession\" in service \"apptoken\" is blocked", {
          ACTION_NAME: "startsession",
          SERVICE_NAME: "apptoken"
        }),
        "KalturaApiError"
      ]
    ]

  for (const [label, reply, tag] of transientFaults) {
    it.effect(`${label} is retried 4 times: 5 attempts, attempts = 5 on the error`, () =>
      Effect.gen(function*() {
        const fake = FakeTransport.make({ [startSessionRoute]: reply })
        const transport = yield* api(fake)
        const fiber = yield* Effect.fork(Effect.flip(transport.call(startSession, SessionInfoResponse)))
        // the first retry waits at least 200 ms less 20% jitter
        yield* TestClock.adjust("150 millis")
        assert.strictEqual(fake.requests().length, 1)
        yield* TestClock.adjust("5 minutes")
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, tag)
        assert.strictEqual(error.attempts, 5)
        assert.strictEqual(fake.requests().length, 5)
        if (error._tag === "KalturaHttpError" || error._tag === "KalturaTransportError") {
          assert.include(error.message, "after 5 attempt(s)")
        }
      }))
  }

  it.effect("success after 2 failures: 3 attempts", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(
        startSessionRoute,
        FakeTransport.text("", { status: 503 }),
        FakeTransport.transportError(),
        sessionReply()
      )
      const transport = yield* api(fake)
      const result = yield* withClock(transport.call(startSession, SessionInfoResponse))
      assert.strictEqual(result.ks, adminKs)
      assert.strictEqual(fake.requests().length, 3)
    }))

  it.effect("the default backoff grows: about 200, 400, 800, 1600 ms (±20%)", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({ [startSessionRoute]: FakeTransport.text("", { status: 503 }) })
      const transport = yield* api(fake)
      const fiber = yield* Effect.fork(Effect.flip(transport.call(startSession, SessionInfoResponse)))
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error.attempts, 5)
      const times = fake.requests().map((r) => r.at)
      assert.strictEqual(times.length, 5)
      const gaps = times.slice(1).map((at, i) => at - times[i])
      // attempt n+1 starts between 0.8 and 1.2 × 200·2^(n-1) ms after attempt n
      for (const [i, gap] of gaps.entries()) {
        const base = 200 * 2 ** i
        assert.isAtLeast(gap, base * 0.8, `gap ${i + 1}: ${gaps.join(", ")}`)
        assert.isAtMost(gap, base * 1.2, `gap ${i + 1}: ${gaps.join(", ")}`)
      }
    }))

  it.effect("ACTION_BLOCKED waits five times longer", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({
        [startSessionRoute]: FakeTransport.apiError("ACTION_BLOCKED", "blocked", { ACTION_NAME: "startsession" })
      })
      const transport = yield* api(fake)
      yield* withClock(Effect.flip(transport.call(startSession, SessionInfoResponse)))
      const times = fake.requests().map((r) => r.at)
      assert.strictEqual(times.length, 5)
      const gaps = times.slice(1).map((at, i) => at - times[i])
      for (const [i, gap] of gaps.entries()) {
        const base = 1000 * 2 ** i
        assert.isAtLeast(gap, base * 0.8, `gap ${i + 1}: ${gaps.join(", ")}`)
        assert.isAtMost(gap, base * 1.2, `gap ${i + 1}: ${gaps.join(", ")}`)
      }
    }))

  it.effect("a transport that never answers times out after 10 s per attempt", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({ [startSessionRoute]: FakeTransport.never })
      const transport = yield* api(fake)
      const fiber = yield* Effect.fork(Effect.flip(transport.call(startSession, SessionInfoResponse)))
      yield* TestClock.adjust("9999 millis")
      assert.strictEqual(fake.requests().length, 1)
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("5 minutes")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "KalturaTransportError")
      if (error._tag !== "KalturaTransportError") return
      assert.strictEqual(error.reason, "Timeout")
      assert.include(error.description, "10s")
      assert.strictEqual(error.attempts, 5)
      assert.strictEqual(fake.requests().length, 5)
    }))

  it.effect("one timeout, then success", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue(startSessionRoute, FakeTransport.never, sessionReply())
      const transport = yield* api(fake)
      const result = yield* withClock(transport.call(startSession, SessionInfoResponse), "11 seconds")
      assert.strictEqual(result.ks, adminKs)
      assert.strictEqual(fake.requests().length, 2)
    }))

  const permanent: ReadonlyArray<readonly [string, FakeTransport.Reply]> = [
    ["INVALID_APP_TOKEN_HASH", FakeTransport.apiError("INVALID_APP_TOKEN_HASH", "Invalid application token hash")],
    [
      "APP_TOKEN_ID_NOT_FOUND",
      FakeTransport.apiError("APP_TOKEN_ID_NOT_FOUND", "Application token id \"0_ab12cd34\" not found", {
        ID: "0_ab12cd34"
      })
    ],
    [
      "SERVICE_FORBIDDEN",
      FakeTransport.apiError("SERVICE_FORBIDDEN", "The access to service [apptoken->startSession] is forbidden", {
        SERVICE: "apptoken->startSession"
      })
    ],
    ["HTTP 404", FakeTransport.text("Not Found", { status: 404 })]
  ]

  for (const [label, reply] of permanent) {
    it.effect(`${label} is not retried: exactly one attempt`, () =>
      Effect.gen(function*() {
        const fake = FakeTransport.make({ [startSessionRoute]: reply })
        const transport = yield* api(fake)
        const error = yield* withClock(Effect.flip(transport.call(startSession, SessionInfoResponse)))
        assert.strictEqual(error.attempts, 1)
        assert.isFalse(error.isTransient)
        assert.strictEqual(fake.requests().length, 1)
      }))
  }

  it.effect("INVALID_WIDGET_ID on the widget call is not retried", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({
        [widgetRoute]: FakeTransport.apiError("INVALID_WIDGET_ID", "Unknown widget [_12345]", { WIDGET_ID: "_12345" })
      })
      const transport = yield* api(fake)
      const error = yield* withClock(Effect.flip(transport.call(startWidget, StartWidgetSessionResponse)))
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.code, "INVALID_WIDGET_ID")
      assert.strictEqual(error.attempts, 1)
      assert.strictEqual(fake.requests().length, 1)
    }))

  it.effect("a user retrySchedule is honoured (spaced 1 s, 2 retries)", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({ [startSessionRoute]: FakeTransport.text("", { status: 503 }) })
      const transport = yield* api(fake, {
        retrySchedule: Schedule.intersect(Schedule.spaced("1 second"), Schedule.recurs(2))
      })
      const fiber = yield* Effect.fork(Effect.flip(transport.call(startSession, SessionInfoResponse)))
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(fake.requests().length, 1)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(fake.requests().length, 2)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error.attempts, 3)
      assert.strictEqual(fake.requests().length, 3)
    }))

  it.effect("a user retrySchedule never retries a permanent error", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({
        [startSessionRoute]: FakeTransport.apiError("INVALID_APP_TOKEN_HASH", "Invalid application token hash")
      })
      const transport = yield* api(fake, { retrySchedule: Schedule.recurs(10) })
      const error = yield* Effect.flip(transport.call(startSession, SessionInfoResponse))
      assert.strictEqual(error.attempts, 1)
      assert.strictEqual(fake.requests().length, 1)
    }))

  it.effect("a user timeout is honoured", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({ [startSessionRoute]: FakeTransport.never })
      const transport = yield* api(fake, { timeout: "2 seconds", retrySchedule: Schedule.stop })
      const fiber = yield* Effect.fork(Effect.flip(transport.call(startSession, SessionInfoResponse)))
      yield* TestClock.adjust("1999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)))
      yield* TestClock.adjust("1 millis")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "KalturaTransportError")
      if (error._tag !== "KalturaTransportError") return
      assert.strictEqual(error.reason, "Timeout")
      assert.strictEqual(error.attempts, 1)
    }))

  it.effect("Schema decoding is per call: a schema with a transformation is applied", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue("baseEntry/list", FakeTransport.json({ totalCount: "7", objects: [], objectType: "KalturaList" }))
      const transport = yield* api(fake)
      const result = yield* transport.call(
        { service: "baseEntry", action: "list", params: {} },
        Schema.Struct({ totalCount: Schema.NumberFromString })
      )
      assert.deepStrictEqual(result, { totalCount: 7 })
    }))
})

describe("KalturaApi: writes are never sent twice when the first may have reached Kaltura", () => {
  const add = { service: "media", action: "add", params: { entry: { name: "x" } } } as const
  const run = (replies: ReadonlyArray<FakeTransport.Reply>, request: KalturaApi.Request = add) =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.enqueue("media/add", ...replies)
      fake.setDefault("media/add", FakeTransport.json({ id: "0_new" }))
      const transport = yield* api(fake)
      const fiber = yield* Effect.fork(Effect.either(transport.call(request, Schema.Struct({ id: Schema.String }))))
      yield* TestClock.adjust("1 minute")
      return { result: yield* Fiber.join(fiber), requests: fake.requestsTo("media/add").length }
    })

  it.effect("an action that is not a read (add) is not retried after a 503, a timeout or a broken connection", () =>
    Effect.gen(function*() {
      for (
        const reply of [FakeTransport.text("", { status: 503 }), FakeTransport.never, FakeTransport.transportError()]
      ) {
        const { requests, result } = yield* run([reply])
        assert.strictEqual(requests, 1)
        assert.isTrue(result._tag === "Left" && result.left.attempts === 1)
      }
    }))

  it.effect("a write is retried after a failure that certainly did not reach Kaltura (ACTION_BLOCKED, 429)", () =>
    Effect.gen(function*() {
      for (
        const reply of [FakeTransport.apiError("ACTION_BLOCKED", "blocked"), FakeTransport.text("", { status: 429 })]
      ) {
        const { requests, result } = yield* run([reply])
        assert.strictEqual(requests, 2)
        assert.isTrue(result._tag === "Right")
      }
    }))

  it.effect("a read (get, list, ...) is retried; a request marked idempotent is retried whatever its name", () =>
    Effect.gen(function*() {
      assert.isTrue(KalturaApi.isIdempotentAction("list"))
      assert.isTrue(KalturaApi.isIdempotentAction("getByEntryId"))
      assert.isFalse(KalturaApi.isIdempotentAction("add"))
      assert.isFalse(KalturaApi.isIdempotentAction("startSession"))
      const { requests, result } = yield* run([FakeTransport.text("", { status: 503 })], { ...add, idempotent: true })
      assert.strictEqual(requests, 2)
      assert.isTrue(result._tag === "Right")
    }))

  it.effect("a code declared permanent for a request is not transient on its error", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make()
      fake.setDefault("session/start", FakeTransport.apiError("START_SESSION_ERROR", "Error while starting session"))
      const transport = yield* api(fake)
      const error = yield* Effect.flip(
        transport.call({
          service: "session",
          action: "start",
          params: { secret: Redacted.make("wrong"), partnerId: 12345 },
          idempotent: true,
          permanentCodes: ["START_SESSION_ERROR"]
        }, Schema.String)
      )
      assert.strictEqual(error._tag, "KalturaApiError")
      assert.isFalse(error.isTransient)
      assert.strictEqual(fake.requestsTo("session/start").length, 1)
    }))
})
