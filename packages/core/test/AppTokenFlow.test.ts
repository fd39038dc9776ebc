/**
 * The two requests of the App Token flow as they go over the wire (spec §4, §10), driven through the
 * real `AppTokenSession` on the in-memory transport.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, TestClock } from "effect"
import * as AppTokenSession from "../src/AppTokenSession.js"
import { hashSync } from "../src/internal/hash.js"
import type * as KalturaConfig from "../src/KalturaConfig.js"
import * as FakeTransport from "./utils/FakeTransport.js"
import {
  adminKs,
  adminKs2,
  appTokenId,
  happyFake,
  hashVectors,
  partnerId,
  serviceUrl,
  sessionReply,
  stack,
  type StackOptions,
  startSessionRoute,
  tokenValue,
  widgetKs,
  widgetRoute
} from "./utils/fixtures.js"

const getSession = (fake: FakeTransport.FakeTransport, options?: StackOptions) =>
  Effect.flatMap(AppTokenSession.AppTokenSession, (session) => session.get).pipe(
    Effect.provide(stack(fake, options))
  )

const sortedKeys = (body: Readonly<Record<string, unknown>>) => Object.keys(body).sort()

describe("the App Token flow on the wire", () => {
  it.effect("startWidgetSession: URL, method, content type and an exact body with no ks", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      yield* getSession(fake)
      const [widget] = fake.requestsTo(widgetRoute)
      assert.strictEqual(fake.requests()[0], widget, "the widget call comes first")
      assert.strictEqual(widget.url, `${serviceUrl}/api_v3/service/session/action/startWidgetSession`)
      assert.strictEqual(widget.method, "POST")
      assert.strictEqual(widget.headers["content-type"], "application/json")
      assert.strictEqual(widget.headers["accept"], "application/json")
      assert.deepStrictEqual(widget.body, {
        widgetId: "_12345",
        expiry: 86400,
        format: 1,
        clientTag: "kaltura-effect"
      })
      assert.isFalse("ks" in widget.body)
    }))

  it.effect("startSession: URL, method, content type, the widget KS and its hash, nothing optional", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      yield* getSession(fake)
      assert.deepStrictEqual(fake.requests().map((r) => r.route), [widgetRoute, startSessionRoute])
      const [start] = fake.requestsTo(startSessionRoute)
      assert.strictEqual(start.url, `${serviceUrl}/api_v3/service/apptoken/action/startSession`)
      assert.strictEqual(start.method, "POST")
      assert.strictEqual(start.headers["content-type"], "application/json")
      assert.deepStrictEqual(start.body, {
        id: appTokenId,
        tokenHash: hashVectors.SHA256,
        ks: widgetKs,
        format: 1,
        clientTag: "kaltura-effect"
      })
      assert.deepStrictEqual(sortedKeys(start.body), ["clientTag", "format", "id", "ks", "tokenHash"])
    }))

  for (const hashType of ["MD5", "SHA1", "SHA256", "SHA512"] as const) {
    it.effect(`tokenHash is the lowercase ${hashType} of widget KS + token`, () =>
      Effect.gen(function*() {
        const fake = happyFake()
        yield* getSession(fake, { config: { hashType } })
        const [start] = fake.requestsTo(startSessionRoute)
        assert.strictEqual(start.body.tokenHash, hashVectors[hashType])
        assert.strictEqual(start.body.ks, widgetKs, "the KS sent is the KS hashed")
      }))
  }

  it.effect("the optional parameters are sent exactly when configured", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      const config: Partial<KalturaConfig.Options> = {
        userId: "alice@example.com",
        sessionType: "ADMIN",
        expiry: 3600,
        sessionPrivileges: "urirestrict:*,edit:1_abc",
        clientTag: "my-app",
        widgetId: "_777"
      }
      yield* getSession(fake, { config })
      const [widget] = fake.requestsTo(widgetRoute)
      assert.deepStrictEqual(widget.body, { widgetId: "_777", expiry: 86400, format: 1, clientTag: "my-app" })
      const [start] = fake.requestsTo(startSessionRoute)
      assert.deepStrictEqual(start.body, {
        id: appTokenId,
        tokenHash: hashVectors.SHA256,
        userId: "alice@example.com",
        type: 2,
        expiry: 3600,
        sessionPrivileges: "urirestrict:*,edit:1_abc",
        ks: widgetKs,
        format: 1,
        clientTag: "my-app"
      })
    }))

  it.effect("session type USER is sent as the number 0", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      yield* getSession(fake, { config: { sessionType: "USER" } })
      const [start] = fake.requestsTo(startSessionRoute)
      assert.strictEqual(start.body.type, 0)
    }))

  it.effect("the widget lifetime follows the session option widgetExpiry", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      yield* getSession(fake, { session: { widgetExpiry: 7200 } })
      assert.strictEqual(fake.requestsTo(widgetRoute)[0].body.expiry, 7200)
    }))

  it.effect("a service URL with a trailing slash or a path prefix gives clean URLs", () =>
    Effect.gen(function*() {
      const slash = happyFake()
      yield* getSession(slash, { config: { serviceUrl: "https://kaltura.test/" } })
      assert.deepStrictEqual(slash.requests().map((r) => r.url), [
        "https://kaltura.test/api_v3/service/session/action/startWidgetSession",
        "https://kaltura.test/api_v3/service/apptoken/action/startSession"
      ])
      const prefixed = happyFake()
      yield* getSession(prefixed, { config: { serviceUrl: "http://127.0.0.1:8080/kaltura/" } })
      assert.strictEqual(
        prefixed.requests()[0].url,
        "http://127.0.0.1:8080/kaltura/api_v3/service/session/action/startWidgetSession"
      )
    }))

  it.effect("no secret in any URL or header, and the token value in no body", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      const session = yield* getSession(fake, { config: { hashType: "SHA1" } })
      assert.strictEqual(Redacted.value(session.ks), adminKs)
      const secrets = [tokenValue, widgetKs, adminKs, hashVectors.SHA1]
      assert.strictEqual(fake.requests().length, 2)
      for (const request of fake.requests()) {
        for (const secret of secrets) {
          assert.notInclude(request.url, secret)
          assert.notInclude(decodeURIComponent(request.url), secret)
          for (const [name, value] of Object.entries(request.headers)) {
            assert.notInclude(value, secret, `header ${name}`)
          }
        }
        assert.notInclude(request.rawBody, tokenValue)
        assert.isFalse(new URL(request.url).search !== "", "no query string")
      }
    }))

  it.effect("the session decodes the answer: numeric strings, extra fields, effective values", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      const session = yield* getSession(fake)
      assert.strictEqual(session.partnerId, partnerId)
      assert.strictEqual(session.sessionType, 2)
      assert.strictEqual(session.userId, "")
      assert.strictEqual(session.expiry, 3600)
      assert.strictEqual(session.privileges, `sessionid:${appTokenId},apptoken:${appTokenId}`)
      assert.strictEqual(session.generation, 1)
      assert.strictEqual(session.obtainedAt, 0)
      assert.strictEqual(session.expiresAt, 3_600_000)
    }))
})

describe("the App Token flow: concurrency and failures", () => {
  const withClock = <A, E>(effect: Effect.Effect<A, E>) =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(effect)
      yield* TestClock.adjust("5 minutes")
      return yield* Fiber.join(fiber)
    })

  it.effect("50 concurrent get on a cold session: one widget call, one startSession, one session", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      const sessions = yield* Effect.gen(function*() {
        const session = yield* AppTokenSession.AppTokenSession
        return yield* Effect.all(Array.from({ length: 50 }, () => session.get), { concurrency: "unbounded" })
      }).pipe(Effect.provide(stack(fake)))
      assert.strictEqual(sessions.length, 50)
      assert.strictEqual(fake.requestsTo(widgetRoute).length, 1)
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 1)
      assert.strictEqual(fake.requests().length, 2)
      for (const session of sessions) {
        assert.strictEqual(Redacted.value(session.ks), adminKs)
        assert.strictEqual(session.generation, 1)
      }
    }))

  it.effect("50 concurrent get while the transport is slow still share one flight", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.enqueue(widgetRoute, FakeTransport.never)
      const sessions = yield* withClock(
        Effect.gen(function*() {
          const session = yield* AppTokenSession.AppTokenSession
          return yield* Effect.all(Array.from({ length: 50 }, () => session.get), { concurrency: "unbounded" })
        }).pipe(Effect.provide(stack(fake)))
      )
      assert.strictEqual(sessions.length, 50)
      // the first widget call timed out after 10 s and was retried once, for everyone
      assert.strictEqual(fake.requestsTo(widgetRoute).length, 2)
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 1)
    }))

  it.effect("a request that never answers times out after 10 s inside get, and is retried", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.enqueue(widgetRoute, FakeTransport.never)
      const fiber = yield* Effect.fork(getSession(fake))
      yield* TestClock.adjust("9 seconds")
      assert.strictEqual(fake.requests().length, 1)
      yield* TestClock.adjust("1 minute")
      const session = yield* Fiber.join(fiber)
      assert.strictEqual(Redacted.value(session.ks), adminKs)
      assert.deepStrictEqual(fake.requests().map((r) => r.route), [widgetRoute, widgetRoute, startSessionRoute])
    }))

  it.effect("closing the layer interrupts an acquisition in flight", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(widgetRoute, FakeTransport.never)
      // the caller gives up after 1 s; releasing the layer must not wait for the hung request
      const result = yield* withClock(
        Effect.flatMap(AppTokenSession.AppTokenSession, (session) => session.get).pipe(
          Effect.timeout("1 second"),
          Effect.provide(stack(fake)),
          Effect.either
        )
      )
      assert.strictEqual(result._tag, "Left")
      assert.strictEqual(fake.requests().length, 1)
    }))

  it.effect("transient widget failures are retried inside one get", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.enqueue(widgetRoute, FakeTransport.text("", { status: 503 }), FakeTransport.transportError())
      const session = yield* withClock(getSession(fake))
      assert.strictEqual(Redacted.value(session.ks), adminKs)
      assert.strictEqual(fake.requestsTo(widgetRoute).length, 3)
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 1)
    }))

  const permanent: ReadonlyArray<readonly [string, string, FakeTransport.Reply, number]> = [
    [
      "INVALID_APP_TOKEN_HASH",
      startSessionRoute,
      FakeTransport.apiError("INVALID_APP_TOKEN_HASH", "Invalid application token hash", []),
      1
    ],
    [
      "APP_TOKEN_ID_NOT_FOUND",
      startSessionRoute,
      FakeTransport.apiError("APP_TOKEN_ID_NOT_FOUND", `Application token id "${appTokenId}" not found`, {
        ID: appTokenId
      }),
      1
    ],
    [
      "SERVICE_FORBIDDEN",
      startSessionRoute,
      FakeTransport.apiError("SERVICE_FORBIDDEN", "The access to service [apptoken->startSession] is forbidden", {
        SERVICE: "apptoken->startSession"
      }),
      1
    ],
    [
      "INVALID_WIDGET_ID",
      widgetRoute,
      FakeTransport.apiError("INVALID_WIDGET_ID", "Unknown widget [_12345]", { WIDGET_ID: "_12345" }),
      0
    ]
  ]

  for (const [code, route, reply, startSessions] of permanent) {
    it.effect(`${code} fails get after exactly one attempt, with status Failed`, () =>
      Effect.gen(function*() {
        const fake = happyFake()
        fake.setDefault(route, reply)
        const { error, status } = yield* withClock(
          Effect.gen(function*() {
            const session = yield* AppTokenSession.AppTokenSession
            const error = yield* Effect.flip(session.get)
            // a second caller within the cooldown gets the same failure without a request
            const again = yield* Effect.flip(session.get)
            assert.strictEqual(again, error)
            return { error, status: yield* session.status }
          }).pipe(Effect.provide(stack(fake)))
        )
        assert.strictEqual(error._tag, "KalturaApiError")
        if (error._tag !== "KalturaApiError") return
        assert.strictEqual(error.code, code)
        assert.strictEqual(error.attempts, 1)
        assert.strictEqual(status, "Failed")
        assert.strictEqual(fake.requestsTo(widgetRoute).length, 1)
        assert.strictEqual(fake.requestsTo(startSessionRoute).length, startSessions)
      }))
  }

  it.effect("HTTP 404 (a wrong service URL) fails get after one attempt", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(widgetRoute, FakeTransport.text("<html>Not Found</html>", { status: 404 }))
      const error = yield* withClock(Effect.flip(getSession(fake)))
      assert.strictEqual(error._tag, "KalturaHttpError")
      if (error._tag !== "KalturaHttpError") return
      assert.strictEqual(error.status, 404)
      assert.strictEqual(error.attempts, 1)
      assert.strictEqual(fake.requests().length, 1)
    }))

  it.effect("a widget session for another partner is refused before startSession", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(
        widgetRoute,
        FakeTransport.json({ partnerId: 999, ks: widgetKs, userId: 0, objectType: "KalturaStartWidgetSessionResponse" })
      )
      const error = yield* Effect.flip(getSession(fake))
      // one error for one fault: the same as for a privileged session for another partner
      assert.strictEqual(error._tag, "KalturaSessionError")
      if (error._tag !== "KalturaSessionError") return
      assert.strictEqual(error.reason, "InvalidSession")
      assert.include(error.message, "partner 999")
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 0)
    }))

  it.effect("a session for another partner is refused", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(startSessionRoute, sessionReply({ partnerId: "54321" }))
      const error = yield* Effect.flip(getSession(fake))
      assert.strictEqual(error._tag, "KalturaSessionError")
      if (error._tag !== "KalturaSessionError") return
      assert.strictEqual(error.reason, "InvalidSession")
      assert.include(error.message, "54321")
    }))

  it.effect("an error's message, String and JSON never hold the token, the hash or a whole KS", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(
        startSessionRoute,
        FakeTransport.apiError("INVALID_KS", `Invalid KS "${widgetKs}", Error "-1,INVALID_STR"`, {
          KSID: widgetKs,
          ERR_CODE: "-1",
          ERR_DESC: "INVALID_STR"
        })
      )
      const error = yield* Effect.flip(getSession(fake))
      assert.strictEqual(error._tag, "KalturaApiError")
      for (const text of [error.message, String(error), JSON.stringify(error)]) {
        for (const secret of [tokenValue, widgetKs, hashVectors.SHA256]) assert.notInclude(text, secret)
      }
    }))
})

describe("the App Token flow: refreshes and server time", () => {
  const otherWidgetKs = "djJ8MTIzNDV8YW5vdGhlci13aWRnZXQta3MtZm9yLXRlc3Rz"

  it.effect("a refresh reuses the widget KS; INVALID_KS on it falls back to a new widget session, once", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.enqueue(
        widgetRoute,
        FakeTransport.json({ partnerId, ks: widgetKs, userId: 0 }),
        FakeTransport.json({
          partnerId,
          ks: otherWidgetKs,
          userId: 0
        })
      )
      fake.enqueue(
        startSessionRoute,
        sessionReply(),
        FakeTransport.apiError("INVALID_KS", "Invalid KS \"LOGOUT\", Error \"-1,INVALID_STR\"", {
          KSID: "LOGOUT",
          ERR_CODE: "-1",
          ERR_DESC: "INVALID_STR"
        }),
        sessionReply({ ks: adminKs2 })
      )
      const [first, second] = yield* Effect.gen(function*() {
        const session = yield* AppTokenSession.AppTokenSession
        const first = yield* session.get
        // past the minimum refresh interval (5 s), so `refresh` starts a new flight at once
        yield* TestClock.adjust("6 seconds")
        const second = yield* session.refresh
        return [first, second] as const
      }).pipe(Effect.provide(stack(fake)))
      assert.strictEqual(Redacted.value(first.ks), adminKs)
      assert.strictEqual(Redacted.value(second.ks), adminKs2)
      assert.strictEqual(second.generation, 2)
      assert.deepStrictEqual(fake.requests().map((r) => r.route), [
        widgetRoute,
        startSessionRoute,
        startSessionRoute,
        widgetRoute,
        startSessionRoute
      ])
      const starts = fake.requestsTo(startSessionRoute)
      assert.strictEqual(starts[1].body.ks, widgetKs, "the refresh first reuses the widget KS")
      assert.strictEqual(starts[1].body.tokenHash, hashVectors.SHA256)
      assert.strictEqual(starts[2].body.ks, otherWidgetKs)
      assert.strictEqual(starts[2].body.tokenHash, hashSync("SHA256", otherWidgetKs + tokenValue))
    }))

  it.effect("the Date header corrects for clock skew", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      // the server's clock is 300 s ahead of ours (TestClock starts at 0): within the 10-minute bound
      fake.setDefault(
        startSessionRoute,
        FakeTransport.json({ ks: adminKs, sessionType: 2, partnerId: "12345", userId: "", expiry: 3900 }, {
          headers: { date: new Date(300_000).toUTCString() }
        })
      )
      const session = yield* getSession(fake)
      assert.strictEqual(session.expiry, 3900)
      // 3600 s of lifetime, less the Date header's one-second resolution
      assert.strictEqual(session.expiresAt, 3_599_000)
    }))

  for (
    const [name, date] of [
      ["in 1970 (which would give a 57-year deadline)", (_now: number) => new Date(0)],
      ["3 hours ahead (which would make every session look expired)", (now: number) => new Date(now + 3 * 3600_000)]
    ] as const
  ) {
    it.effect(`a Date header ${name} is ignored: the lifetime comes from the local clock, capped`, () =>
      Effect.gen(function*() {
        const fake = happyFake()
        yield* TestClock.adjust("10 days")
        const now = 10 * 86_400_000
        // the server's own clock agrees with ours; only its Date header is wrong
        fake.setDefault(
          startSessionRoute,
          FakeTransport.json({
            ks: adminKs,
            sessionType: 2,
            partnerId: "12345",
            userId: "",
            expiry: now / 1000 + 3600
          }, { headers: { date: date(now).toUTCString() } })
        )
        const session = yield* getSession(fake, { config: { expiry: 3600 } })
        assert.strictEqual(session.expiresAt, now + 3_600_000)
      }))
  }

  it.effect("a session longer than the configured expiry is refused", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(
        startSessionRoute,
        FakeTransport.json({ ks: adminKs, sessionType: 2, partnerId: 12345, expiry: 86_400 }, {
          headers: { date: new Date(0).toUTCString() }
        })
      )
      const error = yield* Effect.flip(getSession(fake, { config: { expiry: 600 } }))
      assert.strictEqual(error._tag, "KalturaSessionError")
      if (error._tag !== "KalturaSessionError") return
      assert.strictEqual(error.reason, "InvalidSession")
    }))

  it.effect("without a Date header the lifetime is capped by the configured expiry", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(startSessionRoute, sessionReply({ expiry: "1700003600" }))
      const session = yield* getSession(fake, { config: { expiry: 600 } })
      assert.strictEqual(session.expiry, 1700003600)
      assert.strictEqual(session.expiresAt, 600_000)
    }))
})
