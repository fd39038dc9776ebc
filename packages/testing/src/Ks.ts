/**
 * Kaltura Session (KS) strings: v2 (AES-128-CBC, the SaaS default) and v1 (SHA1-signed, readable) encoding and
 * decoding, privilege strings and the app-token hash, exactly as the Kaltura server computes them (spec §1.3, §1.5,
 * §3), PHP's own quirks included (`trim`, `base64_decode`, `parse_str`, `http_build_query`, `array_merge_recursive`,
 * `rand` after `srand`). Pure and synchronous; the random parts are injectable so vectors produced by Kaltura's own
 * code (`test/fixtures/ks-vectors.json`) can be reproduced byte for byte.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Crypto from "node:crypto"

/**
 * `KalturaSessionType`: `0` USER, `2` ADMIN. (`1`, the internal widget type, is not part of the API enum.)
 *
 * @since 0.1.0
 * @category models
 */
export type SessionType = 0 | 2

/**
 * The decoded content of a KS.
 *
 * @since 0.1.0
 * @category models
 */
export interface KsData {
  readonly version: 1 | 2
  readonly partnerId: number
  /** Absolute unix seconds. The KS is expired when `validUntil <= now`. */
  readonly validUntil: number
  readonly type: number
  /** `undefined` when the KS carries no user field. */
  readonly userId: string | undefined
  /** The privilege string, e.g. `view:*,widget:1`. */
  readonly privileges: string
  /** `undefined` when the KS carries no such field (v2 without `_m`); a v1 KS always has one, maybe `""`. */
  readonly masterPartnerId: string | undefined
  /** `undefined` when the KS carries no such field (v2 without `_d`); a v1 KS always has one, maybe `""`. */
  readonly additionalData: string | undefined
  /**
   * What the server revokes a KS by (`kSessionBase::getHash`): the lower-case hex SHA1 of a v2 KS's fields, or the
   * signature of a v1 KS. Two spellings of one KS (whitespace, `-`/`+`, padding) have the same hash.
   */
  readonly hash: string
}

/**
 * What a KS is generated from.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodeOptions {
  readonly partnerId: number
  /**
   * The admin secret that signs (v1) or encrypts (v2) the KS: the partner's first one, except for an ADMIN
   * `session.start`, which uses the admin secret it was called with.
   */
  readonly adminSecret: string
  /** Absolute unix seconds (`time() + expiry`). */
  readonly expiresAt: number
  readonly type: number
  /** `undefined` omits the user field (v2; an empty field in v1); `""` writes an empty one. */
  readonly userId?: string | undefined
  readonly privileges?: string | undefined
  /** `undefined` omits the field (v2; an empty field in v1). */
  readonly masterPartnerId?: string | undefined
  /** `undefined` omits the field (v2; an empty field in v1). */
  readonly additionalData?: string | undefined
}

/**
 * The reasons a KS is rejected (`kSessionBase` constants). Whatever the reason, the API reports `INVALID_KS` with
 * `ERR_CODE "-1"` and `ERR_DESC "INVALID_STR"`; the reason is only visible in `args.KSID` (the KS itself for
 * `INVALID_STR`).
 *
 * @since 0.1.0
 * @category models
 */
export type InvalidReason =
  | "INVALID_STR"
  | "INVALID_PARTNER"
  | "INVALID_USER"
  | "INVALID_TYPE"
  | "EXPIRED"
  | "LOGOUT"
  | "INVALID_LKS"
  | "EXCEEDED_ACTIONS_LIMIT"
  | "EXCEEDED_RESTRICTED_IP"
  | "LKS_DISABLED"
  | "EXCEEDED_RESTRICTED_URI"

// ---------------------------------------------------------------------------------------------------------------------
// PHP helpers
// ---------------------------------------------------------------------------------------------------------------------

const isUnreserved = (byte: number): boolean =>
  (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) ||
  byte === 0x2d || byte === 0x2e || byte === 0x5f

