/**
 * The file backend of the session store, as plain async functions over `node:fs/promises` (each backend operation
 * is one promise: a timeout abandons the wait, never a half-done operation, which finishes and unlocks by itself).
 *
 * Layout of the directory (0700), every file 0600, every name from an HMAC (64 hex characters):
 * - `<name>.session`: the record, replaced atomically (written to `<name>.<random>.tmp`, fsynced, renamed);
 * - `<name>.lock`: the short lock under which a record is compared and replaced;
 * - `<name>.lease`: the refresh lease;
 * - `<name>.<random>.stale`: a lock file being taken over (for an instant).
 *
 * A lock file holds `{ pid, host, time, ttl, owner }` and is created whole (a hard link to a temporary file, which
 * fails if it exists; `O_EXCL` where links are not supported). It is stale, and taken over,
 * when older than its `ttl`, or when its process is gone (same host, `kill(pid, 0)` fails with `ESRCH`, or the
 * process is this one and the owner is not one of its own). A lock file that does not decode (a crash between its
 * creation and its write) is stale after a second.
 *
 * Internal to the package: not part of its public API.
 */
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs/promises"
import * as Os from "node:os"
import * as Path from "node:path"

/** A record file larger than this is corrupt (a record is well under 2 KiB). */
export const maxRecordBytes = 64 * 1024

/** An undecodable lock file younger than this may be being written. */
const unreadableLockGraceMillis = 1000

/** Temporary and stale-lock files older than this are left from a crash: removed when the directory is opened. */
const orphanAgeMillis = 60_000

const namePattern = /^[0-9a-f]{64}$/
const ourFile = /^[0-9a-f]{64}\.(session|lease|lock)$/
const orphanFile = /^[0-9a-f]{64}\.[0-9a-f]{16}\.(tmp|stale)$/

/** A failure of the file system, as the store reports it (the code, never a record). */
export class FileError extends Error {
  constructor(readonly reason: SessionStore.SessionStoreError["reason"], detail: string) {
    super(detail)
  }
}

const codeOf = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    ? error.code
    : undefined

/** What a failed operation reports: `syscall CODE`, without the path. */
export const describe = (error: unknown): string => {
  if (error instanceof FileError) return error.message
  const code = codeOf(error)
  const syscall = typeof error === "object" && error !== null && "syscall" in error ? String(error.syscall) : ""
  return code === undefined
    ? (error instanceof Error ? error.name : "unknown error")
    : `${syscall === "" ? "" : `${syscall} `}${code}`
}

const random = () => Crypto.randomBytes(8).toString("hex")

const LockInfo = Schema.Struct({
  pid: Schema.Int,
  host: Schema.String,
  time: Schema.Number,
  ttl: Schema.Number,
  owner: Schema.String
})
const decodeLock = Schema.decodeUnknownOption(Schema.parseJson(LockInfo))

/** Owners of the locks this process holds: a lock with our pid and another owner is a previous process's. */
const ownOwners = new Set<string>()

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return codeOf(error) === "EPERM"
  }
}

const readText = async (path: string, limit: number): Promise<string | undefined> => {
  let handle: Fs.FileHandle
  try {
    handle = await Fs.open(path, "r")
  } catch (error) {
    if (codeOf(error) === "ENOENT") return undefined
    throw error
  }
  try {
    const buffer = Buffer.alloc(limit + 1)
    let length = 0
    while (length <= limit) {
      const { bytesRead } = await handle.read(buffer, length, limit + 1 - length, length)
      if (bytesRead === 0) break
      length += bytesRead
    }
    if (length > limit) throw new FileError("Corrupt", "an entry file larger than 64 KiB")
    return buffer.subarray(0, length).toString("utf8")
  } finally {
    await handle.close()
  }
}

/** The directory's files of one name. */
export interface Paths {
  readonly session: string
  readonly lock: string
  readonly lease: string
}

export interface Config {
  readonly directory: string
  /** How long `put`, `replace` and `remove` wait for the write lock. */
  readonly lockWaitMillis: number
  /** The ttl of the write lock: older, it is taken over. */
  readonly lockTtlMillis: number
}

const pathsOf = (config: Config, name: string): Paths => {
  if (!namePattern.test(name)) throw new FileError("Io", "an entry name that is not 64 hex characters")
  return {
    session: Path.join(config.directory, `${name}.session`),
    lock: Path.join(config.directory, `${name}.lock`),
    lease: Path.join(config.directory, `${name}.lease`)
  }
}

