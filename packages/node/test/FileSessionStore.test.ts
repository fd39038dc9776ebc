import { afterAll, assert, describe, expect, it } from "@effect/vitest"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import { Effect, Logger, LogLevel, Option, Redacted } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as FileSessionStore from "../src/FileSessionStore.js"
import {
  capturing,
  errorCount,
  ksOf,
  type Line,
  secretsAtRest,
  sessionOf,
  settingsOf,
  token,
  widgetKs
} from "./utils/store.js"

const here = Path.dirname(new URL(import.meta.url).pathname)

/** Live tests print nothing (the store warns on purpose in several of them). */
const quiet = Logger.withMinimumLogLevel(LogLevel.None)

const created: Array<string> = []
const tempDirectory = () => {
  const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-file-store-"))
  created.push(directory)
  return directory
}

/** A fresh directory (not yet created) under a temporary one. */
const freshDirectory = () => Path.join(tempDirectory(), "sessions")

const filesOf = (directory: string) => Fs.readdirSync(directory).sort()

const sessionFile = (directory: string) => {
  const files = filesOf(directory).filter((file) => file.endsWith(".session"))
  assert.strictEqual(files.length, 1)
  return Path.join(directory, files[0]!)
}

const lockJson = (pid: number, time: number, ttl: number, owner = "someone-else") =>
  JSON.stringify({ pid, host: Os.hostname(), time, ttl, owner })

/** The pid of a process that has exited. */
const deadPid = (): number => {
  const child = ChildProcess.spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"])
  return Number(child.stdout.toString())
}

// The worker script, bundled once (the packages resolved from source).
let bundled: Promise<string> | undefined
const workerScript = () => {
  bundled ??= import("esbuild").then(async (esbuild) => {
    const outfile = Path.join(Os.tmpdir(), `kaltura-store-worker-${process.pid}.mjs`)
    await esbuild.build({
      entryPoints: [Path.join(here, "fixtures", "store-worker.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["source"],
      outfile,
      logLevel: "silent",
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
    })
    created.push(outfile)
    return outfile
  })
  return bundled
}

afterAll(() => {
  for (const path of created) Fs.rmSync(path, { recursive: true, force: true })
})

interface Worker {
  readonly child: ChildProcess.ChildProcess
  /** Resolves with the first line that contains `text`. */
  readonly waitFor: (text: string) => Promise<string>
  readonly exited: Promise<{ readonly code: number | null; readonly output: string }>
}

const spawnWorker = async (job: Record<string, unknown>): Promise<Worker> => {
  const script = await workerScript()
  const child = ChildProcess.spawn(process.execPath, [script, JSON.stringify(job)], {
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  const listeners = new Set<() => void>()
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8")
    for (const listener of listeners) listener()
  })
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8")
  })
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000)
  const exited = new Promise<{ readonly code: number | null; readonly output: string }>((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(killer)
      for (const listener of listeners) listener()
      resolve({ code, output })
    })
  )
  const waitFor = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = output.split("\n").find((l) => l.includes(text))
        if (line !== undefined) {
          listeners.delete(check)
          resolve(line)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check)
          reject(new Error(`worker exited before "${text}": ${output}`))
        }
      }
      listeners.add(check)
      check()
    })
  return { child, waitFor, exited }
}

const killed = (worker: Worker) =>
  Effect.promise(() => {
    worker.child.kill("SIGKILL")
    return worker.exited
  })