/**
 * PHP `urlencode` (RFC 1738): keeps `[A-Za-z0-9_.-]`, turns a space into `+` and everything else into upper-case
 * `%XX` (so `*` becomes `%2A`).
 *
 * @since 0.1.0
 * @category php
 */
export const phpUrlEncode = (value: string): string => {
  let out = ""
  for (const byte of Buffer.from(value, "utf8")) {
    if (isUnreserved(byte)) out += String.fromCharCode(byte)
    else if (byte === 0x20) out += "+"
    else out += "%" + byte.toString(16).toUpperCase().padStart(2, "0")
  }
  return out
}

/**
 * PHP `urldecode`: `+` is a space and `%XX` a byte; malformed escapes are kept as they are.
 *
 * @since 0.1.0
 * @category php
 */
export const phpUrlDecode = (value: string): string => {
  const bytes: Array<number> = []
  const source = Buffer.from(value.replace(/\+/g, " "), "utf8")
  for (let i = 0; i < source.length; i++) {
    const byte = source[i]!
    if (byte === 0x25 && i + 2 < source.length) {
      const hex = String.fromCharCode(source[i + 1] ?? 0, source[i + 2] ?? 0)
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        bytes.push(parseInt(hex, 16))
        i += 2
        continue
      }
    }
    bytes.push(byte)
  }
  return Buffer.from(bytes).toString("utf8")
}

/**
 * PHP `http_build_query` over an ordered list of pairs.
 *
 * @since 0.1.0
 * @category php
 */
export const httpBuildQuery = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.map(([key, value]) => `${phpUrlEncode(key)}=${phpUrlEncode(value)}`).join("&")

const trimmed = " \t\n\r\0\x0b"

/**
 * PHP `trim`: strips spaces, `\t`, `\n`, `\r`, NUL and `\v` from both ends, and nothing else (JavaScript's `trim`
 * also strips `\f`, U+00A0 and the other Unicode spaces).
 *
 * @since 0.1.0
 * @category php
 */
export const phpTrim = (value: string): string => {
  let start = 0
  let end = value.length
  while (start < end && trimmed.includes(value[start]!)) start++
  while (end > start && trimmed.includes(value[end - 1]!)) end--
  return value.slice(start, end)
}

const isBase64Digit = (char: string): boolean =>
  (char >= "A" && char <= "Z") || (char >= "a" && char <= "z") || (char >= "0" && char <= "9") || char === "+" ||
  char === "/"

/**
 * PHP `base64_decode($text, true)`: skips spaces, `\t`, `\n` and `\r` anywhere (so a KS read from a file with its
 * trailing newline still decodes), accepts missing padding, and fails on any other character, on data after
 * padding, on a wrong amount of padding and on a dangling sixth of a group.
 *
 * @since 0.1.0
 * @category php
 */
export const phpBase64Decode = (text: string): Option.Option<Buffer> => {
  let digits = ""
  let padding = 0
  for (const char of text) {
    if (char === "=") padding++
    else if (char === " " || char === "\t" || char === "\n" || char === "\r") continue
    else if (!isBase64Digit(char) || padding > 0) return Option.none()
    else digits += char
  }
  if (digits.length % 4 === 1) return Option.none()
  if (padding > 0 && (padding > 2 || (digits.length + padding) % 4 !== 0)) return Option.none()
  return Option.some(Buffer.from(digits, "base64"))
}

/**
 * The name under which PHP's `parse_str` files a query key (`php_register_variable_ex`): cut at a NUL, leading
 * spaces dropped, spaces and dots turned into `_`; a `[` followed somewhere by `]` makes the value an array under the
 * part before it, an unclosed `[` becomes `_` (and so do the spaces, dots and `[` after it). `undefined` when the
 * name is empty (the pair is dropped).
 */
