import { assert } from "@effect/vitest"
import { Either } from "effect"
import { readFileSync } from "node:fs"
import * as Ks from "../src/Ks.js"

/**
 * The KS vectors Kaltura's own PHP code produced (`scripts/ks-vectors.php`, see `fixtures/ks-vectors.json`'s
 * `generatedBy`). PHP values as PHP holds them: numbers read from a KS are strings, an absent member is `null`.
 */
export interface PhpKs {
  readonly version: 1 | 2
  readonly partnerId: string
  readonly validUntil: string
  readonly type: string
  readonly userId: string | null
  readonly privileges: string | null
  readonly masterPartnerId: string | null
  readonly additionalData: string | null
  /** The random part: 32 hex digits for v2, the `rand` field of v1. */
  readonly rand: string
  readonly hash: string
  readonly widgetSession: boolean
}

/** What `ks::fromSecureString` gave: the KS, `false` (INVALID_STR), `null` (no KS) or a PHP error class. */
export type PhpParse = PhpKs | false | null | { readonly error: string }

export interface GenerateVector {
  readonly name: string
  readonly version: 1 | 2
  readonly partnerId: number
  readonly adminSecret: string
  /** Before `downloadasset` rounding. */
  readonly expiresAt: number
  readonly type: number
  readonly userId: string | null
  readonly privileges: string
  readonly masterPartnerId: string | null
  readonly additionalData: string | null
  /** v2: the 16 random bytes, hex. */
  readonly random: string | null
  /** v1: the `rand` field given (`null` when generateSession chose it). */
  readonly rand: string | null
  readonly ks: string
  readonly decoded: PhpParse
}

export interface SessionStartVector {
  readonly name: string
  readonly partnerId: number
  readonly adminSecrets: ReadonlyArray<string>
  readonly userSecret: string
  readonly now: number
  readonly secret: string
  readonly type: 0 | 2
  readonly userId: string
  readonly expiry: number
  readonly privileges: string
  readonly random: string
  readonly ks: string
  readonly encryptedWith: string
  readonly decoded: PhpParse
}

export interface AppTokenStartSessionVector {
  readonly name: string
  readonly partnerId: number
  readonly adminSecret: string
  readonly now: number
  readonly token: {
    readonly id: string
    readonly sessionPrivileges: string | null
    readonly sessionType: 0 | 2 | null
    readonly sessionUserId: string | null
    readonly sessionDuration: number
  }
  readonly request: {
    readonly userId: string | null
    readonly type: 0 | 2 | null
    readonly expiry: number | null
    readonly sessionPrivileges: string | null
  }
  readonly random: string | null
  readonly response: {
    readonly ks: string
    readonly sessionType: number
    readonly partnerId: number
    readonly userId: string
    readonly expiry: number
    readonly privileges: string
  }
  readonly decoded: PhpParse
}

export interface ParseVector {
  readonly name: string
  /** `null`: the partner is unknown. */
  readonly adminSecrets: ReadonlyArray<string> | null
  readonly ks: string
  readonly decoded: PhpParse
}

export interface HashVector {
  readonly hashType: Ks.HashType
  readonly ks: string
  readonly token: string
  readonly hash: string
}

export interface Vectors {
  readonly generatedBy: { readonly script: string; readonly php: string; readonly kalturaServerCommit: string }
  readonly generate: ReadonlyArray<GenerateVector>
  readonly sessionStart: ReadonlyArray<SessionStartVector>
  readonly appTokenStartSession: ReadonlyArray<AppTokenStartSessionVector>
  readonly parse: ReadonlyArray<ParseVector>
  readonly appTokenHash: ReadonlyArray<HashVector>
}

export const vectors: Vectors = JSON.parse(
  readFileSync(new URL("./fixtures/ks-vectors.json", import.meta.url), "utf8")
)

/** The server time the vectors were generated at (`kApiCache::getTime()`), unix seconds. */
export const vectorsNow = 1700000000

export const isParsed = (decoded: PhpParse): decoded is PhpKs =>
  decoded !== null && decoded !== false && !("error" in decoded)

/** What the fake's `Ks.decode` must give for a KS PHP parsed: PHP's members, numbers as numbers, `null` as absent. */
export const expectedKsData = (decoded: PhpKs): Ks.KsData => ({
  version: decoded.version,
  partnerId: Number(decoded.partnerId),
  validUntil: Number(decoded.validUntil),
  type: Number(decoded.type),
  userId: decoded.userId ?? undefined,
  privileges: decoded.privileges ?? "",
  masterPartnerId: decoded.masterPartnerId ?? undefined,
  additionalData: decoded.additionalData ?? undefined,
  hash: decoded.hash
})

/** Asserts the fake decodes a KS as PHP did: the same fields, or a rejection where PHP had none. */
export const assertDecodesAsPhp = (name: string, decoded: Either.Either<Ks.KsData, "INVALID_STR">, php: PhpParse) => {
  if (isParsed(php)) {
    assert.deepStrictEqual(Either.getOrThrow(decoded), expectedKsData(php), name)
    assert.strictEqual(Ks.isWidgetSession(Either.getOrThrow(decoded)), php.widgetSession, `${name}: widget session`)
  } else {
    assert.isTrue(Either.isLeft(decoded), `${name}: PHP gave ${JSON.stringify(php)}`)
  }
}
