import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { assert, describe, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import { FakeKaltura, FakeKalturaFault, Ks } from "../src/index.js"

const postOnce = (url: string, body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(
      HttpClientRequest.post(url).pipe(HttpClientRequest.bodyUnsafeJson({ ...body, format: 1 }))
    )
    return { status: response.status, json: (yield* response.json) as any }
  }).pipe(Effect.scoped)

/** With a 5 s timeout: for live-clock tests only (under TestClock the timeout would never fire). */
const post = (url: string, body: Record<string, unknown>) => postOnce(url, body).pipe(Effect.timeout("5 seconds"))

describe("layers", () => {
  it.live("layerWithHttpClient provides the admin handle and an HttpClient", () =>
    Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const token = yield* fake.seedAppToken({ hashType: "MD5" })
      const widget = yield* post(`${fake.url}/api_v3/service/session/action/startWidgetSession`, {
        widgetId: fake.widgetId
      })
      // @effect/platform sends exactly application/json
      assert.strictEqual((yield* fake.requests)[0]!.headers["content-type"], "application/json")
      const session = yield* post(`${fake.url}/api_v3/service/apptoken/action/startSession`, {
        id: token.id,
        tokenHash: Ks.appTokenHash("MD5", widget.json.ks, token.token),
        ks: widget.json.ks
      })
      assert.strictEqual(session.json.objectType, "KalturaSessionInfo")
    }).pipe(Effect.provide(FakeKaltura.layerWithHttpClient())))

  it.live("each layer build is a fresh server", () =>
    Effect.gen(function*() {
      const a = yield* Effect.provide(FakeKaltura.FakeKaltura, FakeKaltura.layer())
      const b = yield* Effect.provide(FakeKaltura.FakeKaltura, FakeKaltura.layer())
      assert.notStrictEqual(a.port, b.port)
    }))

  it.live("a fixed port and a custom default partner", () =>
    Effect.gen(function*() {
      const first = yield* Effect.scoped(Effect.map(FakeKaltura.make(), (fake) => fake.port))
      const fake = yield* FakeKaltura.make({ port: first, partner: { id: 98765, adminSecret: "s3cret" } })
      assert.strictEqual(fake.url, `http://127.0.0.1:${first}`)
      assert.strictEqual(fake.partnerId, 98765)
      assert.strictEqual(fake.adminSecret, "s3cret")
      assert.strictEqual(fake.widgetId, "_98765")
    }).pipe(Effect.scoped))
})

// @effect/vitest's layer(...): one server shared by the tests of the block. Its tests run `it.effect` under a
// TestClock; layerTest keeps the server itself on the live clock. The calls below are plain sequential round trips
// (no retries, timeouts or server delays), so they never wait on the TestClock.
layer(FakeKaltura.layerTest())("FakeKaltura.layerTest with @effect/vitest layer(...)", (it) => {
  it.effect("reaches the shared server", () =>
    Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const response = yield* postOnce(`${fake.url}/api_v3/service/session/action/startWidgetSession`, {
        widgetId: fake.widgetId
      })
      assert.strictEqual(response.json.partnerId, fake.partnerId)
      assert.closeTo(yield* fake.now, Date.now() / 1000, 2)
    }))

  it.effect("the admin handle scripts faults on the shared server", () =>
    Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.serviceUnavailable)
      const response = yield* postOnce(`${fake.url}/api_v3/service/session/action/startWidgetSession`, {
        widgetId: fake.widgetId
      }).pipe(
        Effect.catchTag("ResponseError", (error) => Effect.succeed({ status: error.response.status, json: null }))
      )
      assert.strictEqual(response.status, 503)
      assert.isAtLeast(yield* fake.callCount("session.startWidgetSession"), 1)
    }))
})