const parseStrName = (raw: string): { readonly name: string; readonly isArray: boolean } | undefined => {
  const nul = raw.indexOf("\0")
  const key = (nul === -1 ? raw : raw.slice(0, nul)).replace(/^ +/, "")
  const bracket = key.indexOf("[")
  const base = (bracket === -1 ? key : key.slice(0, bracket)).replace(/[ .]/g, "_")
  if (base === "") return undefined
  if (bracket === -1) return { name: base, isArray: false }
  if (key.indexOf("]", bracket + 1) !== -1) return { name: base, isArray: true }
  return { name: `${base}_${key.slice(bracket + 1).replace(/[ .[]/g, "_")}`, isArray: false }
}

/**
 * A value `parse_str` turned into a PHP array (its name had `[…]`).
 *
 * @since 0.1.0
 * @category php
 */
export const PhpArray: unique symbol = Symbol.for("@kaltura-effect/testing/Ks/PhpArray")

/**
 * PHP `parse_str` at the top level, in order: pairs split on `&` (empty ones skipped) and on the first `=`, both
 * parts url-decoded, the name filed as `php_register_variable_ex` does. A repeated name keeps its first position
 * and its last value; a name with `[…]` gives {@link PhpArray}.
 *
 * @since 0.1.0
 * @category php
 */
export const phpParseStr = (query: string): ReadonlyMap<string, string | typeof PhpArray> => {
  const result = new Map<string, string | typeof PhpArray>()
  for (const pair of query.split("&")) {
    if (pair === "") continue
    const eq = pair.indexOf("=")
    const filed = parseStrName(phpUrlDecode(eq === -1 ? pair : pair.slice(0, eq)))
    if (filed === undefined) continue
    result.set(filed.name, filed.isArray ? PhpArray : eq === -1 ? "" : phpUrlDecode(pair.slice(eq + 1)))
  }
  return result
}

/** A PHP integer-like array key (`"5"`, `"-3"`, not `"05"` or `"-0"`), which arrays store as an integer. */
const isIntegerKey = (key: string): boolean =>
  /^(0|-?[1-9][0-9]*)$/.test(key) && BigInt(key) >= -(2n ** 63n) && BigInt(key) < 2n ** 63n

const numericString = /^[ \t\n\r\v\f]*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?[ \t\n\r\v\f]*$/
const integerString = /^[ \t\n\r\v\f]*[+-]?\d+[ \t\n\r\v\f]*$/

/** PHP 8 `==` between two strings: numerically when both are numeric strings (`"0.0" == "0"`), bytewise otherwise. */
const phpLooseEquals = (a: string, b: string): boolean => {
  if (!numericString.test(a) || !numericString.test(b)) return a === b
  if (integerString.test(a) && integerString.test(b)) return BigInt(a.trim()) === BigInt(b.trim())
  return Number(a) === Number(b)
}

/**
 * The bytes PHP's `rand(0, 255)` gives after `srand(seed)` (MT19937, `mt_rand`'s default mode): the low byte of each
 * 32-bit output.
 */
const phpSeededBytes = (seed: number, count: number): Buffer => {
  const size = 624
  const shift = 397
  const state = new Uint32Array(size)
  state[0] = seed >>> 0
  for (let i = 1; i < size; i++) {
    const previous = state[i - 1]!
    state[i] = (Math.imul(1812433253, previous ^ (previous >>> 30)) + i) >>> 0
  }
  const twist = (m: number, u: number, v: number) =>
    (m ^ (((u & 0x80000000) | (v & 0x7fffffff)) >>> 1) ^ ((v & 1) === 1 ? 0x9908b0df : 0)) >>> 0
  for (let i = 0; i < size; i++) {
    state[i] = twist(state[(i + shift) % size]!, state[i]!, state[(i + 1) % size]!)
  }
  const bytes = Buffer.alloc(count)
  for (let i = 0; i < count; i++) {
    let value = state[i]!
    value ^= value >>> 11
    value ^= (value << 7) & 0x9d2c5680
    value ^= (value << 15) & 0xefc60000
    value ^= value >>> 18
    bytes[i] = value & 0xff
  }
  return bytes
}