/** Creates the directory (0700) if need be and checks that it is ours and writable; removes a crash's leftovers. */
export const open = async (directory: string): Promise<void> => {
  await Fs.mkdir(directory, { recursive: true, mode: 0o700 })
  const stat = await Fs.stat(directory)
  if (!stat.isDirectory()) throw new FileError("Unavailable", "not a directory")
  const uid = process.getuid?.()
  if (uid !== undefined && stat.uid !== uid) throw new FileError("Unavailable", "a directory owned by another user")
  if (process.platform !== "win32" && (stat.mode & 0o077) !== 0) await Fs.chmod(directory, 0o700)
  const probe = Path.join(directory, `${"0".repeat(64)}.${random()}.tmp`)
  await Fs.writeFile(probe, "", { flag: "wx", mode: 0o600 })
  await Fs.unlink(probe)
  const now = Date.now()
  for (const file of await Fs.readdir(directory)) {
    if (!orphanFile.test(file)) continue
    const path = Path.join(directory, file)
    try {
      if (now - (await Fs.stat(path)).mtimeMs > orphanAgeMillis) await Fs.unlink(path)
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/** The record, if any. */
export const get = async (config: Config, name: string): Promise<string | undefined> =>
  readText(pathsOf(config, name).session, maxRecordBytes)

/** Writes `data` to `path` atomically: a temporary file (0600, fsynced), then a rename. */
const writeAtomic = async (
  config: Config,
  path: string,
  name: string,
  data: string,
  fence: () => Promise<void>
): Promise<void> => {
  const temporary = Path.join(config.directory, `${name}.${random()}.tmp`)
  let handle: Fs.FileHandle
  try {
    handle = await Fs.open(temporary, "wx", 0o600)
  } catch (error) {
    if (codeOf(error) !== "ENOENT") throw error
    // the directory was removed while we run: create it again, once
    await open(config.directory)
    handle = await Fs.open(temporary, "wx", 0o600)
  }
  try {
    try {
      await handle.writeFile(data, "utf8")
      await handle.sync()
    } finally {
      await handle.close()
    }
    await fence()
    await Fs.rename(temporary, path)
  } catch (error) {
    await Fs.unlink(temporary).catch(() => undefined)
    throw error
  }
}

/** A lock file's content; one too large to be ours reads as a marker, so that it can still be taken over. */
const readLock = (path: string): Promise<string | undefined> =>
  readText(path, 4096).catch((error) => error instanceof FileError ? "\u0000unreadable" : Promise.reject(error))

type LockState =
  | { readonly _tag: "Gone" }
  | { readonly _tag: "Held" }
  | { readonly _tag: "Stale"; readonly content: string }

const inspectLock = async (path: string, now: number): Promise<LockState> => {
  let content: string | undefined
  let mtime: number
  try {
    content = await readLock(path)
    if (content === undefined) return { _tag: "Gone" }
    mtime = (await Fs.stat(path)).mtimeMs
  } catch (error) {
    if (codeOf(error) === "ENOENT") return { _tag: "Gone" }
    throw error
  }
  const info = decodeLock(content)
  if (Option.isNone(info)) {
    return now - mtime > unreadableLockGraceMillis
      ? { _tag: "Stale", content }
      : { _tag: "Held" }
  }
  const { host, owner, pid, time, ttl } = info.value
  const dead = host === Os.hostname() && (pid === process.pid ? !ownOwners.has(owner) : !isAlive(pid))
  return dead || now >= time + ttl ? { _tag: "Stale", content } : { _tag: "Held" }
}

/** Moves a lock aside if it still is `content`; puts back a lock that changed meanwhile. */
const takeOver = async (path: string, content: string): Promise<void> => {
  const aside = `${path.slice(0, path.lastIndexOf("."))}.${random()}.stale`
  try {
    await Fs.rename(path, aside)
  } catch (error) {
    if (codeOf(error) === "ENOENT") return
    throw error
  }
  const moved = await readLock(aside).catch(() => undefined)
  if (moved !== content) {
    // someone took it over and locked it between our read and our rename: give it back, unless locked again
    await Fs.link(aside, path).catch(() => undefined)
  }
  await Fs.unlink(aside).catch(() => undefined)
}

/**
 * Creates the file at `path` with `content` if it does not exist, in one step: the content goes to a temporary file
 * that is then hard-linked to `path` (which fails if `path` exists), so no process ever sees it empty or partial.
 * Where hard links are not supported, an `O_EXCL` create and a write.
 */
const createExclusive = async (path: string, content: string): Promise<void> => {
  const temporary = `${path.slice(0, path.lastIndexOf("."))}.${random()}.tmp`
  await Fs.writeFile(temporary, content, { flag: "wx", mode: 0o600 })
  try {
    await Fs.link(temporary, path)
  } catch (error) {
    const code = codeOf(error)
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw error
    await Fs.writeFile(path, content, { flag: "wx", mode: 0o600 })
  } finally {
    await Fs.unlink(temporary).catch(() => undefined)
  }
}

/** Creates the lock file at `path` for `owner` unless a live lock holds it (taking a stale one over). */
export const tryLock = async (path: string, owner: string, ttlMillis: number): Promise<boolean> => {
  for (let attempt = 0; attempt < 4; attempt++) {
    const now = Date.now()
    const info = JSON.stringify({ pid: process.pid, host: Os.hostname(), time: now, ttl: ttlMillis, owner })
    // known before the file exists: another fiber of this process must never take it for a previous process's
    ownOwners.add(owner)
    try {
      await createExclusive(path, info)
      return true
    } catch (error) {
      ownOwners.delete(owner)
      if (codeOf(error) === "ENOENT" && attempt === 0) {
        // the directory was removed while we run: create it again, once
        await open(Path.dirname(path))
        continue
      }
      if (codeOf(error) !== "EEXIST") throw error
    }
    const state = await inspectLock(path, now)
    if (state._tag === "Held") return false
    if (state._tag === "Stale") await takeOver(path, state.content)
  }
  return false
}

/** Removes the lock file at `path` if `owner` holds it. */
export const unlock = async (path: string, owner: string): Promise<void> => {
  try {
    const content = await readLock(path).catch(() => undefined)
    if (content === undefined) return
    const info = decodeLock(content)
    if (Option.isNone(info) || info.value.owner !== owner) return
    await takeOver(path, content)
  } finally {
    ownOwners.delete(owner)
  }
}

const sleep = (millis: number) => new Promise<void>((resolve) => setTimeout(resolve, millis))

/** Runs `f` under the write lock of `name`, waiting for it at most `lockWaitMillis`. */
const withWriteLock = async <A>(
  config: Config,
  paths: Paths,
  f: (fence: () => Promise<void>) => Promise<A>
): Promise<A> => {
  const owner = random() + random()
  // Checked just before the change is made: a holder slower than the lock's ttl may have been taken over.
  const fence = async () => {
    const content = await readLock(paths.lock)
    const info = content === undefined ? Option.none() : decodeLock(content)
    if (Option.isNone(info) || info.value.owner !== owner) {
      throw new FileError("Timeout", "the entry's write lock was taken over (held longer than its ttl)")
    }
  }
  const deadline = Date.now() + config.lockWaitMillis
  let delay = 1
  while (!(await tryLock(paths.lock, owner, config.lockTtlMillis))) {
    if (Date.now() >= deadline) throw new FileError("Timeout", "the entry's write lock is held")
    await sleep(delay + Math.random() * delay)
    delay = Math.min(delay * 2, 20)
  }
  try {
    return await f(fence)
  } finally {
    await unlock(paths.lock, owner).catch(() => undefined)
  }
}

const currentHeader = async (paths: Paths) => {
  try {
    const current = await readText(paths.session, maxRecordBytes)
    return current === undefined ? undefined : { current, header: SessionStore.recordHeader(current) }
  } catch (error) {
    if (error instanceof FileError) return { current: undefined, header: Option.none() }
    throw error
  }
}

/** Write-if-newer: a record that does not decode counts as none. */
export const put = async (config: Config, name: string, entry: SessionStore.Entry): Promise<boolean> => {
  const paths = pathsOf(config, name)
  return withWriteLock(config, paths, async (fence) => {
    const found = await currentHeader(paths)
    if (found !== undefined && Option.isSome(found.header) && found.header.value.expiry >= entry.expiry) return false
    await writeAtomic(config, paths.session, name, entry.record, fence)
    return true
  })
}

/** Replaces the record only if it is exactly `expected`. */
export const replace = async (
  config: Config,
  name: string,
  entry: SessionStore.Entry,
  expected: string
): Promise<boolean> => {
  const paths = pathsOf(config, name)
  return withWriteLock(config, paths, async (fence) => {
    const found = await currentHeader(paths)
    if (found?.current !== expected) return false
    await writeAtomic(config, paths.session, name, entry.record, fence)
    return true
  })
}

/** Removes the record only if it holds the KS of `tag`. */
export const remove = async (config: Config, name: string, tag: string): Promise<boolean> => {
  const paths = pathsOf(config, name)
  return withWriteLock(config, paths, async (fence) => {
    const found = await currentHeader(paths)
    if (found === undefined || Option.isNone(found.header) || found.header.value.tag !== tag) return false
    await fence()
    await Fs.unlink(paths.session)
    return true
  })
}

/** The refresh lease. */
export const acquire = (config: Config, name: string, owner: string, ttlMillis: number): Promise<boolean> =>
  tryLock(pathsOf(config, name).lease, owner, ttlMillis)

export const release = (config: Config, name: string, owner: string): Promise<void> =>
  unlock(pathsOf(config, name).lease, owner)

/** Removes every file of ours in the directory whose name starts with `prefix` (`""`: all); how many records. */
export const clear = async (config: Config, prefix: string): Promise<number> => {
  let files: ReadonlyArray<string>
  try {
    files = await Fs.readdir(config.directory)
  } catch (error) {
    if (codeOf(error) === "ENOENT") return 0
    throw error
  }
  let records = 0
  for (const file of files) {
    if ((!ourFile.test(file) && !orphanFile.test(file)) || !file.startsWith(prefix)) continue
    try {
      await Fs.unlink(Path.join(config.directory, file))
      if (file.endsWith(".session")) records++
    } catch (error) {
      if (codeOf(error) !== "ENOENT") throw error
    }
  }
  return records
}
