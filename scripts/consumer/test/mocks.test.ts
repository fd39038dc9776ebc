// A consumer's unit test, run with vitest by scripts/consumer-smoke.mjs in a fresh project: the README's kind of
// program, with the live layer swapped for test layers (no server, no network).
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession, KalturaApi, KalturaClient } from "@kaltura-effect/core"
import { Effect, Layer, Redacted, Schema } from "effect"

const EntryList = Schema.Struct({
  totalCount: Schema.Number,
  objects: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String }))
})

const program = Effect.gen(function*() {
  const session = yield* AppTokenSession.AppTokenSession
  const info = yield* session.get
  const client = yield* KalturaClient.KalturaClient
  const entries = yield* client.call("baseEntry", "list", { pager: { pageSize: 5 } }, EntryList)
  return { partnerId: info.partnerId, names: entries.objects.map((entry) => entry.name) }
})

// A transport double: answers baseEntry.list, and remembers the KS each request carried.
const sentKs: Array<string | undefined> = []
const apiDouble = Layer.succeed(
  KalturaApi.KalturaApi,
  KalturaApi.KalturaApi.of({
    serviceUrl: "https://kaltura.test",
    call: (request, schema) => {
      sentKs.push(request.ks === undefined ? undefined : Redacted.value(request.ks))
      return Schema.decodeUnknown(schema)({ totalCount: 1, objects: [{ id: "0_abc", name: "Mock entry" }] }).pipe(
        Effect.orDie
      )
    },
    execute: () => Effect.dieMessage("not used"),
    executeBatch: () => Effect.dieMessage("not used"),
    interpret: () => Effect.dieMessage("not used")
  })
)

describe("a consumer's tests with test layers", () => {
  it.effect("AppTokenSession.layerTest hands out a fixed session", () =>
    Effect.gen(function*() {
      const session = yield* AppTokenSession.AppTokenSession
      const info = yield* session.get
      assert.strictEqual(Redacted.value(info.ks), "fixed-ks")
      assert.strictEqual(info.partnerId, 12345)
    }).pipe(Effect.provide(AppTokenSession.layerTest({ ks: "fixed-ks", partnerId: 12345 }))))

  it.effect("KalturaClient over a fixed session and a transport double", () =>
    Effect.gen(function*() {
      const result = yield* program
      assert.deepStrictEqual(result, { partnerId: 12345, names: ["Mock entry"] })
      assert.deepStrictEqual(sentKs, ["fixed-ks"])
    }).pipe(
      Effect.provide(
        KalturaClient.layer.pipe(
          Layer.provideMerge(AppTokenSession.layerTest({ ks: "fixed-ks", partnerId: 12345 })),
          Layer.provide(apiDouble)
        )
      )
    ))

  it.effect("KalturaClient.layerTest: one layer answers client.call, Kaltura errors typed as in production", () =>
    Effect.gen(function*() {
      const client = yield* KalturaClient.KalturaClient
      const entries = yield* client.call("baseEntry", "list", {}, EntryList)
      assert.deepStrictEqual(entries.objects.map((entry) => entry.name), ["From the handler"])
      const error = yield* Effect.flip(client.call("baseEntry", "get", { entryId: "0_x" }, EntryList))
      assert.strictEqual(error._tag, "KalturaApiError")
      assert.strictEqual(error._tag === "KalturaApiError" ? error.code : "", "ENTRY_ID_NOT_FOUND")
    }).pipe(
      Effect.provide(KalturaClient.layerTest((service, action) =>
        action === "list"
          ? { totalCount: 1, objects: [{ id: "0_abc", name: "From the handler" }] }
          : KalturaApi.exception("ENTRY_ID_NOT_FOUND", `Entry id not found (${service}.${action})`)
      ))
    ))
})
