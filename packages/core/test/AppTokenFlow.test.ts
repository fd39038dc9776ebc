/**
 * The two requests of the App Token flow as they go over the wire (spec §4, §10), driven through the
 * real `AppTokenSession` on the in-memory transport.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as AppTokenSession from "../src/AppTokenSession.js"
import type * as KalturaConfig from "../src/KalturaConfig.js"
import type * as FakeTransport from "./utils/FakeTransport.js"
import {
  adminKs,
  appTokenId,
  happyFake,
  hashVectors,
  partnerId,
  serviceUrl,
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