const sha1 = (data: Buffer | string): Buffer => Crypto.createHash("sha1").update(data).digest()

// ---------------------------------------------------------------------------------------------------------------------
// privileges
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Every `PRIVILEGE_*` constant of `kSessionBase` (`getServerPrivileges`): callers of `appToken.startSession` cannot
 * add these through `sessionPrivileges`.
 *
 * @since 0.1.0
 * @category privileges
 */
export const SERVER_PRIVILEGES: ReadonlySet<string> = new Set([
  "edit",
  "sview",
  "list",
  "download",
  "downloadasset",
  "editplaylist",
  "sviewplaylist",
  "actionslimit",
  "setrole",
  "restrictingrole",
  "limitentry",
  "iprestrict",
  "urirestrict",
  "enableentitlement",
  "disableentitlement",
  "disableentitlementforentry",
  "disableentitlementforplaylist",
  "privacycontext",
  "enablecategorymoderation",
  "reftime",
  "sessionkey",
  "preview",
  "sessionid",
  "jobtype",
  "apptoken",
  "enablechangeaccount",
  "edituser",
  "enablecaptionmoderation",
  "editadmintags",
  "restrictexplicitliveview",
  "virtualeventid",
  "searchcontext",
  "disablesessiontypecheck"
])

/**
 * Parsed privileges, in insertion order: name → values.
 *
 * @since 0.1.0
 * @category privileges
 */
export type Privileges = ReadonlyMap<string, ReadonlyArray<string>>

/**
 * `kSessionBase::parsePrivileges`: split on `,`, then on the first `:`, then the value on `/`. A name without a value
 * or with an empty one maps to `[]`; repeated names accumulate; an empty item is kept as the name `""`.
 *
 * @since 0.1.0
 * @category privileges
 */
export const parsePrivileges = (privileges: string): Privileges => {
  const result = new Map<string, Array<string>>()
  for (const item of privileges.split(",")) {
    const colon = item.indexOf(":")
    const name = colon === -1 ? item : item.slice(0, colon)
    const value = colon === -1 ? "" : item.slice(colon + 1)
    const values = value === "" ? [] : value.split("/")
    const existing = result.get(name)
    if (existing) existing.push(...values)
    else result.set(name, values)
  }
  return result
}

/**
 * `kSessionBase::buildPrivileges`: `name:v1/v2` (or `name` alone) joined with `,`.
 *
 * @since 0.1.0
 * @category privileges
 */
export const buildPrivileges = (privileges: Privileges): string =>
  Array.from(privileges, ([name, values]) => values.length === 0 ? name : `${name}:${values.join("/")}`).join(",")

/** PHP `array_merge_recursive` of two privilege arrays: integer names are renumbered from 0, others merged. */
const mergePrivileges = (first: Privileges, second: Privileges): Map<string, Array<string>> => {
  const result = new Map<string, Array<string>>()
  let nextIndex = 0
  for (const source of [first, second]) {
    for (const [name, values] of source) {
      const key = isIntegerKey(name) ? String(nextIndex++) : name
      const existing = result.get(key)
      if (existing) existing.push(...values)
      else result.set(key, [...values])
    }
  }
  return result
}

/**
 * The privileges of a KS minted by `appToken.startSession` (spec §1.5, `AppTokenService::startSessionAction`):
 * `sessionid` and `apptoken` first, merged with the token's own privileges (`array_merge_recursive`, so a numeric
 * name is renumbered from 0), then the request's privileges whose trimmed name is neither server-reserved nor held
 * (PHP's loose `in_array`, so `"0.0"` matches a held `"0"`), or that replace a held privilege that has the value `*`.
 * Privileges `""` or `"0"` count as none, as PHP's truthiness has it.
 *
 * @since 0.1.0
 * @category privileges
 */
