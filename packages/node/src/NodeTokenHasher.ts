/**
 * The App Token hasher on `node:crypto` (OpenSSL): the fastest choice on Node.
 *
 * @since 0.1.0
 */
import * as TokenHasher from "@kaltura-effect/core/TokenHasher"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Crypto from "node:crypto"

const algorithms = { MD5: "md5", SHA1: "sha1", SHA256: "sha256", SHA512: "sha512" } as const

/**
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<TokenHasher.Service> = Effect.succeed(TokenHasher.TokenHasher.of({
  hash: (hashType, widgetKs, token) =>
    Effect.sync(() =>
      Redacted.make(
        Crypto.createHash(algorithms[hashType])
          .update(Redacted.value(widgetKs), "utf8")
          .update(Redacted.value(token), "utf8")
          .digest("hex")
      )
    )
}))

/**
 * Provides the `node:crypto` hasher as `TokenHasher`.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<TokenHasher.TokenHasher> = Layer.effect(TokenHasher.TokenHasher, make)
