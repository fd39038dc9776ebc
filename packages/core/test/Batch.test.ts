/**
 * `KalturaClient.batch`: Kaltura's multirequest, with each slot typed by its own schema, references to earlier
 * results, one re-authentication, and no re-sending of writes.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Fiber, Schema, TestClock } from "effect"
import * as KalturaApi from "../src/KalturaApi.js"
import * as KalturaClient from "../src/KalturaClient.js"
import * as FakeTransport from "./utils/FakeTransport.js"
import { adminKs, happyFake, stack } from "./utils/fixtures.js"

const Entry = Schema.Struct({ id: Schema.String, name: Schema.String, views: Schema.optional(Schema.Number) })
const Count = Schema.Struct({ totalCount: Schema.Number })

const entryAndFlavors = Effect.gen(function*() {
  const client = yield* KalturaClient.KalturaClient
  return yield* client.batch((add) => {
    const entry = add(KalturaClient.request("baseEntry", "get", { entryId: "0_abc" }, Entry))
    const flavors = add(
      KalturaClient.request("flavorAsset", "list", { filter: { entryIdEqual: entry.ref("id") } }, Count)
    )
    return [entry, flavors] as const
  })
})

describe("KalturaClient.batch", () => {
  it.effect("one multirequest on the wire: numbered calls, the KS once, format and clientTag", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault("multirequest", FakeTransport.json([{ id: "0_abc", name: "Intro" }, { totalCount: 2 }]))
      yield* entryAndFlavors.pipe(Effect.provide(stack(fake)))
      const [request] = fake.requests().filter((r) => r.url.endsWith("/api_v3/service/multirequest"))
      assert.isDefined(request)
      assert.strictEqual(request!.headers["content-type"], "application/json")
      assert.deepStrictEqual(request!.body, {
        "1": { service: "baseEntry", action: "get", entryId: "0_abc" },
        "2": { service: "flavorAsset", action: "list", filter: { entryIdEqual: "{1:result:id}" } },
        ks: adminKs,
        format: 1,
        clientTag: "kaltura-effect"
      })
    }))

  it.effect("each slot is decoded by its own schema; a failed slot is its typed error, the others succeed", () =>
    Effect.gen(function*() {
      const [entry, flavors, missing] = yield* Effect.gen(function*() {
        const client = yield* KalturaClient.KalturaClient
        return yield* client.batch([
          KalturaClient.request("baseEntry", "get", { entryId: "0_abc" }, Entry),
          KalturaClient.request("flavorAsset", "list", {}, Count),
          KalturaClient.request("baseEntry", "get", { entryId: "0_gone" }, Entry)
        ])
      }).pipe(Effect.provide(KalturaClient.layerTest((service, action, params) =>
        service === "flavorAsset"
          ? { totalCount: "not a number" }
          : params.entryId === "0_gone"
          ? KalturaApi.exception("ENTRY_ID_NOT_FOUND", "Entry id \"0_gone\" not found", { ENTRY_ID: "0_gone" })
          : { id: "0_abc", name: "Intro", objectType: "KalturaMediaEntry" }
      )))
      assert.deepStrictEqual(entry, Either.right({ id: "0_abc", name: "Intro" }))
      assert.isTrue(Either.isLeft(flavors) && flavors.left._tag === "KalturaDecodeError")
      assert.isTrue(
        Either.isLeft(missing) && missing.left._tag === "KalturaApiError" && missing.left.code === "ENTRY_ID_NOT_FOUND"
      )
    }))

  it.effect("a reference is resolved from the earlier result; into a failed call it becomes an empty string", () =>
    Effect.gen(function*() {
      const seen: Array<unknown> = []
      const run = (firstFails: boolean) =>
        entryAndFlavors.pipe(Effect.provide(KalturaClient.layerTest((service, _action, params) => {
          if (service === "baseEntry") {
            return firstFails ? KalturaApi.exception("ENTRY_ID_NOT_FOUND", "not found") : { id: "0_abc", name: "x" }
          }
          seen.push((params.filter as { readonly entryIdEqual: unknown }).entryIdEqual)
          return { totalCount: 1 }
        })))
      yield* run(false)
      yield* run(true)
      assert.deepStrictEqual(seen, ["0_abc", ""])
    }))

  it.effect("every call told its KS expired: one refresh, the batch sent once more", () =>
    Effect.gen(function*() {
      let sends = 0
      const [entry] = yield* entryAndFlavors.pipe(Effect.provide(KalturaClient.layerTest(() => {
        if (sends++ < 2) return KalturaApi.exception("INVALID_KS", "Invalid KS", { KSID: "EXPIRED" })
        return { id: "0_abc", name: "Intro", totalCount: 1 }
      })))
      assert.strictEqual(sends, 4) // two calls, twice
      assert.isTrue(Either.isRight(entry))
    }))

  it.effect("only some calls refused with INVALID_KS: no re-authentication, their errors in their slots", () =>
    Effect.gen(function*() {
      let sends = 0
      const [entry, flavors] = yield* entryAndFlavors.pipe(Effect.provide(KalturaClient.layerTest((service) => {
        sends++
        return service === "baseEntry"
          ? KalturaApi.exception("INVALID_KS", "Invalid KS", { KSID: "EXPIRED" })
          : { totalCount: 1 }
      })))
      assert.strictEqual(sends, 2)
      assert.isTrue(Either.isLeft(entry))
      assert.isTrue(Either.isRight(flavors))
    }))

  it.effect("a batch with a write in it is not sent again after a failure that may have reached Kaltura", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.setDefault("multirequest", FakeTransport.transportError("socket hang up"))
      const fiber = yield* Effect.fork(Effect.flip(
        Effect.gen(function*() {
          const client = yield* KalturaClient.KalturaClient
          return yield* client.batch([
            KalturaClient.request("media", "add", { entry: { name: "x" } }, Entry),
            KalturaClient.request("baseEntry", "list", {}, Count)
          ])
        }).pipe(Effect.provide(stack(fake)))
      ))
      yield* TestClock.adjust("1 minute")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error._tag, "KalturaTransportError")
      assert.strictEqual(fake.requests().filter((r) => r.url.endsWith("/multirequest")).length, 1)
    }))

  it.effect("a batch of reads is retried after a transient fault, as a single call is", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      fake.enqueue("multirequest", FakeTransport.text("", { status: 503 }))
      fake.setDefault("multirequest", FakeTransport.json([{ id: "0_abc", name: "Intro" }, { totalCount: 2 }]))
      const fiber = yield* Effect.fork(entryAndFlavors.pipe(Effect.provide(stack(fake))))
      yield* TestClock.adjust("1 minute")
      const [entry, flavors] = yield* Fiber.join(fiber)
      assert.isTrue(Either.isRight(entry) && Either.isRight(flavors))
      assert.strictEqual(fake.requests().filter((r) => r.url.endsWith("/multirequest")).length, 2)
    }))

  it.effect("references are typed: only scalar fields of the earlier result", () =>
    Effect.gen(function*() {
      const client = yield* KalturaClient.KalturaClient
      yield* client.batch((add) => {
        const entry = add(KalturaClient.request("baseEntry", "get", {}, Entry))
        const count = add(KalturaClient.request("baseEntry", "count", {}, Count))
        assert.strictEqual(entry.ref("id"), "{1:result:id}")
        assert.strictEqual(count.ref("totalCount"), "{2:result:totalCount}")
        assert.strictEqual(count.result, "{2:result}")
        // @ts-expect-error not a field of the result
        entry.ref("nope")
        return [entry] as const
      })
    }).pipe(Effect.provide(KalturaClient.layerTest(() => ({ id: "x", name: "y", totalCount: 1 })))))
})
