/**
 * The identity of a keyed session: every field that changes what session a key gets, encoded so that two
 * different keys can never collide (a JSON array: each string is quoted and escaped), with the token as a
 * SHA-256 digest so that it never appears in the identity itself.
 *
 * Internal to the package: not part of its public API.
 */
import { sha256 } from "@noble/hashes/sha2"
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import type { KalturaSettings, Options } from "../KalturaConfig.js"

// A token's digest, computed once per `Redacted` value.
const tokenDigests = new WeakMap<Redacted.Redacted<string>, string>()
const digestOf = (token: Redacted.Redacted<string>): string => {
  let digest = tokenDigests.get(token)
  if (digest === undefined) {
    digest = bytesToHex(sha256(utf8ToBytes(Redacted.value(token))))
    tokenDigests.set(token, digest)
  }
  return digest
}

/**
 * Every setting that changes which KS the server issues: `[serviceUrl, partnerId, widgetId, appTokenId, hashType,
 * userId|null, sessionType|null, sessionPrivileges|null, expiry|null]`.
 */
const serverFieldsOf = (settings: KalturaSettings) => [
  settings.serviceUrl,
  settings.partnerId,
  settings.widgetId,
  settings.appTokenId,
  settings.hashType,
  Option.getOrNull(settings.userId),
  Option.getOrNull(settings.sessionType),
  Option.getOrNull(settings.sessionPrivileges),
  Option.getOrNull(settings.expiry)
]

/** The identity of validated settings: the server's fields, the client tag and the token's digest. */
export const identityOf = (settings: KalturaSettings): string =>
  JSON.stringify([...serverFieldsOf(settings), settings.clientTag, digestOf(settings.token)])

/**
 * The identity of a stored session (`SessionStore`): every setting that changes which KS the server issues, in the
 * same unambiguous encoding (a JSON array), without the client tag (it changes nothing on the server) and without the
 * token (the store's keys are derived from it, so another token never finds, let alone opens, the entry).
 *
 * `[serviceUrl, partnerId, widgetId, appTokenId, hashType, userId|null, sessionType|null, sessionPrivileges|null,
 * expiry|null]`
 */
export const storeIdentityOf = (settings: KalturaSettings): string => JSON.stringify(serverFieldsOf(settings))

/** The fields of a key that its identity depends on. */
const keyFields = [
  "serviceUrl",
  "partnerId",
  "widgetId",
  "appTokenId",
  "token",
  "hashType",
  "userId",
  "sessionType",
  "expiry",
  "sessionPrivileges",
  "clientTag"
] as const satisfies ReadonlyArray<keyof Options>

/** A copy of a key's fields, taken when the key object is first seen. */
export type Snapshot = { readonly [K in typeof keyFields[number]]: Options[K] }

/** Copies a key's fields. */
export const snapshotOf = (key: Options): Snapshot => {
  const copy: Record<string, unknown> = {}
  for (const field of keyFields) copy[field] = key[field]
  return copy as Snapshot
}

/** Whether a key object still has the fields of its snapshot (values compared as is: the token by identity). */
export const unchanged = (snapshot: Snapshot, key: Options): boolean => {
  for (const field of keyFields) {
    if (snapshot[field] !== key[field]) return false
  }
  return true
}
