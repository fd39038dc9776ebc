/**
 * Part 9, the session store (issue 13, store level): Redis stopped and restarted during a soak, tampered and
 * truncated entries in files and in Redis, what is at rest (no plaintext; identities never see each other's KS),
 * and writers killed with `kill -9` mid-write. A store never fails a caller: every operation ends, in time, with a
 * session, a miss, `false` or a lease.
 */
import { afterAll, assert, describe, it } from "@effect/vitest"
import { KalturaConfig, SessionStore } from "@kaltura-effect/core"
import { FileSessionStore } from "@kaltura-effect/node"
import { RedisSessionStore } from "@kaltura-effect/redis"
import { Results } from "@kaltura-effect/reliability"
import { RedisServer } from "@kaltura-effect/testing"
import { Effect, Exit, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import * as ChildProcess from "node:child_process"
import * as Crypto from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Capture from "./utils/capture.js"
import { increase, storeErrors } from "./utils/children.js"
import * as Secrets from "./utils/secrets.js"
import { classify, prng, tally } from "./utils/support.js"
import { tamperings } from "./utils/tamperings.js"

const here = Path.dirname(fileURLToPath(import.meta.url))

const TOKEN = "5e1f0c3a9b7d42e6a8c1f0e2d4b6a8c0"
const WIDGET_KS = `djJ8MTIzNDV8${Buffer.from("reliability-store-widget-ks-padding-padding").toString("base64")}`
const USER = "reliability-user@example.com"
const PRIVILEGE = "list:reliability-secret-privilege"

const settingsOf = (options?: Partial<KalturaConfig.Options>) =>
  Effect.runSync(KalturaConfig.make({
    serviceUrl: "https://kaltura.test",
    partnerId: 12345,
    appTokenId: "0_reliable",
    token: Redacted.make(TOKEN),
    userId: USER,
    sessionType: "ADMIN",
    sessionPrivileges: PRIVILEGE,
    ...options
  }))

const ksOf = (label: string | number) =>
  `djJ8MTIzNDV8${Buffer.from(`reliability-store-ks-${label}-padding-padding`).toString("base64")}`

const sessionOf = (
  expiry: number,
  ks: string,
  partnerId = 12345
): SessionStore.StoredSession => ({
  ks: Redacted.make(ks),
  partnerId,
  userId: USER,
  sessionType: 2,
  privileges: PRIVILEGE,
  expiry,
  clockOffset: 0,
  obtainedAt: Date.now(),
  widget: { ks: Redacted.make(WIDGET_KS), expiry: 86400, obtainedAt: Date.now(), validUntil: Date.now() + 86_000_000 }
})

const scannerWith = (kss: Iterable<string>) => {
  const scanner = new Secrets.Scanner()
  scanner.add("app token", TOKEN)
  scanner.add("KS", WIDGET_KS)
  for (const ks of kss) scanner.add("KS", ks)
  const hash = Crypto.createHash("sha256").update(WIDGET_KS + TOKEN).digest("hex")
  scanner.add("token hash", hash)
  return scanner
}

/** Plaintext that is not secret by length, but must not be at rest either. */
const identifying = [USER, PRIVILEGE, "0_reliable", "kaltura.test"]

const created: Array<string> = []
const tempDirectory = () => {
  const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-reliability-store-"))
  created.push(directory)
  return directory
}
afterAll(() => {
  for (const path of created) Fs.rmSync(path, { recursive: true, force: true })
})

describe("part 9: the session store", () => {
  it.live("Redis stopped and restarted during a soak: every operation ends in time, no caller fails", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const watch = Capture.watchProcess()
      const server = yield* RedisServer.make()
      const TIMEOUT = 250
      const SLOW = TIMEOUT + 500
      const SOAK = 8_000
      const DOWN_AT = 2_500
      const UP_AT = 5_000
      const WORKERS = 12
      const before = yield* storeErrors("redis")
      const created = yield* RedisSessionStore.make({ url: server.url }, { timeout: `${TIMEOUT} millis` })
      const own = yield* Effect.acquireRelease(
        Effect.sync(() => {
          const client = new Redis(server.url) // a user's client with ioredis's defaults (offline queue on)
          client.on("error", () => undefined)
          return client
        }),
        (client) => Effect.sync(() => client.disconnect())
      )
      const users = yield* RedisSessionStore.make({ client: own }, { timeout: `${TIMEOUT} millis` })
      const identities = [settingsOf(), settingsOf({ userId: "second-user" }), settingsOf({ sessionType: "USER" })]
      const ownerOf = new Map<string, number>()
      const kss: Array<string> = []
      let nextExpiry = Math.floor(Date.now() / 1000) + 3_600
      const phases = tally()
      const outcomes = tally()
      let failures = 0
      let slow = 0
      let slowest = 0
      let wrongKs = 0
      let operations = 0
      let recoveredAt: number | undefined
      const t0 = performance.now()
      const phase = () => {
        const t = performance.now() - t0
        return t < DOWN_AT ? "up" : t < UP_AT ? "down" : "back"
      }
      const timed = <A>(name: string, effect: Effect.Effect<A>) =>
        Effect.gen(function*() {
          const at = performance.now()
          const exit = yield* Effect.exit(effect)
          const took = performance.now() - at
          operations++
          slowest = Math.max(slowest, took)
          if (took > SLOW) slow++
          const outcome = classify(exit)
          if (outcome._tag !== "Success") failures++
          outcomes.add(`${phase()} ${name} ${outcome._tag === "Success" ? "ok" : outcome._tag}`)
          return exit
        })

      const worker = (w: number) =>
        Effect.gen(function*() {
          const random = prng(20_130 + w)
          const store = w % 2 === 0 ? created : users
          while (performance.now() - t0 < SOAK) {
            const i = random.int(0, identities.length - 1)
            const settings = identities[i]!
            const expiry = ++nextExpiry
            const ks = ksOf(expiry)
            ownerOf.set(ks, i)
            kss.push(ks)
            const wrote = yield* timed("write", store.write(settings, sessionOf(expiry, ks)))
            const read = yield* timed("read", store.read(settings))
            if (Exit.isSuccess(read) && Option.isSome(read.value)) {
              const found = read.value.value
              const owner = ownerOf.get(Redacted.value(found.ks))
              if (owner !== i || found.expiry * 1000 - found.clockOffset <= Date.now()) wrongKs++
              if (phase() === "back" && recoveredAt === undefined && Exit.isSuccess(wrote) && wrote.value) {
                recoveredAt = performance.now() - t0 - UP_AT
              }
            }
            phases.add(`${phase()} reads ${Exit.isSuccess(read) && Option.isSome(read.value) ? "hit" : "miss"}`)
            const lease = yield* timed("lease", store.lease(settings, "2 seconds"))
            if (Exit.isSuccess(lease) && Option.isSome(lease.value)) yield* timed("release", lease.value.value.release)
            if (random.chance(0.1)) yield* timed("deleteIfSame", store.deleteIfSame(settings, Redacted.make(ks)))
            yield* Effect.sleep(`${random.int(1, 10)} millis`)
          }
        })

      const outage = Effect.gen(function*() {
        yield* Effect.sleep(`${DOWN_AT} millis`)
        yield* server.stop
        yield* Effect.sleep(`${UP_AT - DOWN_AT} millis`)
        yield* server.start
      })
      yield* Effect.all([outage, ...Array.from({ length: WORKERS }, (_, w) => worker(w))], {
        concurrency: "unbounded",
        discard: true
      })
      watch.stop()
      const errors = increase(yield* storeErrors("redis"), before)
      const scanner = scannerWith(kss)
      scanner.scanAll(capture.texts())
      const warnings = capture.logLevels.get("WARN") ?? 0

      Results.record({
        id: "9-store-redis-outage",
        part: 9,
        title: "Redis stopped and restarted during a soak",
        description: `Live time, a real \`redis-server\` on loopback. ${WORKERS} workers (half on a client the store ` +
          "creates from a URL, half on a user's ioredis client with its defaults, offline queue on) write, read, " +
          `lease and release, and now and then deleteIfSame, on 3 identities for ${SOAK / 1000} s, with a ` +
          `${TIMEOUT} ms store timeout. Redis is killed (SIGKILL) at ${DOWN_AT / 1000} s and started again, empty, ` +
          `at ${UP_AT / 1000} s. Every operation must end (a miss, \`false\`, a lease) within the timeout plus 500 ms.`,
        figures: {
          "store operations": operations,
          "outcomes by phase": outcomes.counts,
          "reads by phase": phases.counts,
          "failures or defects reaching a caller": failures,
          [`operations slower than ${SLOW} ms`]: slow,
          "slowest operation, ms": Math.round(slowest),
          "a KS of another identity, or past its deadline, read": wrongKs,
          "store working again after the restart (a write and a read), ms": recoveredAt === undefined
            ? "never"
            : Math.round(recoveredAt),
          "store errors counted, by operation": errors,
          "Warning lines": warnings,
          "unhandled rejections / uncaught exceptions": watch.counts.unhandledRejections +
            watch.counts.uncaughtExceptions,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "failures or defects reaching a caller",
          `operations slower than ${SLOW} ms`,
          "a KS of another identity, or past its deadline, read",
          "unhandled rejections / uncaught exceptions",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })

      assert.strictEqual(failures, 0)
      assert.strictEqual(slow, 0, `slowest ${slowest} ms`)
      assert.strictEqual(wrongKs, 0)
      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
      assert.strictEqual(watch.counts.unhandledRejections + watch.counts.uncaughtExceptions, 0)
      // the outage was real (misses while down), and the store came back
      assert.isAbove(phases.counts["down reads miss"] ?? 0, 0)
      assert.isAbove(phases.counts["up reads hit"] ?? 0, 0)
      assert.isDefined(recoveredAt)
      assert.isAbove(phases.counts["back reads hit"] ?? 0, 0)
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })

  it.live("tampered, truncated and foreign entries, in files and in Redis: never served, replaced by the next write", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const server = yield* RedisServer.make()
      const raw = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url)),
        (client) => Effect.sync(() => client.disconnect())
      )
      const directory = tempDirectory()
      const sessionFile = () =>
        Path.join(directory, Fs.readdirSync(directory).find((name) => name.endsWith(".session"))!)
      const stores = {
        file: yield* FileSessionStore.make({ directory }),
        redis: yield* RedisSessionStore.make({ url: server.url })
      } as const
      const settings = settingsOf()
      const expiry = Math.floor(Date.now() / 1000) + 3_600
      const ks = ksOf("tamper")
      let served = 0
      let notReplaced = 0
      let defects = 0
      const before = { file: yield* storeErrors("file"), redis: yield* storeErrors("redis") }
      for (const [, tamper] of tamperings) {
        for (const kind of ["file", "redis"] as const) {
          const store = stores[kind]
          yield* store.clear
          yield* store.write(settings, sessionOf(expiry, ks))
          if (kind === "file") {
            Fs.writeFileSync(sessionFile(), tamper(Fs.readFileSync(sessionFile(), "utf8")))
          } else {
            const [key] = yield* Effect.promise(() => raw.keys("kaltura-effect:session:*"))
            const value = (yield* Effect.promise(() => raw.get(key!)))!
            yield* Effect.promise(() => raw.set(key!, tamper(value)))
          }
          const read = yield* Effect.exit(store.read(settings))
          if (Exit.isFailure(read)) defects++
          else if (Option.isSome(read.value)) served++
          const written = yield* Effect.exit(store.write(settings, sessionOf(expiry, ks)))
          const again = yield* Effect.exit(store.read(settings))
          if (Exit.isFailure(written) || Exit.isFailure(again)) defects++
          else if (!written.value || Option.isNone(again.value)) notReplaced++
          if (Exit.isSuccess(again) && Option.isSome(again.value) && Redacted.value(again.value.value.ks) !== ks) {
            served++
          }
        }
      }
      const errors = {
        file: increase(yield* storeErrors("file"), before.file),
        redis: increase(yield* storeErrors("redis"), before.redis)
      }
      const scanner = scannerWith([ks])
      scanner.scanAll(capture.texts())
      Results.record({
        id: "9-store-tampering",
        part: 9,
        title: `${tamperings.length} tampered, truncated or foreign entries, in files and in Redis`,
        description: "A valid entry is written, then changed on disk or in Redis (" +
          tamperings.map(([what]) => what).join(", ") +
          "); the store reads it, then writes the same session again (an equal expiry, so only a store that " +
          "recognises the bad entry replaces it) and reads once more.",
        figures: {
          "cases (tamperings × stores)": tamperings.length * 2,
          "tampered entries served": served,
          "bad entries not replaced by the next write": notReplaced,
          defects,
          "store errors counted (file), by operation": errors.file,
          "store errors counted (redis), by operation": errors.redis,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "tampered entries served",
          "bad entries not replaced by the next write",
          "defects",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(served, 0)
      assert.strictEqual(notReplaced, 0)
      assert.strictEqual(defects, 0)
      assert.strictEqual(errors.file.read, tamperings.length)
      assert.strictEqual(errors.redis.read, tamperings.length)
      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })

  it.live("at rest: no plaintext in any file or Redis value; identities never see each other's KS", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const server = yield* RedisServer.make()
      const raw = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url)),
        (client) => Effect.sync(() => client.disconnect())
      )
      const directory = tempDirectory()
      const stores = [
        ["file", yield* FileSessionStore.make({ directory })],
        ["redis", yield* RedisSessionStore.make({ url: server.url })],
        ["memory", yield* SessionStore.makeMemory]
      ] as const
      const variants: ReadonlyArray<readonly [string, Partial<KalturaConfig.Options>]> = [
        ["base", {}],
        ["user", { userId: "another-user" }],
        ["no user", { userId: undefined }],
        ["type", { sessionType: "USER" }],
        ["privileges", { sessionPrivileges: "disableentitlement" }],
        ["token", { token: Redacted.make("ffeeddccbbaa99887766554433221100") }],
        ["partner", { partnerId: 67890 }],
        ["service URL", { serviceUrl: "https://other.kaltura.test" }],
        ["widget", { widgetId: "_42" }],
        ["app token id", { appTokenId: "0_another" }],
        ["requested expiry", { expiry: 7200 }]
      ]
      const expiry = Math.floor(Date.now() / 1000) + 3_600
      let crossReads = 0
      let ownMissing = 0
      const kss: Array<string> = []
      for (const [, store] of stores) {
        for (const [name, options] of variants) {
          const settings = settingsOf(options)
          const ks = ksOf(`at-rest-${name}`)
          kss.push(ks)
          yield* store.write(settings, sessionOf(expiry, ks, settings.partnerId))
          yield* store.lease(settings, "30 seconds")
        }
        for (const [name, options] of variants) {
          const read = yield* store.read(settingsOf(options))
          if (Option.isNone(read)) ownMissing++
          else if (Redacted.value(read.value.ks) !== ksOf(`at-rest-${name}`)) crossReads++
        }
      }
      // what is at rest: every file of the directory, every Redis key and value
      const atRest: Array<readonly [string, string]> = []
      for (const file of Fs.readdirSync(directory)) {
        atRest.push([`file name ${file}`, file])
        atRest.push([`file ${file}`, Fs.readFileSync(Path.join(directory, file)).toString("latin1")])
      }
      for (const key of yield* Effect.promise(() => raw.keys("*"))) {
        atRest.push([`redis key ${key}`, key])
        atRest.push([`redis value ${key}`, (yield* Effect.promise(() => raw.get(key))) ?? ""])
      }
      const scanner = scannerWith(kss)
      scanner.scanAll(atRest)
      scanner.scanAll(capture.texts())
      let plaintext = 0
      for (const [, text] of atRest) {
        for (const word of [...identifying, "another-user", "disableentitlement"]) if (text.includes(word)) plaintext++
      }
      Results.record({
        id: "9-store-at-rest",
        part: 9,
        title: `What is at rest, and ${variants.length} identities in the file, Redis and memory stores`,
        description: "One entry and one lease per identity (base, and one differing in: " +
          variants.slice(1).map(([name]) => name).join(", ") +
          "); each identity reads back its own KS. Every file of the cache directory and every Redis key and value " +
          "is scanned for the KSs, the widget KS, the app token and the token hash, and for the user id, " +
          "privileges, App Token id and host in clear.",
        figures: {
          "files and Redis keys scanned": atRest.length / 2,
          "another identity's KS read": crossReads,
          "own entry missing": ownMissing,
          "KS, token or hash at rest, or in logs and spans": scanner.findings.length,
          "user id, privileges, App Token id or host at rest": plaintext
        },
        mustBeZero: [
          "another identity's KS read",
          "own entry missing",
          "KS, token or hash at rest, or in logs and spans",
          "user id, privileges, App Token id or host at rest"
        ],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(crossReads, 0)
      assert.strictEqual(ownMissing, 0)
      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
      assert.strictEqual(plaintext, 0)
      assert.strictEqual(atRest.length / 2, variants.length * 4)
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })

  it.live("file store: writers killed with kill -9 mid-write never leave a corrupt entry", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const ROUNDS = 20
      const esbuild = yield* Effect.promise(() => import("esbuild"))
      const outfile = Path.join(Os.tmpdir(), `kaltura-store-writer-${process.pid}.mjs`)
      created.push(outfile)
      yield* Effect.promise(() =>
        esbuild.build({
          entryPoints: [Path.join(here, "fixtures", "store-writer.ts")],
          bundle: true,
          platform: "node",
          format: "esm",
          target: "node20",
          conditions: ["source"],
          external: ["ioredis"],
          outfile,
          logLevel: "silent",
          banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
        })
      )
      const directory = tempDirectory()
      const settings = Effect.runSync(KalturaConfig.make({
        serviceUrl: "https://kaltura.test",
        partnerId: 12345,
        appTokenId: "0_reliable",
        token: Redacted.make("0123456789abcdef0123456789abcdef")
      }))
      const store = yield* FileSessionStore.make({ directory, timeout: "5 seconds" })
      const ks = (expiry: number) =>
        `djJ8MTIzNDV8${Buffer.from(`reliability-store-ks-${expiry}-padding-padding`).toString("base64")}`
      const before = yield* storeErrors("file")
      let base = Math.floor(Date.now() / 1000) + 3_600
      let corrupt = 0
      let backwards = 0
      let heldUp = 0
      let midWrite = 0
      let previous = 0
      const random = prng(9_013)
      for (let round = 0; round < ROUNDS; round++) {
        const child = ChildProcess.spawn(process.execPath, [outfile, directory, String(base)], {
          stdio: ["ignore", "pipe", "pipe"]
        })
        yield* Effect.async<void>((resume) => {
          let output = ""
          const killer = setTimeout(() => child.kill("SIGKILL"), 30_000)
          child.stdout.on("data", (chunk: Buffer) => {
            output += chunk.toString()
            if (output.includes("ready")) {
              clearTimeout(killer)
              resume(Effect.void)
            }
          })
          child.on("exit", () => {
            clearTimeout(killer)
            resume(Effect.void)
          })
        })
        yield* Effect.sleep(`${random.int(5, 120)} millis`)
        yield* Effect.async<void>((resume) => {
          if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
          child.once("exit", () => resume(Effect.void))
          child.kill("SIGKILL")
        })
        const temporary = Fs.readdirSync(directory).filter((file) => file.endsWith(".tmp"))
        if (temporary.length > 0) midWrite++
        for (const file of temporary) Fs.unlinkSync(Path.join(directory, file))
        const read = yield* store.read(settings)
        if (Option.isNone(read) || Redacted.value(read.value.ks) !== ks(read.value.expiry)) corrupt++
        else {
          if (read.value.expiry < previous) backwards++
          previous = read.value.expiry
        }
        const at = performance.now()
        const next = previous + 1_000
        const written = yield* store.write(settings, {
          ks: Redacted.make(ks(next)),
          partnerId: 12345,
          userId: "",
          sessionType: 2,
          privileges: "",
          expiry: next,
          clockOffset: 0,
          obtainedAt: Date.now(),
          widget: undefined
        })
        if (!written || performance.now() - at > 1_000) heldUp++
        previous = next
        base = next + 1
      }
      const errors = increase(yield* storeErrors("file"), before)
      const scanner = scannerWith([])
      scanner.scanAll(capture.texts())
      Results.record({
        id: "9-store-file-kill",
        part: 9,
        title: `File store: ${ROUNDS} writers killed with kill -9 mid-write`,
        description: "A child process writes entries of increasing expiry to the file store as fast as it can (a " +
          "temporary file, fsync, rename, under the entry's lock) and is killed with SIGKILL after 5 to 120 ms; " +
          "the test process then reads the entry and writes a newer one at once.",
        figures: {
          rounds: ROUNDS,
          "rounds killed mid-write (a temporary file left)": midWrite,
          "corrupt, torn or missing entries after a kill": corrupt,
          "reads that went backwards": backwards,
          "writes held up by the dead writer's lock (> 1 s) or refused": heldUp,
          "store errors counted, by operation": errors,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "corrupt, torn or missing entries after a kill",
          "reads that went backwards",
          "writes held up by the dead writer's lock (> 1 s) or refused",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(corrupt, 0)
      assert.strictEqual(backwards, 0)
      assert.strictEqual(heldUp, 0)
      assert.deepStrictEqual(errors, {})
      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
    }).pipe(Effect.provide(capture.layer))
  })
})