export const appTokenSessionPrivileges = (options: {
  readonly tokenId: string
  readonly tokenPrivileges?: string | null | undefined
  readonly requestPrivileges?: string | null | undefined
}): string => {
  const isSet = (value: string | null | undefined): value is string =>
    value !== undefined && value !== null && value !== "" && value !== "0"
  const base = new Map([["sessionid", [options.tokenId]], ["apptoken", [options.tokenId]]])
  const result = isSet(options.tokenPrivileges)
    ? mergePrivileges(base, parsePrivileges(options.tokenPrivileges))
    : base
  if (isSet(options.requestPrivileges)) {
    const forbidden = [...SERVER_PRIVILEGES, ...Array.from(result.keys(), phpTrim)]
    for (const [name, values] of parsePrivileges(options.requestPrivileges)) {
      const trimmedName = phpTrim(name)
      const isForbidden = forbidden.some((held) => phpLooseEquals(trimmedName, held))
      if (!isForbidden || (result.get(name)?.includes("*") ?? false)) {
        result.set(name, [...values])
      }
    }
  }
  return buildPrivileges(result)
}

/**
 * `kSessionBase::isWidgetSession`: type USER, an anonymous user (`""`, `"0"` or none) and privileges that contain
 * `widget:1` anywhere (a substring test, so `xwidget:1` and `widget:10` count). Widget sessions skip the revocation
 * lookup.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isWidgetSession = (ks: KsData): boolean =>
  ks.type === 0 && (ks.userId === undefined || ks.userId === "" || ks.userId === "0") &&
  ks.privileges.includes("widget:1")

/**
 * The session id a KS is revoked by (`kSessionBase::getSessionIdHash`): the first value of its `sessionid`
 * privilege.
 *
 * @since 0.1.0
 * @category predicates
 */
export const sessionIdOf = (ks: KsData): string | undefined => parsePrivileges(ks.privileges).get("sessionid")?.[0]

// ---------------------------------------------------------------------------------------------------------------------
// app token hash
// ---------------------------------------------------------------------------------------------------------------------

/**
 * `KalturaAppTokenHashType`.
 *
 * @since 0.1.0
 * @category models
 */
export type HashType = "MD5" | "SHA1" | "SHA256" | "SHA512"

/**
 * The hash types the server knows.
 *
 * @since 0.1.0
 * @category models
 */
export const hashTypes: ReadonlyArray<HashType> = ["MD5", "SHA1", "SHA256", "SHA512"]

/**
 * `AppToken::calcHash`: lower-case hex `hash(hashType, ks + token)`, the KS string exactly as sent.
 *
 * @since 0.1.0
 * @category app tokens
 */
export const appTokenHash = (hashType: HashType, ks: string, token: string): string =>
  Crypto.createHash(hashType.toLowerCase()).update(ks + token, "utf8").digest("hex")

// ---------------------------------------------------------------------------------------------------------------------
// v2
// ---------------------------------------------------------------------------------------------------------------------

const v2Key = (adminSecret: string): Buffer => sha1(adminSecret).subarray(0, 16)

const zeroIv = Buffer.alloc(16)

/**
 * The `http_build_query` fields of a v2 KS, in order: each privilege PHP-trimmed, skipped when empty or `"0"` (PHP's
 * falsy strings), `*` written as `all:*`, split on its first `:`; a repeated name keeps its first position and its
 * last value. Then `_e`, `_t`, `_u`, `_m`, `_d`, each replacing a privilege of that name; an `undefined` one is not
 * written (`http_build_query` skips `null`), so it also drops such a privilege.
 *
 * @since 0.1.0
 * @category v2
 */
export const v2Fields = (options: EncodeOptions): Array<readonly [string, string]> => {
  const fields = new Map<string, string | undefined>()
  for (const raw of (options.privileges ?? "").split(",")) {
    let privilege = phpTrim(raw)
    if (privilege === "" || privilege === "0") continue
    if (privilege === "*") privilege = "all:*"
    const colon = privilege.indexOf(":")
    if (colon === -1) fields.set(privilege, "")
    else fields.set(privilege.slice(0, colon), privilege.slice(colon + 1))
  }
  fields.set("_e", String(options.expiresAt))
  fields.set("_t", String(options.type))
  fields.set("_u", options.userId)
  fields.set("_m", options.masterPartnerId)
  fields.set("_d", options.additionalData)
  return Array.from(fields).flatMap(([name, value]) => value === undefined ? [] : [[name, value] as const])
}