describe("FileSessionStore", () => {
  it.live("round trip, write-if-newer, deleteIfSame, lease and clear on real files", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const store = yield* FileSessionStore.make({ directory })
      const settings = settingsOf()
      const now = Date.now()
      assert.isTrue(Option.isNone(yield* store.read(settings)))
      const session = sessionOf(now, { clockOffset: 1234 })
      assert.isTrue(yield* store.write(settings, session))
      const read = Option.getOrThrow(yield* store.read(settings))
      assert.strictEqual(Redacted.value(read.ks), ksOf(0))
      assert.strictEqual(Redacted.value(read.widget!.ks), widgetKs)
      assert.strictEqual(read.expiry, session.expiry)
      assert.strictEqual(read.clockOffset, 1234)
      // ordered by the server's expiry
      assert.isFalse(yield* store.write(settings, { ...session, ks: Redacted.make(ksOf(1)) }))
      assert.isFalse(
        yield* store.write(settings, { ...session, expiry: session.expiry - 10, ks: Redacted.make(ksOf(1)) })
      )
      assert.isTrue(
        yield* store.write(settings, { ...session, expiry: session.expiry + 10, ks: Redacted.make(ksOf(2)) })
      )
      assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(settings)).ks), ksOf(2))
      // delete-if-same
      assert.isFalse(yield* store.deleteIfSame(settings, Redacted.make(ksOf(0))))
      assert.isTrue(yield* store.deleteIfSame(settings, Redacted.make(ksOf(2))))
      assert.isTrue(Option.isNone(yield* store.read(settings)))
      // the lease
      const lease = yield* store.lease(settings, "10 seconds")
      assert.isTrue(Option.isSome(lease))
      assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")))
      yield* Option.getOrThrow(lease).release
      const again = yield* store.lease(settings, "10 seconds")
      assert.isTrue(Option.isSome(again))
      // another store on the same directory (another process, as far as the files go) sees the entry and the lease
      yield* store.write(settings, session)
      const other = yield* FileSessionStore.make({ directory })
      assert.strictEqual(Redacted.value(Option.getOrThrow(yield* other.read(settings)).ks), ksOf(0))
      assert.isTrue(Option.isNone(yield* other.lease(settings, "10 seconds")))
      // clear
      yield* store.write(settingsOf({ userId: "another" }), sessionOf(now, { userId: "another" }))
      assert.strictEqual(yield* store.clear, 2)
      assert.deepStrictEqual(filesOf(directory), [])
      assert.isTrue(Option.isSome(yield* store.lease(settings, "10 seconds")))
      // clearAppToken: this token's entries and leases, another token's kept
      const otherToken = settingsOf({ appTokenId: "0_other", token: Redacted.make("e".repeat(32)) })
      yield* store.write(settings, session)
      yield* store.write(otherToken, session)
      assert.strictEqual(yield* store.clearAppToken(settings.appTokenId, settings.token), 1)
      assert.isTrue(Option.isNone(yield* store.read(settings)))
      assert.isTrue(Option.isSome(yield* store.lease(settings, "10 seconds")))
      assert.isTrue(Option.isSome(yield* store.read(otherToken)))
      for (const operation of ["read", "write", "delete", "lease", "release", "clear"]) {
        assert.strictEqual(yield* errorCount("file", operation), 0, operation)
      }
    }).pipe(quiet))

  it.live("the directory is 0700 (an existing one is narrowed), every file 0600", () =>
    Effect.gen(function*() {
      const mode = (path: string) => Fs.statSync(path).mode & 0o777
      const previous = process.umask(0o000) // the modes must not depend on the umask
      try {
        const directory = freshDirectory()
        const store = yield* FileSessionStore.make({ directory })
        assert.strictEqual(mode(directory), 0o700)
        yield* store.write(settingsOf(), sessionOf(Date.now()))
        yield* store.lease(settingsOf(), "10 seconds")
        const files = filesOf(directory)
        assert.deepStrictEqual(files.map((file) => file.split(".")[1]), ["lease", "session"])
        for (const file of files) assert.strictEqual(mode(Path.join(directory, file)), 0o600, file)

        const existing = tempDirectory()
        Fs.chmodSync(existing, 0o755)
        yield* FileSessionStore.make({ directory: existing })
        assert.strictEqual(mode(existing), 0o700)
      } finally {
        process.umask(previous)
      }
    }).pipe(quiet))

  it.live("no plaintext KS, token, hash, user or privileges in any file name or file of the directory", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const store = yield* FileSessionStore.make({ directory })
      const now = Date.now()
      const kss: Array<string> = []
      for (const [i, options] of [{}, { userId: "second-user" }, { sessionType: "USER" as const }].entries()) {
        kss.push(ksOf(`plain-${i}`))
        yield* store.write(settingsOf(options), sessionOf(now, { ks: Redacted.make(kss[i]!) }))
        yield* store.lease(settingsOf(options), "10 seconds")
      }
      const files = filesOf(directory)
      assert.strictEqual(files.length, 6)
      const secrets = [...secretsAtRest(kss), "second-user"]
      for (const file of files) {
        expect(file).toMatch(/^[0-9a-f]{64}\.(session|lease)$/)
        const bytes = Fs.readFileSync(Path.join(directory, file))
        for (const text of [bytes.toString("utf8"), bytes.toString("latin1")]) {
          for (const secret of secrets) {
            expect(text).not.toContain(secret)
            expect(file).not.toContain(secret)
            expect(text).not.toContain(Buffer.from(secret).toString("base64").slice(0, 20))
          }
        }
      }
    }).pipe(quiet))

  it.live("identities (user, type, privileges, token, partner, service URL) never see each other's KS", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const store = yield* FileSessionStore.make({ directory })
      const now = Date.now()
      const variants = [
        {},
        { userId: "other-user" },
        { sessionType: "USER" as const },
        { sessionPrivileges: "disableentitlement" },
        { token: Redacted.make("ffffffffffffffffffffffffffffffff") },
        { partnerId: 54321 },
        { serviceUrl: "https://other.kaltura.test" }
      ]
      for (const [i, options] of variants.entries()) {
        const settings = settingsOf(options)
        assert.isTrue(Option.isNone(yield* store.read(settings)), `variant ${i} before its write`)
        yield* store.write(
          settings,
          sessionOf(now, { ks: Redacted.make(ksOf(`id-${i}`)), partnerId: settings.partnerId })
        )
      }
      assert.strictEqual(filesOf(directory).length, variants.length)
      for (const [i, options] of variants.entries()) {
        assert.strictEqual(
          Redacted.value(Option.getOrThrow(yield* store.read(settingsOf(options))).ks),
          ksOf(`id-${i}`)
        )
      }
    }).pipe(quiet))

  it.live("corrupt, truncated, tampered or oversized files are misses, counted, and the next write replaces them", () =>
    Effect.gen(function*() {
      const corruptions: ReadonlyArray<readonly [string, (record: Buffer) => Buffer | string]> = [
        ["empty", () => ""],
        ["truncated", (r) => r.subarray(0, Math.floor(r.length / 2))],
        ["truncated by one byte", (r) => r.subarray(0, r.length - 1)],
        ["trailing bytes of an older, longer record", (r) => Buffer.concat([r, Buffer.from("\"}} trailing")])],
        ["zero bytes", (r) => Buffer.alloc(r.length)],
        ["a flipped ciphertext byte", (r) => {
          const record = JSON.parse(r.toString())
          const data = Buffer.from(record.data, "base64")
          data[3]! ^= 0xff
          return JSON.stringify({ ...record, data: data.toString("base64") })
        }],
        ["a forged later expiry", (r) => {
          const record = JSON.parse(r.toString())
          return JSON.stringify({ ...record, expiry: record.expiry + 100_000 })
        }],
        ["oversized", (r) => Buffer.concat([r, Buffer.alloc(70 * 1024, 32)])],
        ["binary garbage", () => Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256))]
      ]
      const now = Date.now()
      for (const [what, corrupt] of corruptions) {
        const directory = freshDirectory()
        const store = yield* FileSessionStore.make({ directory })
        const settings = settingsOf()
        const before = yield* errorCount("file", "read")
        yield* store.write(settings, sessionOf(now))
        const file = sessionFile(directory)
        Fs.writeFileSync(file, corrupt(Fs.readFileSync(file)))
        assert.isTrue(Option.isNone(yield* store.read(settings)), what)
        assert.strictEqual((yield* errorCount("file", "read")) - before, 1, what)
        // the same session again (an equal expiry): it replaces the bad file
        assert.isTrue(yield* store.write(settings, sessionOf(now)), what)
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(settings)).ks), ksOf(0), what)
        assert.strictEqual((yield* errorCount("file", "read")) - before, 1, what)
      }
    }).pipe(quiet))

  it.live("a wrong or rotated token is a miss, and is not an error", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const store = yield* FileSessionStore.make({ directory })
      yield* store.write(settingsOf(), sessionOf(Date.now()))
      const before = yield* errorCount("file", "read")
      assert.isTrue(
        Option.isNone(yield* store.read(settingsOf({ token: Redacted.make("00000000000000000000000000000000") })))
      )
      assert.strictEqual(yield* errorCount("file", "read"), before)
      assert.strictEqual(
        Redacted.value(Option.getOrThrow(yield* store.read(settingsOf({ token: Redacted.make(token) }))).ks),
        ksOf(0)
      )
    }).pipe(quiet))

  it.live("an unusable directory means no store: misses, a granted lease, one Warning, no error", () =>
    Effect.gen(function*() {
      const parent = tempDirectory()
      const file = Path.join(parent, "a-file")
      Fs.writeFileSync(file, "not a directory")
      for (const directory of [Path.join(file, "sessions"), file]) {
        const lines: Array<Line> = []
        const before = yield* errorCount("file", "open")
        const store = yield* capturing(lines)(FileSessionStore.make({ directory }))
        const settings = settingsOf()
        const results = yield* capturing(lines)(Effect.all([
          store.read(settings),
          store.write(settings, sessionOf(Date.now())),
          store.deleteIfSame(settings, Redacted.make(ksOf(0))),
          store.lease(settings, "1 second"),
          store.clear
        ]))
        assert.isTrue(Option.isNone(results[0]))
        assert.isFalse(results[1])
        assert.isFalse(results[2])
        assert.isTrue(Option.isSome(results[3]))
        assert.strictEqual(results[4], 0)
        const warnings = lines.filter((line) => line.level === "WARN")
        assert.strictEqual(warnings.length, 1, directory)
        expect(warnings[0]!.message).toContain("cannot be used")
        assert.strictEqual(warnings[0]!.annotations.store, "file")
        assert.strictEqual((yield* errorCount("file", "open")) - before, 1)
      }
      assert.strictEqual(Fs.readFileSync(file, "utf8"), "not a directory")
    }).pipe(quiet))

  it.live("a directory removed while running is created again by the next write", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const store = yield* FileSessionStore.make({ directory })
      yield* store.write(settingsOf(), sessionOf(Date.now()))
      Fs.rmSync(directory, { recursive: true })
      assert.isTrue(Option.isNone(yield* store.read(settingsOf())))
      assert.isTrue(yield* store.write(settingsOf(), sessionOf(Date.now())))
      assert.isTrue(Option.isSome(yield* store.read(settingsOf())))
      assert.strictEqual(Fs.statSync(directory).mode & 0o777, 0o700)
    }).pipe(quiet))

  it.live("stale locks are taken over (a dead pid, an old time, an unreadable file); a live one is respected", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const store = yield* FileSessionStore.make({ directory, timeout: "300 millis" })
      const settings = settingsOf()
      const now = Date.now()
      yield* store.write(settings, sessionOf(now))
      const name = Path.basename(sessionFile(directory), ".session")
      const lockFile = Path.join(directory, `${name}.lock`)
      const leaseFile = Path.join(directory, `${name}.lease`)
      const dead = deadPid()
      let expiry = sessionOf(now).expiry
      const write = () => store.write(settings, sessionOf(now, { expiry: ++expiry, ks: Redacted.make(ksOf(expiry)) }))

      // a live process's fresh write lock: the write waits, then gives up (a miss, counted)
      Fs.writeFileSync(lockFile, lockJson(process.ppid, Date.now(), 60_000))
      const before = yield* errorCount("file", "write")
      const started = Date.now()
      assert.isFalse(yield* write())
      expect(Date.now() - started).toBeLessThan(2000)
      assert.strictEqual((yield* errorCount("file", "write")) - before, 1)
      // the abandoned write gives up waiting for the lock by itself, a moment later
      yield* Effect.sleep("500 millis")
      // its lease is respected too
      Fs.writeFileSync(leaseFile, lockJson(process.ppid, Date.now(), 60_000))
      assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")))

      const stale: ReadonlyArray<readonly [string, (path: string) => void]> = [
        ["a dead pid", (path) => Fs.writeFileSync(path, lockJson(dead, Date.now(), 60_000))],
        ["older than its ttl", (path) => Fs.writeFileSync(path, lockJson(process.ppid, Date.now() - 3000, 2000))],
        [
          "this pid, an owner it does not know (a previous process)",
          (path) => Fs.writeFileSync(path, lockJson(process.pid, Date.now(), 60_000))
        ],
        ["unreadable and older than a second", (path) => {
          Fs.writeFileSync(path, "")
          const old = new Date(Date.now() - 5000)
          Fs.utimesSync(path, old, old)
        }]
      ]
      for (const [what, plant] of stale) {
        plant(lockFile)
        assert.isTrue(yield* write(), what)
        assert.isFalse(Fs.existsSync(lockFile), what)
        plant(leaseFile)
        const lease = yield* store.lease(settings, "10 seconds")
        assert.isTrue(Option.isSome(lease), `lease: ${what}`)
        assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")), `lease: ${what}`)
        yield* Option.getOrThrow(lease).release
        assert.isFalse(Fs.existsSync(leaseFile), what)
      }
      // an unreadable lock file that is being written (younger than a second) is respected
      Fs.writeFileSync(lockFile, "")
      assert.isFalse(yield* write())
      Fs.unlinkSync(lockFile)
      expect(filesOf(directory).filter((file) => !file.endsWith(".session"))).toEqual([])
    }).pipe(quiet))

  it.live(
    "a lease held by another process: busy while it lives, taken over at once when it is killed",
    () =>
      Effect.gen(function*() {
        const directory = freshDirectory()
        const store = yield* FileSessionStore.make({ directory })
        const settings = settingsOf()
        const holder = yield* Effect.promise(() => spawnWorker({ mode: "lease", directory, ttl: 60_000 }))
        assert.strictEqual(yield* Effect.promise(() => holder.waitFor("held")), "held")
        assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")))
        const second = yield* Effect.promise(() => spawnWorker({ mode: "lease", directory, ttl: 60_000 }))
        assert.strictEqual(yield* Effect.promise(() => second.waitFor("busy")), "busy")
        yield* killed(second)
        yield* killed(holder)
        assert.isTrue(Option.isSome(yield* store.lease(settings, "10 seconds")))
      }).pipe(quiet),
    30_000
  )

  it.live(
    "concurrent writers (4 processes, 30 fibers): the newest expiry wins; no error, no miss, no torn read",
    () => {
      const lines: Array<Line> = []
      return Effect.gen(function*() {
        const directory = freshDirectory()
        // generous timeouts: this is about order under contention, not speed (CI machines are slow and shared)
        const store = yield* FileSessionStore.make({ directory, timeout: "30 seconds" })
        const settings = settingsOf()
        const now = Date.now()
        const base = Math.floor(now / 1000) + 3600
        const before = yield* Effect.all(["read", "write"].map((operation) => errorCount("file", operation)))
        // a first entry, so that no reader can legitimately miss
        yield* store.write(settings, sessionOf(now, { expiry: base, ks: Redacted.make(ksOf(base)) }))
        const workers = yield* Effect.promise(() =>
          Promise.all([1, 2, 3, 4].map((seed) => spawnWorker({ mode: "writes", directory, count: 60, seed, base })))
        )
        let fiberMax = 0
        let fiberMisses = 0
        let fiberWrong = 0
        let fiberRegressions = 0
        yield* Effect.forEach(Array.from({ length: 30 }, (_, i) => i), (i) =>
          Effect.gen(function*() {
            let lastRead = 0
            for (let j = 0; j < 8; j++) {
              const expiry = base + 1 + ((i * 7919 + j * 104729) % 100_000)
              fiberMax = Math.max(fiberMax, expiry)
              yield* store.write(settings, sessionOf(now, { expiry, ks: Redacted.make(ksOf(expiry)) }))
              const read = yield* store.read(settings)
              if (Option.isNone(read)) fiberMisses++
              else {
                if (Redacted.value(read.value.ks) !== ksOf(read.value.expiry)) fiberWrong++
                if (read.value.expiry < lastRead) fiberRegressions++
                lastRead = Math.max(lastRead, read.value.expiry)
              }
            }
          }), { concurrency: "unbounded" })
        const results = yield* Effect.promise(() => Promise.all(workers.map((worker) => worker.exited)))
        const figures = results.map(({ code, output }) => {
          assert.strictEqual(code, 0, output)
          return JSON.parse(output.trim().split("\n").pop()!) as {
            maxWritten: number
            maxAttempted: number
            written: number
            misses: number
            wrongKs: number
            regressions: number
            errors: number
          }
        })
        const newest = Math.max(fiberMax, ...figures.map((f) => f.maxAttempted))
        const stored = Option.getOrThrow(yield* store.read(settings))
        assert.strictEqual(stored.expiry, newest)
        assert.strictEqual(Redacted.value(stored.ks), ksOf(newest))
        for (const f of figures) {
          assert.strictEqual(f.errors, 0)
          assert.strictEqual(f.misses, 0)
          assert.strictEqual(f.wrongKs, 0)
          assert.strictEqual(f.regressions, 0)
        }
        assert.strictEqual(fiberMisses, 0)
        assert.strictEqual(fiberWrong, 0)
        assert.strictEqual(fiberRegressions, 0)
        const after = yield* Effect.all(["read", "write"].map((operation) => errorCount("file", operation)))
        assert.deepStrictEqual(after, before, lines.map((line) => line.message).join("\n"))
        // nothing left behind: no lock, no temporary file
        expect(filesOf(directory)).toEqual([Path.basename(sessionFile(directory))])
      }).pipe(capturing(lines))
    },
    120_000
  )

  it.live(
    "kill -9 mid-write never leaves a corrupt entry; the dead writer's lock is taken over at once",
    () =>
      Effect.gen(function*() {
        const directory = freshDirectory()
        const store = yield* FileSessionStore.make({ directory, timeout: "5 seconds" })
        const settings = settingsOf()
        const before = yield* errorCount("file", "read")
        let previous = 0
        const rounds = 12
        for (let round = 0; round < rounds; round++) {
          const worker = yield* Effect.promise(() => spawnWorker({ mode: "loop", directory }))
          yield* Effect.promise(() => worker.waitFor("ready"))
          yield* Effect.sleep(10 + Math.floor(Math.random() * 100))
          yield* killed(worker)
          const read = yield* store.read(settings)
          assert.isTrue(Option.isSome(read), `round ${round}: a read after the kill`)
          const session = Option.getOrThrow(read)
          assert.strictEqual(Redacted.value(session.ks), ksOf(session.expiry))
          assert.isAtLeast(session.expiry, previous)
          previous = session.expiry
          // every record file is whole JSON
          JSON.parse(Fs.readFileSync(sessionFile(directory), "utf8"))
          // a write now is not held up by a lock the dead writer left
          const started = Date.now()
          assert.isTrue(
            yield* store.write(settings, {
              ...session,
              expiry: session.expiry + 1,
              ks: Redacted.make(ksOf(session.expiry + 1))
            }),
            `round ${round}: a write after the kill`
          )
          expect(Date.now() - started).toBeLessThan(1000)
        }
        assert.strictEqual(yield* errorCount("file", "read"), before)
        const leftovers = filesOf(directory).filter((file) => !file.endsWith(".session"))
        // a writer killed mid-write leaves its temporary file, its lock or a lock it was taking over: nothing else
        expect(leftovers.filter((file) => !/\.(tmp|lock|stale)$/.test(file))).toEqual([])
        yield* store.clear
        assert.deepStrictEqual(filesOf(directory), [])
      }).pipe(quiet),
    120_000
  )

  it.effect("defaultDirectory is an absolute per-user cache directory", () =>
    Effect.sync(() => {
      const directory = FileSessionStore.defaultDirectory()
      assert.isTrue(Path.isAbsolute(directory))
      expect(directory).toContain("kaltura-effect")
    }).pipe(quiet))

  it.live("a store made through SessionStore.make on the raw backend behaves the same", () =>
    Effect.gen(function*() {
      const directory = freshDirectory()
      const backend = yield* FileSessionStore.makeBackend({ directory })
      assert.strictEqual(backend.store, "file")
      const store = yield* SessionStore.make(backend)
      assert.isTrue(yield* store.write(settingsOf(), sessionOf(Date.now())))
      assert.isTrue(Option.isSome(yield* store.read(settingsOf())))
    }).pipe(quiet))
})
