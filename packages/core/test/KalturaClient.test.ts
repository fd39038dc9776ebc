/**
 * KalturaClient on the real session and transport over the in-memory `HttpClient`: the KS goes in the
 * body, results are decoded with the caller's schema, and an expired or revoked KS costs one refresh and
 * one retry.
 */
import { HttpClientRequest } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import { type Duration, Effect, Fiber, Schema, TestClock } from "effect"
import * as AppTokenSession from "../src/AppTokenSession.js"
import * as KalturaClient from "../src/KalturaClient.js"
import * as FakeTransport from "./utils/FakeTransport.js"
import {
  adminKs,
  adminKs2,
  happyFake,
  sessionReply,
  stack,
  startSessionRoute,
  widgetKs,
  widgetRoute
} from "./utils/fixtures.js"

const listRoute = "baseEntry/list"
const EntryList = Schema.Struct({
  totalCount: Schema.Number,
  objects: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String }))
})
const listReply = FakeTransport.json({
  objects: [{ id: "1_abc", name: "Intro", objectType: "KalturaMediaEntry" }],
  totalCount: 1,
  objectType: "KalturaBaseEntryListResponse"
})

const invalidKs = (ksid: string) =>
  FakeTransport.apiError("INVALID_KS", `Invalid KS "${ksid}", Error "-1,INVALID_STR"`, {
    KSID: ksid,
    ERR_CODE: "-1",
    ERR_DESC: "INVALID_STR"
  })

const list = Effect.flatMap(
  KalturaClient.KalturaClient,
  (client) => client.call("baseEntry", "list", { pager: { pageSize: 5 } }, EntryList)
)

/** Forks `effect`, moves the TestClock past the session's minimum refresh interval (5 s), joins. */
const withClock = <A, E>(effect: Effect.Effect<A, E>, by: Duration.DurationInput = "1 minute") =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(by)
    return yield* Fiber.join(fiber)
  })

/** A fake whose second startSession answers with `adminKs2`. */
const refreshingFake = () => {
  const fake = happyFake()
  fake.enqueue(startSessionRoute, sessionReply(), sessionReply({ ks: adminKs2, expiry: 7200 }))
  return fake
}

