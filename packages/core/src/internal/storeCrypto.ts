/**
 * The session store's cryptography, on Web Crypto alone (so it runs wherever core does):
 *
 * - three keys derived with HKDF-SHA256 from the App Token (input key material: the token's UTF-8 bytes; salt: the
 *   App Token id; info: one versioned string per key): an AES-256-GCM key for the entries, an HMAC-SHA256 key that
 *   names them and another that tags the KS they hold;
 * - entry names: 64 hex characters of HMAC-SHA256, 16 naming the App Token, 48 the identity, so a name reveals
 *   nothing, another token never finds the entry, and the entries of one token can be removed together;
 * - KS tags: hex HMAC-SHA256 of the KS, so a store can compare KSs (delete-if-same) without holding one in clear;
 * - AES-256-GCM with a random 96-bit IV per write and a 128-bit tag, the identity and the record's clear header as
 *   associated data.
 *
 * Derived keys are cached per token value (`Redacted`) and App Token id: derivation costs more than a seal.
 *
 * Internal to the package: not part of its public API.
 */
import { bytesToHex } from "@noble/hashes/utils"
import * as Redacted from "effect/Redacted"

/** The version of the record format and of the derivation: a change of either is a miss, never a crash. */
export const version = 1

/** The HKDF info strings, one per derived key. */
export const info = {
  encryption: "kaltura-effect/session-store/v1/encryption",
  names: "kaltura-effect/session-store/v1/names",
  tags: "kaltura-effect/session-store/v1/tags"
} as const

/** The keys of one App Token. Non-extractable. */
export interface Keys {
  readonly encryption: CryptoKey
  readonly names: CryptoKey
  readonly tags: CryptoKey
}

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** Web Crypto, or undefined where the platform has none. */
export const subtle = (): SubtleCrypto | undefined => globalThis.crypto?.subtle

const cache = new WeakMap<Redacted.Redacted<string>, Map<string, Promise<Keys>>>()

const derive = async (crypto: SubtleCrypto, token: Redacted.Redacted<string>, appTokenId: string): Promise<Keys> => {
  const material = await crypto.importKey("raw", encoder.encode(Redacted.value(token)), "HKDF", false, ["deriveKey"])
  const params = (label: string): HkdfParams => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: encoder.encode(appTokenId),
    info: encoder.encode(label)
  })
  const hmac: HmacImportParams = { name: "HMAC", hash: "SHA-256", length: 256 }
  const [encryption, names, tags] = await Promise.all([
    crypto.deriveKey(params(info.encryption), material, { name: "AES-GCM", length: 256 }, false, [
      "encrypt",
      "decrypt"
    ]),
    crypto.deriveKey(params(info.names), material, hmac, false, ["sign"]),
    crypto.deriveKey(params(info.tags), material, hmac, false, ["sign"])
  ])
  return { encryption, names, tags }
}

/** The keys of a token and App Token id, derived once per `Redacted` token value. */
export const keysOf = (crypto: SubtleCrypto, token: Redacted.Redacted<string>, appTokenId: string): Promise<Keys> => {
  let byId = cache.get(token)
  if (byId === undefined) {
    byId = new Map()
    cache.set(token, byId)
  }
  let keys = byId.get(appTokenId)
  if (keys === undefined) {
    const derived = derive(crypto, token, appTokenId)
    keys = derived
    byId.set(appTokenId, derived)
    // a failed derivation is not cached
    derived.catch(() => {
      if (byId.get(appTokenId) === derived) byId.delete(appTokenId)
    })
  }
  return keys
}

const hmacHex = async (crypto: SubtleCrypto, key: CryptoKey, text: string): Promise<string> =>
  bytesToHex(new Uint8Array(await crypto.sign("HMAC", key, encoder.encode(text))))

/** The first 16 hex characters of every entry name of an App Token: its entries can be removed together. */
export const scopeOf = async (crypto: SubtleCrypto, keys: Keys): Promise<string> =>
  (await hmacHex(crypto, keys.names, "app-token")).slice(0, 16)

/** The name of the entry of an identity: 64 hex characters, the App Token's {@link scopeOf} then the identity's. */
export const nameOf = async (crypto: SubtleCrypto, keys: Keys, identity: string): Promise<string> =>
  (await scopeOf(crypto, keys)) + (await hmacHex(crypto, keys.names, identity)).slice(0, 48)

/** The tag of a KS: 64 hex characters. */
export const tagOf = (crypto: SubtleCrypto, keys: Keys, ks: Redacted.Redacted<string>): Promise<string> =>
  hmacHex(crypto, keys.tags, Redacted.value(ks))

/** 128 random bits as hex: a lease owner. */
export const randomId = (): string => bytesToHex(globalThis.crypto.getRandomValues(new Uint8Array(16)))

const toBase64 = (bytes: Uint8Array): string => {
  let binary = ""
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]!)
  return btoa(binary)
}

const fromBase64 = (text: string): Uint8Array<ArrayBuffer> => {
  const binary = atob(text)
  const bytes = new Uint8Array(new ArrayBuffer(binary.length))
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** AES-256-GCM with a fresh random IV: `{ iv, data }` in base64 (`data` is the ciphertext and its 16-byte tag). */
export const seal = async (
  crypto: SubtleCrypto,
  keys: Keys,
  plaintext: string,
  associatedData: string
): Promise<{ readonly iv: string; readonly data: string }> => {
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12))
  const data = await crypto.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(associatedData), tagLength: 128 },
    keys.encryption,
    encoder.encode(plaintext)
  )
  return { iv: toBase64(iv), data: toBase64(new Uint8Array(data)) }
}

/** Opens what {@link seal} produced; rejects when the data, the IV or the associated data were changed. */
export const open = async (
  crypto: SubtleCrypto,
  keys: Keys,
  sealed: { readonly iv: string; readonly data: string },
  associatedData: string
): Promise<string> => {
  const plaintext = await crypto.decrypt(
    { name: "AES-GCM", iv: fromBase64(sealed.iv), additionalData: encoder.encode(associatedData), tagLength: 128 },
    keys.encryption,
    fromBase64(sealed.data)
  )
  return decoder.decode(plaintext)
}