/**
 * `kSessionBase::generateKsV2`: `base64url("v2|pid|" + AES-128-CBC(sha1(secret)[0:16], zero IV,
 * zero-padded sha1(random16 + query) + random16 + query))`, keeping the `=` padding. `random` must be 16 bytes
 * (random by default).
 *
 * @since 0.1.0
 * @category v2
 */
export const encodeV2 = (options: EncodeOptions & { readonly random?: Uint8Array | undefined }): string => {
  const random = options.random === undefined ? Crypto.randomBytes(16) : Buffer.from(options.random)
  if (random.length !== 16) throw new RangeError("KS v2 needs exactly 16 random bytes")
  const fieldsPart = Buffer.concat([random, Buffer.from(httpBuildQuery(v2Fields(options)), "utf8")])
  const signed = Buffer.concat([sha1(fieldsPart), fieldsPart])
  const padded = Buffer.concat([signed, Buffer.alloc((16 - (signed.length % 16)) % 16)])
  const cipher = Crypto.createCipheriv("aes-128-cbc", v2Key(options.adminSecret), zeroIv)
  cipher.setAutoPadding(false)
  const encrypted = Buffer.concat([cipher.update(padded), cipher.final()])
  return Buffer.concat([Buffer.from(`v2|${options.partnerId}|`, "utf8"), encrypted]).toString("base64")
    .replace(/\+/g, "-").replace(/\//g, "_")
}

// ---------------------------------------------------------------------------------------------------------------------
// v1
// ---------------------------------------------------------------------------------------------------------------------

/** `microtime(true)` as PHP prints a float: 14 significant digits, no trailing zeros. */
const phpMicrotime = (): string => String(Number((Date.now() / 1000 + Crypto.randomInt(1000) / 1e6).toPrecision(14)))

/**
 * `kSessionBase::generateKsV1`: `base64(sha1hex(secret + info) + "|" + info)` with
 * `info = pid;pid;expiresAt;type;rand;user;privileges;master;additional` (privileges as given, an `undefined` field
 * empty). `rand` defaults to PHP's `microtime(true)` as a string, e.g. `1700000000.1234`.
 *
 * @since 0.1.0
 * @category v1
 */
export const encodeV1 = (options: EncodeOptions & { readonly rand?: string | undefined }): string => {
  const info = [
    String(options.partnerId),
    String(options.partnerId),
    String(options.expiresAt),
    String(options.type),
    options.rand ?? phpMicrotime(),
    options.userId ?? "",
    options.privileges ?? "",
    options.masterPartnerId ?? "",
    options.additionalData ?? ""
  ].join(";")
  const signature = Crypto.createHash("sha1").update(options.adminSecret + info, "utf8").digest("hex")
  return Buffer.from(`${signature}|${info}`, "utf8").toString("base64")
}

const fiveMinutes = 300

/**
 * Generates a KS of the given version (v2 by default), as `kSessionBase::generateSession` does: when the privileges
 * contain `downloadasset` anywhere, `expiresAt` is rounded up to a multiple of 300 s and the random part is seeded
 * with it (`srand(expiresAt)`, then `rand()` for the v2 random bytes; the v1 `rand` field is `expiresAt`), so such a
 * KS is the same for every call in the same five minutes, and `random` / `rand` are ignored. Otherwise `random` (v2,
 * 16 bytes) or `rand` (v1) is used, random by default.
 *
 * @since 0.1.0
 * @category constructors
 */
export const encode = (
  options: EncodeOptions & {
    readonly version?: 1 | 2 | undefined
    readonly random?: Uint8Array | undefined
    readonly rand?: string | undefined
  }
): string => {
  if (!(options.privileges ?? "").includes("downloadasset")) {
    return options.version === 1 ? encodeV1(options) : encodeV2(options)
  }
  const expiresAt = Math.ceil(options.expiresAt / fiveMinutes) * fiveMinutes
  return options.version === 1
    ? encodeV1({ ...options, expiresAt, rand: String(expiresAt) })
    : encodeV2({ ...options, expiresAt, random: phpSeededBytes(expiresAt, 16) })
}

// ---------------------------------------------------------------------------------------------------------------------
// decoding
// ---------------------------------------------------------------------------------------------------------------------

/**
 * `kSessionBase::parseKS` up to the version switch: `-`/`_` mapped to `+`/`/`, then PHP's strict `base64_decode`
 * (whitespace skipped); an empty result or `"0"` fails, as PHP's `!$decodedKs` does.
 */
const base64Decode = (ks: string): Option.Option<Buffer> =>
  Option.filter(
    phpBase64Decode(ks.replace(/-/g, "+").replace(/_/g, "/")),
    (decoded) => decoded.length > 0 && !(decoded.length === 1 && decoded[0] === 0x30)
  )

/**
 * The partner id a KS claims, read without any secret (`v2|<pid>|…` or field 0 of a v1 KS).
 *
 * @since 0.1.0
 * @category decoding
 */
export const partnerIdOf = (ks: string): Option.Option<number> =>
  Option.flatMap(base64Decode(ks), (decoded) => {
    if (decoded.subarray(0, 3).toString("latin1") === "v2|") {
      const end = decoded.indexOf(0x7c, 3)
      if (end === -1) return Option.none()
      return parsePartnerId(decoded.subarray(3, end).toString("latin1"))
    }
    const text = decoded.toString("latin1")
    const bar = text.indexOf("|")
    if (bar === -1) return Option.none()
    return parsePartnerId(text.slice(bar + 1).split(";")[0] ?? "")
  })

const parsePartnerId = (value: string): Option.Option<number> =>
  /^-?\d+$/.test(value) ? Option.some(Number(value)) : Option.none()

const toInt = (value: string | undefined): number => {
  const match = /^\s*[+-]?\d+/.exec(value ?? "")
  return match === null ? 0 : Number(match[0])
}

/**
 * The members `kSessionBase::parseKsV2` sets from the `parse_str` fields: `_e`, `_t`, `_u`, `_m`, `_d`, and every
 * other pair a privilege, `name:value` or `name` alone; the whole string `all:*` reads back as `*` (and only then).
 * A field `parse_str` made an array fails: the real server then stops on a `TypeError` (PHP 8) or keeps an array
 * where a string belongs, so no KS with such a name is usable there.
 */
const v2Members = (
  query: string
): Option.Option<Omit<KsData, "version" | "partnerId" | "hash">> => {
  let validUntil = 0
  let type = 0
  let userId: string | undefined
  let masterPartnerId: string | undefined
  let additionalData: string | undefined
  const privileges: Array<string> = []
  for (const [name, value] of phpParseStr(query)) {
    if (value === PhpArray) return Option.none()
    switch (name) {
      case "_e":
        validUntil = toInt(value)
        break
      case "_t":
        type = toInt(value)
        break
      case "_u":
        userId = value
        break
      case "_m":
        masterPartnerId = value
        break
      case "_d":
        additionalData = value
        break
      default:
        privileges.push(value === "" ? name : `${name}:${value}`)
    }
  }
  const joined = privileges.join(",")
  return Option.some({
    validUntil,
    type,
    userId,
    privileges: joined === "all:*" ? "*" : joined,
    masterPartnerId,
    additionalData
  })
}

const decodeV2 = (
  decoded: Buffer,
  secretsOf: (partnerId: number) => ReadonlyArray<string> | undefined
): Either.Either<KsData, "INVALID_STR"> => {
  const firstBar = 2
  const secondBar = decoded.indexOf(0x7c, firstBar + 1)
  if (secondBar === -1) return Either.left("INVALID_STR")
  const partnerId = parsePartnerId(decoded.subarray(firstBar + 1, secondBar).toString("latin1"))
  if (Option.isNone(partnerId)) return Either.left("INVALID_STR")
  const secrets = secretsOf(partnerId.value)
  const encrypted = decoded.subarray(secondBar + 1)
  if (secrets === undefined || encrypted.length === 0 || encrypted.length % 16 !== 0) return Either.left("INVALID_STR")
  for (const secret of secrets) {
    const decipher = Crypto.createDecipheriv("aes-128-cbc", v2Key(secret), zeroIv)
    decipher.setAutoPadding(false)
    let plain = Buffer.concat([decipher.update(encrypted), decipher.final()])
    let end = plain.length
    while (end > 0 && plain[end - 1] === 0) end--
    plain = plain.subarray(0, end)
    if (plain.length < 36) continue
    const hash = plain.subarray(0, 20)
    const fields = plain.subarray(20)
    if (!sha1(fields).equals(hash)) continue
    return Option.match(v2Members(fields.subarray(16).toString("utf8")), {
      onNone: () => Either.left("INVALID_STR" as const),
      onSome: (members) =>
        Either.right({ version: 2 as const, partnerId: partnerId.value, ...members, hash: hash.toString("hex") })
    })
  }
  return Either.left("INVALID_STR")
}

const decodeV1 = (
  decoded: Buffer,
  secretsOf: (partnerId: number) => ReadonlyArray<string> | undefined
): Either.Either<KsData, "INVALID_STR"> => {
  const bar = decoded.indexOf(0x7c)
  if (bar === -1) return Either.left("INVALID_STR")
  const signature = decoded.subarray(0, bar).toString("latin1")
  const info = decoded.subarray(bar + 1)
  const fields = info.toString("utf8").split(";")
  if (fields.length < 3) return Either.left("INVALID_STR")
  const partnerId = parsePartnerId(fields[0]!)
  if (Option.isNone(partnerId)) return Either.left("INVALID_STR")
  const secrets = secretsOf(partnerId.value)
  if (secrets === undefined) return Either.left("INVALID_STR")
  const valid = secrets.some((secret) =>
    Crypto.createHash("sha1").update(Buffer.from(secret, "utf8")).update(info).digest("hex") === signature
  )
  if (!valid) return Either.left("INVALID_STR")
  return Either.right({
    version: 1,
    partnerId: partnerId.value,
    validUntil: toInt(fields[2]),
    type: toInt(fields[3]),
    userId: fields[5],
    privileges: fields[6] ?? "",
    masterPartnerId: fields[7],
    additionalData: fields[8],
    hash: signature
  })
}

/**
 * Parses and verifies a KS (`kSessionBase::parseKS`). `secretsOf` returns a partner's admin secrets (tried in turn),
 * or `undefined` for an unknown partner. Whitespace (space, tab, CR, LF) anywhere in the string is skipped, as PHP's
 * `base64_decode` does, and both base64 alphabets are read. Any failure (bad base64, unknown partner, bad signature,
 * fewer than three v1 fields, a v2 privilege name that PHP reads as an array) is `INVALID_STR`. Expiry and
 * revocation are checked separately.
 *
 * @since 0.1.0
 * @category decoding
 */
export const decode = (
  ks: string,
  secretsOf: (partnerId: number) => ReadonlyArray<string> | undefined
): Either.Either<KsData, "INVALID_STR"> =>
  Option.match(base64Decode(ks), {
    onNone: () => Either.left("INVALID_STR" as const),
    onSome: (decoded) =>
      decoded.subarray(0, 3).toString("latin1") === "v2|"
        ? decodeV2(decoded, secretsOf)
        : decodeV1(decoded, secretsOf)
  })

/**
 * `valid_until <= now`: a KS is expired at the second it reaches `_e`.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isExpired = (ks: KsData, nowSeconds: number): boolean => ks.validUntil <= nowSeconds
