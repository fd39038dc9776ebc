/**
 * The secret scan: a set of known secrets (app tokens, token hashes, whole KSs) and a fast search for any of
 * them in text. Every secret is at least 32 characters of `[A-Za-z0-9+/=_-]`, so the search pulls such runs out
 * of the text and looks each 32-character window up in an index.
 */
import type { FakeKaltura } from "@kaltura-effect/testing"
import { Ks } from "@kaltura-effect/testing"
import * as Util from "node:util"

export type SecretKind = "app token" | "token hash" | "KS"

export interface Finding {
  readonly kind: SecretKind
  readonly where: string
  /** A short prefix of the secret, so a report never repeats one. */
  readonly prefix: string
}

const KEY = 32
const runs = /[A-Za-z0-9+/=_-]{32,}/g

export class Scanner {
  private readonly index = new Map<string, Array<{ readonly value: string; readonly kind: SecretKind }>>()
  private readonly all = new Map<string, SecretKind>()
  readonly findings: Array<Finding> = []

  add(kind: SecretKind, value: string): void {
    if (value.length < KEY || this.all.has(value)) return
    this.all.set(value, kind)
    const key = value.slice(0, KEY)
    const bucket = this.index.get(key)
    if (bucket) bucket.push({ value, kind })
    else this.index.set(key, [{ value, kind }])
  }

  count(kind?: SecretKind): number {
    if (kind === undefined) return this.all.size
    let n = 0
    for (const k of this.all.values()) if (k === kind) n++
    return n
  }

  /** The secrets of `kinds` found in `text` (also URL-decoded), without recording them. */
  find(text: string, kinds?: ReadonlyArray<SecretKind>): Array<{ readonly kind: SecretKind; readonly value: string }> {
    const found: Array<{ readonly kind: SecretKind; readonly value: string }> = []
    const variants = [text]
    if (text.includes("%")) {
      try {
        variants.push(decodeURIComponent(text))
      } catch {
        // not URL-encoded
      }
    }
    for (const variant of variants) {
      for (const match of variant.matchAll(runs)) {
        const run = match[0]
        for (let offset = 0; offset + KEY <= run.length; offset++) {
          const bucket = this.index.get(run.slice(offset, offset + KEY))
          if (bucket === undefined) continue
          for (const secret of bucket) {
            if ((kinds === undefined || kinds.includes(secret.kind)) && run.startsWith(secret.value, offset)) {
              found.push(secret)
            }
          }
        }
      }
    }
    return found
  }

  /** Scans `text`, recording every secret found; returns how many. */
  scan(where: string, text: string, kinds?: ReadonlyArray<SecretKind>): number {
    const found = this.find(text, kinds)
    for (const secret of found) this.findings.push({ kind: secret.kind, where, prefix: secret.value.slice(0, 8) })
    return found.length
  }

  /** Scans every rendering a user may print of a value: `String`, `JSON.stringify`, `util.inspect`, `message`. */
  scanValue(where: string, value: unknown): number {
    let n = 0
    n += this.scan(`${where} (String)`, safe(() => String(value)))
    n += this.scan(`${where} (JSON.stringify)`, safe(() => JSON.stringify(value) ?? ""))
    n += this.scan(`${where} (util.inspect)`, Util.inspect(value, { depth: 10, breakLength: Infinity }))
    if (typeof value === "object" && value !== null) {
      const message = (value as { readonly message?: unknown }).message
      if (typeof message === "string") n += this.scan(`${where} (message)`, message)
      const stack = (value as { readonly stack?: unknown }).stack
      if (typeof stack === "string") n += this.scan(`${where} (stack)`, stack)
    }
    return n
  }

  scanAll(texts: Iterable<readonly [string, string]>, kinds?: ReadonlyArray<SecretKind>): number {
    let n = 0
    for (const [where, text] of texts) n += this.scan(where, text, kinds)
    return n
  }
}

const safe = (f: () => string): string => {
  try {
    return f()
  } catch (error) {
    return `<threw ${String(error)}>`
  }
}

const ksPattern = /"ks"\s*:\s*"([^"]+)"/g

/**
 * Learns every secret the fake server handed out or was sent: the KS of each `startWidgetSession`,
 * `startSession` and `session.start` answer, and the token hash of every `appToken.startSession` request
 * (also recomputed from the widget KS sent with it and each known token, whatever the request said).
 */
export const learnFromLog = (
  scanner: Scanner,
  log: ReadonlyArray<FakeKaltura.RequestLogEntry>,
  tokens: ReadonlyArray<{ readonly token: string; readonly hashType: Ks.HashType }>
): void => {
  for (const token of tokens) scanner.add("app token", token.token)
  for (const entry of log) {
    if (entry.responseBody !== undefined) {
      for (const match of entry.responseBody.matchAll(ksPattern)) scanner.add("KS", match[1]!)
    }
    const params = entry.params as Record<string, unknown>
    if (typeof params.ks === "string") scanner.add("KS", params.ks)
    if (typeof params.tokenHash === "string") scanner.add("token hash", params.tokenHash)
    if (entry.action === "startsession" && entry.service === "apptoken" && typeof params.ks === "string") {
      for (const token of tokens) {
        for (const hashType of Ks.hashTypes) {
          scanner.add("token hash", Ks.appTokenHash(hashType, params.ks, token.token))
        }
      }
    }
  }
}

/**
 * The wire check: the app token in no byte the server received; KSs and token hashes in no URL and no header
 * (request bodies only). Returns the number of violations, recorded as findings.
 */
export const scanWire = (scanner: Scanner, log: ReadonlyArray<FakeKaltura.RequestLogEntry>): {
  readonly tokenAnywhere: number
  readonly secretInUrlOrHeader: number
  readonly requests: number
  readonly bytes: number
} => {
  let tokenAnywhere = 0
  let secretInUrlOrHeader = 0
  let bytes = 0
  for (const entry of log) {
    const headers = Object.entries(entry.headers).map(([name, value]) => `${name}: ${value}`).join("\n")
    bytes += entry.url.length + headers.length + entry.body.length
    tokenAnywhere += scanner.scan(`request ${entry.sequence} url`, entry.url, ["app token"])
    tokenAnywhere += scanner.scan(`request ${entry.sequence} headers`, headers, ["app token"])
    tokenAnywhere += scanner.scan(`request ${entry.sequence} body`, entry.body, ["app token"])
    secretInUrlOrHeader += scanner.scan(`request ${entry.sequence} url`, entry.url, ["KS", "token hash"])
    secretInUrlOrHeader += scanner.scan(`request ${entry.sequence} headers`, headers, ["KS", "token hash"])
  }
  return { tokenAnywhere, secretInUrlOrHeader, requests: log.length, bytes }
}
