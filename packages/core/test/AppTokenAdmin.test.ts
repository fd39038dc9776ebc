/**
 * `AppTokenAdmin` on the in-memory transport: what goes on the wire, what is refused before any request, and which
 * failures are retried.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Redacted, TestClock } from "effect"
import * as AppTokenAdmin from "../src/AppTokenAdmin.js"
import * as FakeTransport from "./utils/FakeTransport.js"
import { adminKs, partnerId, serviceUrl } from "./utils/fixtures.js"

const adminSecret = "f0e1d2c3b4a5968778695a4b3c2d1e0f"

const tokenJson = (overrides?: Record<string, unknown>) => ({
  id: "0_newtoken",
  token: "0123456789abcdef0123456789abcdef",
  partnerId: String(partnerId),
  createdAt: 1_700_000_000,
  updatedAt: 1_700_000_000,
  status: 2,
  sessionDuration: 86400,
  hashType: "SHA256",
  objectType: "KalturaAppToken",
  ...overrides
})

const adminFake = () =>
  FakeTransport.make({
    "session/start": FakeTransport.json(adminKs),
    "apptoken/add": FakeTransport.json(tokenJson()),
    "apptoken/get": FakeTransport.json(tokenJson()),
    "apptoken/update": FakeTransport.json(tokenJson({ description: "renamed" })),
    "apptoken/delete": FakeTransport.json(null),
    "apptoken/list": FakeTransport.json({
      objects: [tokenJson()],
      totalCount: 1,
      objectType: "KalturaAppTokenListResponse"
    })
  })

const admin = (fake: FakeTransport.FakeTransport) =>
  AppTokenAdmin.make({ serviceUrl, partnerId, adminSecret: Redacted.make(adminSecret) }).pipe(
    Effect.provide(fake.layer)
  )

describe("AppTokenAdmin", () => {
  it.effect("session.start sent with no KS and the admin secret in the body; the ADMIN KS then on every action", () =>
    Effect.gen(function*() {
      const fake = adminFake()
      const service = yield* admin(fake)
      const token = yield* service.add({ description: "ci" })
      yield* service.list
      assert.strictEqual(token.id, "0_newtoken")
      assert.isTrue(Redacted.isRedacted(token.token))
      assert.strictEqual(token.status, "ACTIVE")
      const [start] = fake.requestsTo("session/start")
      assert.deepStrictEqual(start!.body, {
        secret: adminSecret,
        userId: "",
        type: 2,
        partnerId,
        expiry: 3600,
        format: 1,
        clientTag: "kaltura-effect"
      })
      assert.notInclude(start!.url, adminSecret)
      // one admin session for both actions
      assert.strictEqual(fake.requestsTo("session/start").length, 1)
      for (const request of [...fake.requestsTo("apptoken/add"), ...fake.requestsTo("apptoken/list")]) {
        assert.strictEqual(request.body.ks, adminKs)
      }
    }))

  it.effect("add always sends the hash type (SHA256 by default) and only the fields that are set", () =>
    Effect.gen(function*() {
      const fake = adminFake()
      const service = yield* admin(fake)
      yield* service.add()
      yield* service.add({ hashType: "SHA1", sessionType: "ADMIN", sessionDuration: 3600, sessionUserId: "bot" })
      const [plain, full] = fake.requestsTo("apptoken/add")
      assert.deepStrictEqual(plain!.body.appToken, { objectType: "KalturaAppToken", hashType: "SHA256" })
      assert.deepStrictEqual(full!.body.appToken, {
        objectType: "KalturaAppToken",
        hashType: "SHA1",
        sessionType: 2,
        sessionDuration: 3600,
        sessionUserId: "bot"
      })
    }))

  it.effect("values the server would turn into a surprise are refused before any request", () =>
    Effect.gen(function*() {
      const fake = adminFake()
      const service = yield* admin(fake)
      yield* TestClock.adjust("1000 days")
      const cases: ReadonlyArray<readonly [AppTokenAdmin.AddOptions, string]> = [
        [{ expiry: 0 }, "expiry"],
        [{ expiry: 1000 }, "expiry"], // in the past
        [{ sessionDuration: 0 }, "sessionDuration"],
        [{ sessionDuration: -5 }, "sessionDuration"],
        [{ hashType: "SHA3" as never }, "hashType"],
        [{ sessionType: 1 as never }, "sessionType"],
        [{ description: "" }, "description"]
      ]
      for (const [options, field] of cases) {
        const error = yield* Effect.flip(service.add(options))
        assert.strictEqual(error._tag, "KalturaConfigError")
        assert.strictEqual(error._tag === "KalturaConfigError" ? error.field : "", field)
      }
      assert.strictEqual(fake.requests().length, 0)
    }))

  it.effect("a wrong admin secret (START_SESSION_ERROR) is permanent here: one request, not transient", () =>
    Effect.gen(function*() {
      const fake = adminFake()
      fake.setDefault("session/start", FakeTransport.apiError("START_SESSION_ERROR", "Error while starting session"))
      const service = yield* admin(fake)
      const error = yield* Effect.flip(service.list)
      assert.strictEqual(error._tag, "KalturaApiError")
      assert.isFalse(error.isTransient)
      assert.strictEqual(fake.requestsTo("session/start").length, 1)
      assert.notInclude(JSON.stringify(error), adminSecret)
      assert.notInclude(error.message, adminSecret)
    }))

  it.effect("add, update and delete are never sent again after a timeout or a broken connection; get and list are", () =>
    Effect.gen(function*() {
      const fake = adminFake()
      for (const route of ["apptoken/add", "apptoken/update", "apptoken/delete", "apptoken/get"]) {
        fake.enqueue(route, FakeTransport.transportError("socket hang up"))
      }
      const service = yield* admin(fake)
      const fiber = yield* Effect.fork(Effect.all([
        Effect.either(service.add()),
        Effect.either(service.update("0_x", { description: "d" })),
        Effect.either(service.delete("0_x")),
        Effect.either(service.get("0_x"))
      ]))
      yield* TestClock.adjust("1 minute")
      const [added, updated, deleted, got] = yield* Fiber.join(fiber)
      assert.isTrue(added._tag === "Left" && updated._tag === "Left" && deleted._tag === "Left")
      assert.isTrue(got._tag === "Right")
      assert.strictEqual(fake.requestsTo("apptoken/add").length, 1)
      assert.strictEqual(fake.requestsTo("apptoken/update").length, 1)
      assert.strictEqual(fake.requestsTo("apptoken/delete").length, 1)
      assert.strictEqual(fake.requestsTo("apptoken/get").length, 2)
    }))

  it.effect("bad options are refused when the service is built", () =>
    Effect.gen(function*() {
      const fake = adminFake()
      const blank = yield* Effect.flip(
        AppTokenAdmin.make({ partnerId, adminSecret: Redacted.make("   ") }).pipe(Effect.provide(fake.layer))
      )
      assert.strictEqual(blank.field, "adminSecret")
      assert.notInclude(blank.message, "   ")
      const http = yield* Effect.flip(
        AppTokenAdmin.make({ serviceUrl: "http://kaltura.example.com", partnerId, adminSecret: Redacted.make("x") })
          .pipe(Effect.provide(fake.layer))
      )
      assert.strictEqual(http.field, "serviceUrl")
    }))
})
