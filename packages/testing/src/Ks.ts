/**
 * Kaltura Session (KS) strings: v2 (AES-128-CBC, the SaaS default) and v1 (SHA1-signed, readable) encoding and
 * decoding, privilege strings and the app-token hash, exactly as the Kaltura server computes them (spec §1.3, §1.5,
 * §3). Pure and synchronous; the random parts are injectable so the spec's test vectors can be reproduced.
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
  readonly masterPartnerId: string | undefined
  readonly additionalData: string | undefined
}

/**
 * What a KS is generated from.
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodeOptions {
  readonly partnerId: number
  /** The partner's (first) admin secret: it signs (v1) or encrypts (v2) every KS. */
  readonly adminSecret: string
  /** Absolute unix seconds (`time() + expiry`). */
  readonly expiresAt: number
  readonly type: number
  /** `undefined` omits the user field; `""` writes an empty one. */
  readonly userId?: string | undefined
  readonly privileges?: string | undefined
  readonly masterPartnerId?: string | undefined
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

const sha1 = (data: Buffer | string): Buffer => Crypto.createHash("sha1").update(data).digest()

const strictBase64 = /^[A-Za-z0-9+/]*={0,2}$/

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
 * maps to `[]`; repeated names accumulate.
 *
 * @since 0.1.0
 * @category privileges
 */
