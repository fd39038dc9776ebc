import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { hashSync } from "../src/internal/hash.js"
import type * as KalturaConfig from "../src/KalturaConfig.js"
import * as TokenHasher from "../src/TokenHasher.js"
import { hashVectors, tokenValue, widgetKs } from "./utils/fixtures.js"

const hashTypes = Object.keys(hashVectors) as ReadonlyArray<KalturaConfig.HashType>
const lengths: Record<KalturaConfig.HashType, number> = { MD5: 32, SHA1: 40, SHA256: 64, SHA512: 128 }

describe("TokenHasher (portable)", () => {
  for (const hashType of hashTypes) {
    it.effect(`reproduces the spec §1.3 ${hashType} vector`, () =>
      Effect.gen(function*() {
        const hasher = yield* TokenHasher.TokenHasher
        const hash = yield* hasher.hash(hashType, Redacted.make(widgetKs), Redacted.make(tokenValue))
        assert.isTrue(Redacted.isRedacted(hash))
        const hex = Redacted.value(hash)
        assert.strictEqual(hex, hashVectors[hashType])
        assert.strictEqual(hex.length, lengths[hashType])
        assert.match(hex, /^[0-9a-f]+$/)
        assert.strictEqual(hex, hex.toLowerCase())
      }).pipe(Effect.provide(TokenHasher.layer)))

    it(`hashSync (the @noble/hashes fallback) reproduces the ${hashType} vector`, () => {
      assert.strictEqual(hashSync(hashType, widgetKs + tokenValue), hashVectors[hashType])
    })
  }

  it.effect("the KS comes first: hashing token + KS gives a different digest", () =>
    Effect.gen(function*() {
      const hasher = yield* TokenHasher.TokenHasher
      const swapped = yield* hasher.hash("SHA256", Redacted.make(tokenValue), Redacted.make(widgetKs))
      assert.notStrictEqual(Redacted.value(swapped), hashVectors.SHA256)
    }).pipe(Effect.provide(TokenHasher.layer)))

  it.effect("the hash stays Redacted when printed", () =>
    Effect.gen(function*() {
      const hasher = yield* TokenHasher.TokenHasher
      const hash = yield* hasher.hash("SHA1", Redacted.make(widgetKs), Redacted.make(tokenValue))
      assert.notInclude(String(hash), hashVectors.SHA1)
      assert.notInclude(JSON.stringify({ hash }), hashVectors.SHA1)
    }).pipe(Effect.provide(TokenHasher.layer)))

  it.effect("layerTest answers the fixed hash for any input", () =>
    Effect.gen(function*() {
      const hasher = yield* TokenHasher.TokenHasher
      const a = yield* hasher.hash("MD5", Redacted.make("ks-a"), Redacted.make("t"))
      const b = yield* hasher.hash("SHA512", Redacted.make("ks-b"), Redacted.make("u"))
      assert.strictEqual(Redacted.value(a), "fixed-hash")
      assert.strictEqual(Redacted.value(b), "fixed-hash")
    }).pipe(Effect.provide(TokenHasher.layerTest("fixed-hash"))))
})