describe("KalturaClient.call", () => {
  it.effect("sends the current KS in the body and decodes with the given schema", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(listRoute, listReply)
      const result = yield* Effect.provide(list, stack(fake))
      assert.deepStrictEqual(result, { totalCount: 1, objects: [{ id: "1_abc", name: "Intro" }] })
      const [request] = fake.requestsTo(listRoute)
      assert.strictEqual(request.url, "https://kaltura.test/api_v3/service/baseentry/action/list")
      assert.strictEqual(request.method, "POST")
      assert.strictEqual(request.headers["content-type"], "application/json")
      assert.deepStrictEqual(request.body, {
        pager: { pageSize: 5 },
        ks: adminKs,
        format: 1,
        clientTag: "kaltura-effect"
      })
      for (const value of Object.values(request.headers)) assert.notInclude(value, adminKs)
    }))

  it.effect("reuses the session across calls", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(listRoute, listReply)
      yield* Effect.provide(Effect.zip(list, list), stack(fake))
      assert.strictEqual(fake.requestsTo(widgetRoute).length, 1)
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 1)
      assert.strictEqual(fake.requestsTo(listRoute).length, 2)
    }))

  for (const reason of ["EXPIRED", "LOGOUT"]) {
    it.effect(`INVALID_KS ${reason}: exactly one new startSession and one retry with the new KS`, () =>
      Effect.gen(function*() {
        const fake = refreshingFake()
        fake.enqueue(listRoute, invalidKs(reason), listReply)
        const result = yield* withClock(Effect.provide(list, stack(fake)))
        assert.strictEqual(result.totalCount, 1)
        assert.strictEqual(fake.requestsTo(startSessionRoute).length, 2)
        // the widget KS is still good: it is reused for the refresh
        assert.strictEqual(fake.requestsTo(widgetRoute).length, 1)
        assert.strictEqual(fake.requestsTo(startSessionRoute)[1].body.ks, widgetKs)
        assert.deepStrictEqual(fake.requestsTo(listRoute).map((r) => r.body.ks), [adminKs, adminKs2])
      }))
  }

  it.effect("a second EXPIRED after the retry is returned, with no further refresh", () =>
    Effect.gen(function*() {
      const fake = refreshingFake()
      fake.enqueue(listRoute, invalidKs("EXPIRED"), invalidKs("EXPIRED"), listReply)
      const error = yield* withClock(Effect.flip(Effect.provide(list, stack(fake))))
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.code, "INVALID_KS")
      assert.strictEqual(error.ksReason, "EXPIRED")
      assert.strictEqual(fake.requestsTo(listRoute).length, 2)
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 2)
    }))

  it.effect("N concurrent calls told EXPIRED cause one refresh", () =>
    Effect.gen(function*() {
      const fake = refreshingFake()
      fake.respond(listRoute, (request) => request.body.ks === adminKs ? invalidKs("EXPIRED") : listReply)
      const results = yield* withClock(
        Effect.provide(Effect.all(Array.from({ length: 20 }, () => list), { concurrency: "unbounded" }), stack(fake))
      )
      assert.strictEqual(results.length, 20)
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 2)
      assert.strictEqual(fake.requestsTo(widgetRoute).length, 1)
      const retried = fake.requestsTo(listRoute).filter((r) => r.body.ks === adminKs2)
      assert.strictEqual(retried.length, 20)
    }))

  const passThrough: ReadonlyArray<readonly [string, FakeTransport.Reply, string]> = [
    [
      "SERVICE_FORBIDDEN",
      FakeTransport.apiError("SERVICE_FORBIDDEN", "The access to service [baseEntry->list] is forbidden", {
        SERVICE: "baseEntry->list"
      }),
      "SERVICE_FORBIDDEN"
    ],
    ["INVALID_KS for an unparseable KS", invalidKs(adminKs), "INVALID_KS"],
    ["INVALID_KS EXCEEDED_RESTRICTED_IP", invalidKs("EXCEEDED_RESTRICTED_IP"), "INVALID_KS"]
  ]

  for (const [label, reply, code] of passThrough) {
    it.effect(`${label} passes through unchanged: no refresh, no retry`, () =>
      Effect.gen(function*() {
        const fake = refreshingFake()
        fake.enqueue(listRoute, reply, listReply)
        const error = yield* withClock(Effect.flip(Effect.provide(list, stack(fake))))
        assert.strictEqual(error._tag, "KalturaApiError")
        if (error._tag !== "KalturaApiError") return
        assert.strictEqual(error.code, code)
        assert.strictEqual(error.service, "baseEntry")
        assert.strictEqual(error.action, "list")
        assert.strictEqual(error.attempts, 1)
        assert.strictEqual(fake.requestsTo(listRoute).length, 1)
        assert.strictEqual(fake.requestsTo(startSessionRoute).length, 1)
      }))
  }

  it.effect("an HTTP 404 passes through as KalturaHttpError", () =>
    Effect.gen(function*() {
      const fake = refreshingFake()
      fake.enqueue(listRoute, FakeTransport.text("Not Found", { status: 404 }))
      const error = yield* withClock(Effect.flip(Effect.provide(list, stack(fake))))
      assert.strictEqual(error._tag, "KalturaHttpError")
      if (error._tag !== "KalturaHttpError") return
      assert.strictEqual(error.status, 404)
      assert.strictEqual(fake.requestsTo(startSessionRoute).length, 1)
    }))

  it.effect("a wrong-shaped result is a KalturaDecodeError", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(listRoute, FakeTransport.json({ totalCount: "many", objectType: "KalturaBaseEntryListResponse" }))
      const error = yield* Effect.flip(Effect.provide(list, stack(fake)))
      assert.strictEqual(error._tag, "KalturaDecodeError")
      if (error._tag !== "KalturaDecodeError") return
      assert.strictEqual(error.reason, "UnexpectedShape")
    }))

  it.effect("a session failure is the call's failure, and nothing else is sent", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.enqueue(
        startSessionRoute,
        FakeTransport.apiError("INVALID_APP_TOKEN_HASH", "Invalid application token hash")
      )
      fake.setDefault(listRoute, listReply)
      const error = yield* Effect.flip(Effect.provide(list, stack(fake)))
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.code, "INVALID_APP_TOKEN_HASH")
      assert.strictEqual(fake.requestsTo(listRoute).length, 0)
    }))
})

describe("KalturaClient.withKs", () => {
  it.effect("adds the current KS to JSON POST bodies and leaves others alone", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault(listRoute, listReply)
      yield* Effect.gen(function*() {
        const session = yield* AppTokenSession.AppTokenSession
        const client = fake.client.pipe(KalturaClient.withKs(session))
        yield* client.execute(
          HttpClientRequest.post("https://kaltura.test/api_v3/service/baseentry/action/list").pipe(
            HttpClientRequest.bodyText(JSON.stringify({ format: 1 }), "application/json")
          )
        )
        yield* client.execute(HttpClientRequest.get("https://kaltura.test/api_v3/service/baseentry/action/list"))
      }).pipe(Effect.scoped, Effect.provide(stack(fake)))
      const [post, get] = fake.requestsTo(listRoute)
      assert.deepStrictEqual(post.body, { format: 1, ks: adminKs })
      assert.strictEqual(post.headers["content-type"], "application/json")
      assert.strictEqual(get.method, "GET")
      assert.strictEqual(get.rawBody, "")
    }))
})
