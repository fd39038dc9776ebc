/**
 * App Token hashes with `@noble/hashes` alone, synchronously: for MD5 (which Web Crypto lacks) and where Web Crypto
 * is missing.
 *
 * Internal to the package: not part of its public API.
 */
import { md5, sha1 } from "@noble/hashes/legacy"
import { sha256, sha512 } from "@noble/hashes/sha2"
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils"
import type { HashType } from "../KalturaConfig.js"

const nobleHashes = { MD5: md5, SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const

/** Lowercase hex of HASH_hashType(input). */
export const hashSync = (hashType: HashType, input: string): string =>
  bytesToHex(nobleHashes[hashType](utf8ToBytes(input)))
