/**
 * The Lua scripts of the Redis store: each comparison and its change run atomically on the server. A record is the
 * JSON `SessionStore` writes; its clear `expiry` and `tag` are read with `cjson`. A value that is not a string, larger
 * than 64 KiB, not JSON or of another shape counts as no record (and is overwritten by the next write).
 *
 * Internal to the package: not part of its public API.
 */
import * as Crypto from "node:crypto"

/** A script and its SHA-1, for `EVALSHA` (with `EVAL` when the server does not have it yet). */
export interface Script {
  readonly source: string
  readonly sha: string
}

const script = (source: string): Script => ({ source, sha: Crypto.createHash("sha1").update(source).digest("hex") })

const decodeCurrent = `
local current = redis.pcall('GET', KEYS[1])
local decoded = nil
if type(current) == 'string' and #current <= 65536 then
  local ok, value = pcall(cjson.decode, current)
  if ok and type(value) == 'table' then decoded = value end
end
`

/** Write-if-newer. KEYS[1] the entry; ARGV: record, expiry (s), deadline (unix ms). 1 if written. */
export const put = script(`${decodeCurrent}
if decoded ~= nil and type(decoded.expiry) == 'number' and decoded.expiry >= tonumber(ARGV[2]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`)

/** Compare-and-set on the exact record. KEYS[1] the entry; ARGV: record, deadline (unix ms), expected. */
export const replace = script(`
local current = redis.pcall('GET', KEYS[1])
if type(current) ~= 'string' or current ~= ARGV[3] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`)

/** Delete-if-same. KEYS[1] the entry; ARGV: the KS tag. 1 if deleted. */
export const remove = script(`${decodeCurrent}
if decoded ~= nil and decoded.tag == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

/** Releases a lease only for its owner. KEYS[1] the lease; ARGV: the owner. */
export const release = script(`
if redis.pcall('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)