export const parsePrivileges = (privileges: string): Privileges => {
  const result = new Map<string, Array<string>>()
  for (const item of privileges.split(",")) {
    if (item === "") continue
    const colon = item.indexOf(":")
    const name = colon === -1 ? item : item.slice(0, colon)
    const values = colon === -1 ? [] : item.slice(colon + 1).split("/")
    const existing = result.get(name)
    if (existing) existing.push(...values)
    else result.set(name, [...values])
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

/**
 * The privileges of a KS minted by `appToken.startSession` (spec §1.5): `sessionid` and `apptoken` first, then the
 * token's own privileges (merged), then the request's privileges that are neither server-reserved nor already held,
 * or that narrow a `*` the token holds.
 *
 * @since 0.1.0
 * @category privileges
 */
export const appTokenSessionPrivileges = (options: {
  readonly tokenId: string
  readonly tokenPrivileges?: string | null | undefined
  readonly requestPrivileges?: string | null | undefined
}): string => {
  const result = new Map<string, Array<string>>([["sessionid", [options.tokenId]], ["apptoken", [options.tokenId]]])
  if (options.tokenPrivileges) {
    for (const [name, values] of parsePrivileges(options.tokenPrivileges)) {
      const existing = result.get(name)
      if (existing) existing.push(...values)
      else result.set(name, [...values])
    }
  }
  if (options.requestPrivileges) {
    const held = new Set(result.keys())
    for (const [name, values] of parsePrivileges(options.requestPrivileges)) {
      const forbidden = SERVER_PRIVILEGES.has(name) || held.has(name)
      if (!forbidden || (result.get(name)?.includes("*") ?? false)) {
        result.set(name, [...values])
      }
    }
  }
  return buildPrivileges(result)
}

/**
 * `kSessionBase::isWidgetSession`: type USER, an anonymous user (`""`, `"0"` or none) and a `widget:1` privilege.
 * Widget sessions skip the revocation lookup.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isWidgetSession = (ks: KsData): boolean =>
  ks.type === 0 && (ks.userId === undefined || ks.userId === "" || ks.userId === "0") &&
  (parsePrivileges(ks.privileges).get("widget")?.includes("1") ?? false)

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
 * The `http_build_query` fields of a v2 KS, in order.
 *
 * @since 0.1.0
 * @category v2
 */
export const v2Fields = (options: EncodeOptions): Array<readonly [string, string]> => {
  const fields = new Map<string, string>()
  for (const raw of (options.privileges ?? "").split(",")) {
    let privilege = raw.trim()
    if (privilege === "") continue
    if (privilege === "*") privilege = "all:*"
    const colon = privilege.indexOf(":")
    if (colon === -1) fields.set(privilege, "")
    else fields.set(privilege.slice(0, colon), privilege.slice(colon + 1))
  }
  fields.set("_e", String(options.expiresAt))
  fields.set("_t", String(options.type))
  if (options.userId !== undefined) fields.set("_u", options.userId)
  if (options.masterPartnerId !== undefined) fields.set("_m", options.masterPartnerId)
  if (options.additionalData !== undefined) fields.set("_d", options.additionalData)
  return Array.from(fields)
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

/**
 * `kSessionBase::generateKsV1`: `base64(sha1hex(secret + info) + "|" + info)` with
 * `info = pid;pid;expiresAt;type;rand;user;privileges;master;additional`. `rand` defaults to a PHP `microtime(true)`
 * style string.
 *
 * @since 0.1.0
 * @category v1
 */
export const encodeV1 = (options: EncodeOptions & { readonly rand?: string | undefined }): string => {
  const rand = options.rand ?? `${Math.floor(Date.now() / 1000)}.${Crypto.randomInt(1, 10000)}`
  const info = [
    String(options.partnerId),
    String(options.partnerId),
    String(options.expiresAt),
    String(options.type),
    rand,
    options.userId ?? "",
    options.privileges ?? "",
    options.masterPartnerId ?? "",
    options.additionalData ?? ""
  ].join(";")
  const signature = Crypto.createHash("sha1").update(options.adminSecret + info, "utf8").digest("hex")
  return Buffer.from(`${signature}|${info}`, "utf8").toString("base64")
}

/**
 * Generates a KS of the given version (v2 by default).
 *
 * @since 0.1.0
 * @category constructors
 */
export const encode = (options: EncodeOptions & { readonly version?: 1 | 2 | undefined }): string =>
  options.version === 1 ? encodeV1(options) : encodeV2(options)

// ---------------------------------------------------------------------------------------------------------------------
// decoding
// ---------------------------------------------------------------------------------------------------------------------

const base64Decode = (ks: string): Option.Option<Buffer> => {
  const normalised = ks.replace(/-/g, "+").replace(/_/g, "/")
  if (normalised.length === 0 || !strictBase64.test(normalised)) return Option.none()
  return Option.some(Buffer.from(normalised, "base64"))
}

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

const parseQuery = (query: string): Array<readonly [string, string]> =>
  query.split("&").filter((pair) => pair !== "").map((pair) => {
    const eq = pair.indexOf("=")
    return eq === -1
      ? [phpUrlDecode(pair), ""] as const
      : [phpUrlDecode(pair.slice(0, eq)), phpUrlDecode(pair.slice(eq + 1))] as const
  })

const toInt = (value: string | undefined): number => {
  const match = /^\s*[+-]?\d+/.exec(value ?? "")
  return match === null ? 0 : Number(match[0])
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
    let validUntil = 0
    let type = 0
    let userId: string | undefined
    let masterPartnerId: string | undefined
    let additionalData: string | undefined
    const privileges: Array<string> = []
    for (const [name, value] of parseQuery(fields.subarray(16).toString("utf8"))) {
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
          privileges.push(name === "all" && value === "*" ? "*" : value === "" ? name : `${name}:${value}`)
      }
    }
    return Either.right({
      version: 2,
      partnerId: partnerId.value,
      validUntil,
      type,
      userId,
      privileges: privileges.join(","),
      masterPartnerId,
      additionalData
    })
  }
  return Either.left("INVALID_STR")
}

const decodeV1 = (
  decoded: Buffer,
  secretsOf: (partnerId: number) => ReadonlyArray<string> | undefined
): Either.Either<KsData, "INVALID_STR"> => {
  const text = decoded.toString("utf8")
  const bar = text.indexOf("|")
  if (bar === -1) return Either.left("INVALID_STR")
  const signature = text.slice(0, bar)
  const info = text.slice(bar + 1)
  const fields = info.split(";")
  if (fields.length < 3) return Either.left("INVALID_STR")
  const partnerId = parsePartnerId(fields[0]!)
  if (Option.isNone(partnerId)) return Either.left("INVALID_STR")
  const secrets = secretsOf(partnerId.value)
  if (secrets === undefined) return Either.left("INVALID_STR")
  const valid = secrets.some((secret) =>
    Crypto.createHash("sha1").update(secret + info, "utf8").digest("hex") === signature
  )
  if (!valid) return Either.left("INVALID_STR")
  const optional = (value: string | undefined) => value === undefined || value === "" ? undefined : value
  return Either.right({
    version: 1,
    partnerId: partnerId.value,
    validUntil: toInt(fields[2]),
    type: toInt(fields[3]),
    userId: fields[5],
    privileges: fields[6] ?? "",
    masterPartnerId: optional(fields[7]),
    additionalData: optional(fields[8])
  })
}

/**
 * Parses and verifies a KS (`kSessionBase::parseKS`). `secretsOf` returns a partner's admin secrets (tried in turn),
 * or `undefined` for an unknown partner. Any failure (bad base64, unknown partner, bad signature, fewer than three
 * v1 fields) is `INVALID_STR`. Expiry and revocation are checked separately.
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
