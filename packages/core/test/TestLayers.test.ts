/**
 * How a user's tests swap in the mock layers: code written against the service tags runs unchanged on
 * `AppTokenSession.layerTest`, `TokenHasher.layerTest` and `WidgetSession.layerTest`.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema, TestClock } from "effect"
import * as AppTokenSession from "../src/AppTokenSession.js"
import { serverCacheMillis } from "../src/internal/widget.js"
import * as KalturaApi from "../src/KalturaApi.js"
import * as KalturaClient from "../src/KalturaClient.js"
import * as KalturaConfig from "../src/KalturaConfig.js"
import * as KalturaError from "../src/KalturaError.js"
import * as TokenHasher from "../src/TokenHasher.js"
import * as WidgetSession from "../src/WidgetSession.js"
import * as FakeTransport from "./utils/FakeTransport.js"
import {
  baseOptions,
  happyFake,
  partnerId,
  serviceUrl,
  stack,
  startSessionRoute,
  widgetKs,
  widgetReply,
  widgetRoute
} from "./utils/fixtures.js"

// --- the "user's code": it only knows the tags ---

const currentKs = Effect.gen(function*() {
  const session = yield* AppTokenSession.AppTokenSession
  return Redacted.value(yield* session.ks)
})

const countEntries = Effect.gen(function*() {
  const client = yield* KalturaClient.KalturaClient
  const list = yield* client.call("baseEntry", "list", {}, Schema.Struct({ totalCount: Schema.Number }))
  return list.totalCount
})

const widgetThenHash = (token: string) =>
  Effect.gen(function*() {
    const widgets = yield* WidgetSession.WidgetSession
    const hasher = yield* TokenHasher.TokenHasher
    const widget = yield* widgets.start()
    const hash = yield* hasher.hash("SHA1", widget.ks, Redacted.make(token))
    return { widget, hash: Redacted.value(hash) }
  })

describe("test layers", () => {
  it.effect("AppTokenSession.layerTest hands out the fixed KS", () =>
    Effect.gen(function*() {
      assert.strictEqual(yield* currentKs, "test-ks")
      const session = yield* AppTokenSession.AppTokenSession
      const current = yield* session.get
      assert.strictEqual(current.partnerId, 42)
      assert.strictEqual(current.sessionType, 2)
      assert.strictEqual(current.generation, 1)
      assert.strictEqual(current.expiresAt - current.obtainedAt, 600_000)
      assert.strictEqual(yield* session.status, "Fresh")
      const refreshed = yield* session.refresh
      assert.strictEqual(refreshed.generation, 2)
      assert.strictEqual(Redacted.value(refreshed.ks), "test-ks")
    }).pipe(Effect.provide(AppTokenSession.layerTest({ ks: "test-ks", partnerId: 42, sessionType: 2, lifetime: 600 }))))

  it.effect("AppTokenSession.layerTest defaults", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(1_000_000)
      const session = yield* Effect.provide(
        Effect.flatMap(AppTokenSession.AppTokenSession, (s) => s.get),
        AppTokenSession.layerTest({ ks: "k" })
      )
      assert.strictEqual(session.partnerId, 0)
      assert.strictEqual(session.userId, "")
      assert.strictEqual(session.sessionType, 0)
      assert.strictEqual(session.obtainedAt, 1_000_000)
      assert.strictEqual(session.expiresAt, 1_000_000 + 86_400_000)
      assert.strictEqual(session.expiry, 1000 + 86_400)
    }))

  it.effect("KalturaClient on AppTokenSession.layerTest sends the fixed KS and never starts a session", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({
        "baseEntry/list": FakeTransport.json({ totalCount: 3, objectType: "KalturaBaseEntryListResponse" })
      })
      const layer = KalturaClient.layer.pipe(
        Layer.provide(AppTokenSession.layerTest({ ks: "test-ks" })),
        Layer.provide(KalturaApi.layer()),
        Layer.provide(fake.layer),
        Layer.provide(KalturaConfig.layer(baseOptions))
      )
      assert.strictEqual(yield* Effect.provide(countEntries, layer), 3)
      assert.deepStrictEqual(fake.requests().map((r) => r.route), ["baseentry/list"])
      assert.strictEqual(fake.requests()[0].body.ks, "test-ks")
      assert.strictEqual(fake.requests()[0].url, `${serviceUrl}/api_v3/service/baseentry/action/list`)
    }))

  it.effect("TokenHasher.layerTest: the real session sends the scripted hash", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      yield* Effect.provide(currentKs, stack(fake, { hasher: TokenHasher.layerTest("0123abcd") }))
      assert.strictEqual(fake.requestsTo(startSessionRoute)[0].body.tokenHash, "0123abcd")
    }))

  it.effect("WidgetSession.layerTest answers without a request", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(5_000)
      const { hash, widget } = yield* widgetThenHash("tok").pipe(
        Effect.provide(Layer.merge(WidgetSession.layerTest({ ks: "widget-ks", partnerId }), TokenHasher.layerTest("h")))
      )
      assert.strictEqual(Redacted.value(widget.ks), "widget-ks")
      assert.strictEqual(widget.partnerId, partnerId)
      assert.strictEqual(widget.widgetId, "_12345")
      assert.strictEqual(widget.expiry, WidgetSession.defaultExpiry)
      assert.strictEqual(widget.obtainedAt, 5_000)
      assert.strictEqual(widget.validUntil, 5_000 + 86_400_000 - serverCacheMillis)
      assert.strictEqual(hash, "h")
    }))

  it.effect("WidgetSession.layerTest inside the real session: no widget request, its KS sent and hashed", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      const layer = stack(fake, { widgetSession: WidgetSession.layerTest({ ks: widgetKs, partnerId }) })
      yield* Effect.provide(currentKs, layer)
      assert.strictEqual(fake.requestsTo(widgetRoute).length, 0)
      const [startSession] = fake.requestsTo(startSessionRoute)
      assert.strictEqual(startSession.body.ks, widgetKs)
      assert.strictEqual(
        startSession.body.tokenHash,
        "ae8e79c6a26c38d58bc6ca36da420e60ff1e4de1769f281e1c731d5cc85a6511"
      )
    }))

  it.effect("WidgetSession.layerTest honours per-call widgetId and expiry", () =>
    Effect.gen(function*() {
      const widgets = yield* WidgetSession.WidgetSession
      const widget = yield* widgets.start({ widgetId: "_other", expiry: 3600 })
      assert.strictEqual(widget.widgetId, "_other")
      assert.strictEqual(widget.expiry, 3600)
      assert.strictEqual(widget.validUntil - widget.obtainedAt, 3_600_000 - 600_000)
    }).pipe(Effect.provide(WidgetSession.layerTest({ ks: "w", partnerId }))))

  it.effect("the real WidgetSession.layer and TokenHasher.layer on the fake transport", () =>
    Effect.gen(function*() {
      const fake = FakeTransport.make({ [widgetRoute]: widgetReply() })
      const layer = Layer.mergeAll(WidgetSession.layer, TokenHasher.layer).pipe(
        Layer.provide(KalturaApi.layer()),
        Layer.provide(fake.layer),
        Layer.provide(KalturaConfig.layer(baseOptions))
      )
      const { hash, widget } = yield* Effect.provide(widgetThenHash("a1b2c3d4e5f60718293a4b5c6d7e8f90"), layer)
      assert.strictEqual(Redacted.value(widget.ks), widgetKs)
      assert.strictEqual(widget.widgetId, "_12345")
      assert.strictEqual(hash, "d1c7c2eaf56430741fdd6fa424601d370d14b1db")
      assert.deepStrictEqual(fake.requests()[0].body, {
        widgetId: "_12345",
        expiry: 86400,
        format: 1,
        clientTag: "kaltura-effect"
      })
    }))
})

describe("mocks for what users call", () => {
  const EntryList = Schema.Struct({
    totalCount: Schema.Number,
    objects: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String }))
  })
  const listNames = Effect.gen(function*() {
    const client = yield* KalturaClient.KalturaClient
    const list = yield* client.call("baseEntry", "list", { pager: { pageSize: 5 } }, EntryList)
    return list.objects.map((entry) => entry.name)
  })

  it.effect("KalturaClient.layerTest: one layer answers client.call with JSON the caller's schema decodes", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const names = yield* listNames.pipe(
        Effect.provide(KalturaClient.layerTest((service, action, params, { ks }) => {
          seen.push({ service, action, params, ks: ks && Redacted.value(ks) })
          return {
            totalCount: 1,
            objects: [{ id: "0_abc", name: "Intro" }],
            objectType: "KalturaBaseEntryListResponse"
          }
        }))
      )
      assert.deepStrictEqual(names, ["Intro"])
      assert.deepStrictEqual(seen, [{
        service: "baseEntry",
        action: "list",
        params: { pager: { pageSize: 5 } },
        ks: "test-ks"
      }])
    }))

  it.effect("KalturaClient.layerTest: a Kaltura error is the typed KalturaApiError the real transport gives", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        listNames.pipe(
          Effect.provide(
            KalturaClient.layerTest(() =>
              KalturaApi.exception("SERVICE_FORBIDDEN", "The access to service [baseentry->list] is forbidden")
            )
          )
        )
      )
      assert.strictEqual(error._tag, "KalturaApiError")
      if (error._tag !== "KalturaApiError") return
      assert.strictEqual(error.code, "SERVICE_FORBIDDEN")
      assert.strictEqual(error.service, "baseEntry")
      // every error client.call returns is accepted by the classification predicates
      assert.isFalse(KalturaError.isTransient(error))
    }))

  it.effect("KalturaClient.layerTest: an expired KS is refreshed and the call retried once, as in production", () =>
    Effect.gen(function*() {
      let calls = 0
      const names = yield* listNames.pipe(
        Effect.provide(KalturaClient.layerTest(() =>
          ++calls === 1
            ? KalturaApi.exception("INVALID_KS", "Invalid KS", {
              KSID: "EXPIRED",
              ERR_CODE: "-1",
              ERR_DESC: "INVALID_STR"
            })
            : { totalCount: 0, objects: [] }
        ))
      )
      assert.deepStrictEqual(names, [])
      assert.strictEqual(calls, 2)
    }))

  it.effect("KalturaClient.layerTest: JSON the schema cannot decode is a KalturaDecodeError naming what was expected", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        listNames.pipe(Effect.provide(KalturaClient.layerTest(() => ({ totalCount: "many", objects: [] }))))
      )
      assert.strictEqual(error._tag, "KalturaDecodeError")
      assert.include(error.message, "\"totalCount\"")
      assert.include(error.message, "expected")
    }))

  it.effect("KalturaApi.layerTest: a handler may answer with an Effect, e.g. a transport failure", () =>
    Effect.gen(function*() {
      const api = yield* KalturaApi.KalturaApi
      const error = yield* Effect.flip(api.call({ service: "baseEntry", action: "get" }, Schema.Unknown))
      assert.strictEqual(error._tag, "KalturaTransportError")
      assert.isTrue(KalturaError.isTransient(error))
    }).pipe(Effect.provide(KalturaApi.layerTest((service, action) =>
      Effect.fail(
        new KalturaError.KalturaTransportError({
          service,
          action,
          reason: "Transport",
          description: "connection refused",
          attempts: 1
        })
      )
    ))))

  it("every error type a public method returns is accepted by isTransient (a compile-time check)", () => {
    const errors: ReadonlyArray<KalturaError.KalturaAnyError> = [
      new KalturaConfig.KalturaConfigError({ field: "partnerId", env: "KALTURA_PARTNER_ID", expected: "a number" }),
      new KalturaError.KalturaSessionError({ reason: "Closed", description: "closed" })
    ]
    assert.deepStrictEqual(errors.map(KalturaError.isTransient), [false, false])
  })
})
