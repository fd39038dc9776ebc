import { assert, describe, it } from "@effect/vitest"
import * as TokenHasher from "@kaltura-effect/core/TokenHasher"
import { Effect, Redacted } from "effect"
import * as NodeTokenHasher from "../src/NodeTokenHasher.js"

// spec §1.3
const ks =
  "djJ8MTIzNDV88V5OEYp4B7TZ2fhpMd_hJLhw_7-7BnloFOqIjtl3XGhyg-FiZfSudiQlBrcEhJvqWXZHLy9ZPJ5oyFEI8JUtEwqSz40V5t97E214Zkck1O4="
const token = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
const vectors = {
  MD5: "b62ab44babc1d2d373c2a5a158d52da9",
  SHA1: "d1c7c2eaf56430741fdd6fa424601d370d14b1db",
  SHA256: "ae8e79c6a26c38d58bc6ca36da420e60ff1e4de1769f281e1c731d5cc85a6511",
  SHA512:
    "dc6fec9a2fd74a331b4793e96766a207b5eaa875df60ba8075739680083116b60d86cd998542713662199e97a6e4f7151819f32cf4aed33d37c9c313ae942433"
} as const

describe("NodeTokenHasher", () => {
  for (const [hashType, expected] of Object.entries(vectors) as ReadonlyArray<[keyof typeof vectors, string]>) {
    it.effect(`reproduces the spec §1.3 ${hashType} vector, lowercase, Redacted`, () =>
      Effect.gen(function*() {
        const hasher = yield* TokenHasher.TokenHasher
        const hash = yield* hasher.hash(hashType, Redacted.make(ks), Redacted.make(token))
        assert.isTrue(Redacted.isRedacted(hash))
        assert.strictEqual(Redacted.value(hash), expected)
        assert.match(Redacted.value(hash), /^[0-9a-f]+$/)
        assert.notInclude(String(hash), expected)
      }).pipe(Effect.provide(NodeTokenHasher.layer)))
  }

  it.effect("agrees with the portable hasher on non-ASCII input", () =>
    Effect.gen(function*() {
      const node = yield* Effect.provide(TokenHasher.TokenHasher, NodeTokenHasher.layer)
      const portable = yield* Effect.provide(TokenHasher.TokenHasher, TokenHasher.layer)
      for (const hashType of ["MD5", "SHA1", "SHA256", "SHA512"] as const) {
        const input = [Redacted.make("ks-é-✓"), Redacted.make("tökén")] as const
        const a = yield* node.hash(hashType, ...input)
        const b = yield* portable.hash(hashType, ...input)
        assert.strictEqual(Redacted.value(a), Redacted.value(b), hashType)
      }
    }))
})
