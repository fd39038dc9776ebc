import { sha256 } from "@noble/hashes/sha2"
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils"
import * as Redacted from "effect/Redacted"

/** @internal the first 8 hex characters of SHA-256: enough to tell secrets apart in logs, useless to an attacker */
export const fingerprint = (secret: Redacted.Redacted<string>): string =>
  bytesToHex(sha256(utf8ToBytes(Redacted.value(secret)))).slice(0, 8)
