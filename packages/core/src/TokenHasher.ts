/**
 * Computes `tokenHash` for `appToken.startSession`: the lowercase hex digest of the widget KS followed
 * by the App Token's `token` value, with the token's hash type. Input and output stay `Redacted`.
 *
 * This portable implementation uses Web Crypto for SHA1, SHA256 and SHA512 and `@noble/hashes` for MD5
 * (which Web Crypto lacks), or for everything where Web Crypto is missing. `@kaltura-effect/node` has one
 * on `node:crypto`.
 *
 * @since 0.1.0
 */
import { bytesToHex } from "@noble/hashes/utils"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { hashSync } from "./internal/hash.js"
import type { HashType } from "./KalturaConfig.js"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Service {
  /** `lowercaseHex(HASH_hashType(widgetKs + token))`, exactly as the server computes it. */
  readonly hash: (
    hashType: HashType,
    widgetKs: Redacted.Redacted<string>,
    token: Redacted.Redacted<string>
  ) => Effect.Effect<Redacted.Redacted<string>>
}

/**
 * Computes App Token hashes.
 *
 * @since 0.1.0
 * @category Context
 */
export class TokenHasher extends Context.Tag("@kaltura-effect/core/TokenHasher")<TokenHasher, Service>() {}

const webCryptoNames: Partial<Record<HashType, string>> = { SHA1: "SHA-1", SHA256: "SHA-256", SHA512: "SHA-512" }

const encoder = new TextEncoder()

const portable: Service = {
  hash: (hashType, widgetKs, token) => {
    const input = Redacted.value(widgetKs) + Redacted.value(token)
    const subtle = globalThis.crypto?.subtle
    const webName = webCryptoNames[hashType]
    if (subtle === undefined || webName === undefined) {
      return Effect.sync(() => Redacted.make(hashSync(hashType, input)))
    }
    return Effect.promise(() => subtle.digest(webName, encoder.encode(input))).pipe(
      Effect.map((digest) => Redacted.make(bytesToHex(new Uint8Array(digest))))
    )
  }
}

/**
 * The portable hasher (Web Crypto, with `@noble/hashes` for MD5).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make: Effect.Effect<Service> = Effect.succeed(TokenHasher.of(portable))

/**
 * Provides the portable hasher.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layer: Layer.Layer<TokenHasher> = Layer.effect(TokenHasher, make)

/**
 * A hasher that always answers `hash`, for tests that script the server's expectations.
 *
 * @since 0.1.0
 * @category Testing
 */
export const layerTest = (hash: string): Layer.Layer<TokenHasher> =>
  Layer.succeed(TokenHasher, TokenHasher.of({ hash: () => Effect.succeed(Redacted.make(hash)) }))
