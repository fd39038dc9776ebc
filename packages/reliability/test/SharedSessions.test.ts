/**
 * Part 10, shared sessions (issue 13, through the lifecycle and the shipped CLI; part 9 tested the stores alone):
 * the lease holder killed with SIGKILL mid-refresh, a 50-process herd on an empty store (Redis and files), Redis
 * stopped and restarted during a soak of `NodeAppToken` sessions on `RedisSessionStore`, and tampered or truncated
 * cache files between CLI runs. The store never costs a caller its KS, and never serves a KS it should not.
 */
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { RedisSessionStore } from "@kaltura-effect/redis"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura, FakeKalturaFault, RedisServer } from "@kaltura-effect/testing"
import { Context, Effect, Exit, Layer, Option, Redacted } from "effect"
import { Redis } from "ioredis"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Capture from "./utils/capture.js"
import { bundleFixture, increase, storeErrors } from "./utils/children.js"
import * as Secrets from "./utils/secrets.js"
import { classify, optionsFor, tally } from "./utils/support.js"
import { tamperings } from "./utils/tamperings.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
const repoRoot = Path.resolve(here, "..", "..", "..")
/** The CLI's shipped bin (the bundle in packages/cli/dist), as its package.json names it. */
const cliBin = Path.join(
  repoRoot,
  "packages",
  "cli",
  JSON.parse(Fs.readFileSync(Path.join(repoRoot, "packages", "cli", "package.json"), "utf8")).bin["kaltura-apptoken"]
)

const created: Array<string> = []
/** The bundled child script of the SIGKILL test, in a directory of `created`. */
let bundled: string | undefined
const tempDirectory = () => {
  const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-reliability-shared-"))
  created.push(directory)
  return directory
}
const removeCreated = Effect.sync(() => {
  for (const path of created.splice(0)) Fs.rmSync(path, { recursive: true, force: true })
  bundled = undefined
})

interface Line {
  readonly text: string
  /** `Date.now()` when this process read the line. */
  readonly at: number
}

interface Run {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly lines: ReadonlyArray<Line>
  readonly stderr: string
  readonly startedAt: number
}

interface Child {
  readonly process: ChildProcess.ChildProcess
  readonly lines: Array<Line>
  readonly done: Promise<Run>
}

/** Spawns `node args` with only `PATH` and `env`; killed with SIGKILL after `timeout` ms. */
const spawn = (args: ReadonlyArray<string>, env: Record<string, string>, timeout = 120_000): Child => {
  const startedAt = Date.now()
  const child = ChildProcess.spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const lines: Array<Line> = []
  let partial = ""
  let stderr = ""
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const at = Date.now()
    partial += chunk
    let newline: number
    while ((newline = partial.indexOf("\n")) !== -1) {
      lines.push({ text: partial.slice(0, newline), at })
      partial = partial.slice(newline + 1)
    }
  })
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const timer = setTimeout(() => child.kill("SIGKILL"), timeout)
  const done = new Promise<Run>((resolve) => {
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (partial !== "") lines.push({ text: partial, at: Date.now() })
      resolve({ code, signal, lines, stderr, startedAt })
    })
  })
  return { process: child, lines, done }
}

const runCli = (args: ReadonlyArray<string>, env: Record<string, string>, timeout?: number) =>
  Effect.promise(() => spawn([cliBin, ...args], env, timeout).done)

/** Waits until `condition` holds, polling every 20 ms; fails the test after `timeout` ms. */
const waitUntil = (what: string, condition: Effect.Effect<boolean>, timeout = 60_000) =>
  Effect.gen(function*() {
    const until = Date.now() + timeout
    while (!(yield* condition)) {
      if (Date.now() > until) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

/** What the CLI's `session --json` prints. */
interface Printed {
  readonly ks: string
  readonly partnerId: number
  readonly userId: string
  readonly expiresAt: string
  readonly source: "kaltura" | "cache"
}

const parsePrinted = (run: Run): Printed | undefined => {
  if (run.code !== 0 || run.lines.length !== 1) return undefined
  try {
    const printed = JSON.parse(run.lines[0]!.text) as Printed
    return typeof printed.ks === "string" && printed.ks.startsWith("djJ8") ? printed : undefined
  } catch {
    return undefined
  }
}

const cliEnv = (fake: FakeKaltura.Service, token: FakeKaltura.AppToken, extra: Record<string, string>) => ({
  KALTURA_SERVICE_URL: fake.url,
  KALTURA_PARTNER_ID: String(token.partnerId),
  KALTURA_APP_TOKEN_ID: token.id,
  KALTURA_APP_TOKEN: token.token,
  ...extra
})

/** Who each KS the fake minted with `appToken.startSession` was minted for: `<app token id>/<user id>`. */
const mintedFor = (log: ReadonlyArray<FakeKaltura.RequestLogEntry>): Map<string, string> => {
  const owners = new Map<string, string>()
  for (const entry of log) {
    if (entry.service !== "apptoken" || entry.action !== "startsession" || entry.responseBody === undefined) continue
    const ks = /"ks"\s*:\s*"([^"]+)"/.exec(entry.responseBody)?.[1]
    const params = entry.params as Record<string, unknown>
    if (ks !== undefined) owners.set(ks, `${String(params.id)}/${String(params.userId ?? "")}`)
  }
  return owners
}

const countOf = (log: ReadonlyArray<FakeKaltura.RequestLogEntry>, service: string, action: string) =>
  log.filter((entry) => entry.service === service && entry.action === action && entry.fault === undefined).length

/** Every file under `dir` (name and bytes) and every Redis key and value: what is at rest. */
const atRest = (dir: string | undefined, redisUrl: string | undefined) =>
  Effect.gen(function*() {
    const found: Array<readonly [string, string]> = []
    if (dir !== undefined) {
      for (const entry of Fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue
        const file = Path.join(entry.parentPath, entry.name)
        found.push([`file name ${entry.name}`, file])
        found.push([`file ${entry.name}`, Fs.readFileSync(file).toString("latin1")])
      }
    }
    if (redisUrl !== undefined) {
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(redisUrl)),
        (client) => Effect.sync(() => client.disconnect())
      )
      for (const key of yield* Effect.promise(() => client.keys("*"))) {
        found.push([`redis key ${key}`, key])
        const value = yield* Effect.promise(() => client.get(key).catch(() => ""))
        found.push([`redis value ${key}`, value ?? ""])
      }
    }
    return found
  }).pipe(Effect.scoped)

/** The child script of the SIGKILL test, bundled once (ioredis included, so it runs from a temporary directory). */
const sharedSessionScript = Effect.gen(function*() {
  if (bundled !== undefined) return bundled
  bundled = yield* bundleFixture("shared-session", Path.join(tempDirectory(), "shared-session.mjs"))
  return bundled
})

describe("part 10: shared sessions through the lifecycle and the CLI", () => {
  it.live("the lease holder killed with SIGKILL mid-refresh: the others get a KS within the lease plus one acquisition", () =>
    Effect.gen(function*() {
      const started = performance.now()
      const script = yield* sharedSessionScript
      const redis = yield* RedisServer.make()
      const LEASE = 10_000
      /** One acquisition on loopback, with room for a loaded 2-core machine starting the processes. */
      const ACQUISITION = 6_000
      const WAITERS = 6
      const stores = [["redis", redis.url], ["file", Path.join(tempDirectory(), "sessions")]] as const
      let failed = 0
      let late = 0
      let invalid = 0
      let holdersNotKilled = 0
      let holdersPrinted = 0
      let waitersAskedBeforeKill = 0
      let killedAfterLease = 0
      let slowest = 0
      const startSessionsAfterKill: Record<string, number> = {}
      const distinctKss: Record<string, number> = {}
      const sources = tally()
      for (const [kind, where] of stores) {
        const fake = yield* FakeKaltura.make({ liveClock: true })
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        const env = cliEnv(fake, token, {})
        // the holder's startSession is held open at the fake far beyond the lease
        yield* fake.injectFault("appToken.startSession", FakeKalturaFault.delay("120 seconds"))
        const holder = spawn([script, kind, where, String(LEASE)], env)
        yield* waitUntil("the holder's startSession", Effect.map(fake.pendingFaults, (pending) => pending.length === 0))
        const inFlightAt = Date.now()
        const waiters = Array.from({ length: WAITERS }, () => spawn([script, kind, where, String(LEASE)], env))
        // every waiter asks (it reads the store, finds the lease taken, and polls), then the holder dies
        yield* waitUntil(
          "every waiter asking",
          Effect.sync(() => waiters.every((waiter) => waiter.lines.length > 0 || waiter.process.exitCode !== null))
        )
        yield* Effect.sleep("500 millis")
        // the scenario holds only if the holder dies while its lease is held and before any waiter has a KS
        if (Date.now() >= inFlightAt + LEASE) killedAfterLease++
        waitersAskedBeforeKill += waiters.filter((waiter) => waiter.lines.length === 1).length
        holder.process.kill("SIGKILL")
        const killed = yield* Effect.promise(() => holder.done)
        if (killed.signal !== "SIGKILL") holdersNotKilled++
        if (killed.lines.some((line) => line.text.startsWith("{"))) holdersPrinted++
        const runs = yield* Effect.promise(() => Promise.all(waiters.map((waiter) => waiter.done)))
        const kss = new Set<string>()
        for (const run of runs) {
          const asked = run.lines.find((line) => line.text.startsWith("asking "))
          const answer = run.lines.find((line) => line.text.startsWith("{"))
          if (run.code !== 0 || asked === undefined || answer === undefined) {
            failed++
            continue
          }
          const got = JSON.parse(answer.text) as {
            ks: string
            expiry: number
            expiresAt: number
            source: string
            gotAt: number
          }
          kss.add(got.ks)
          sources.add(`${kind} ${got.source}`)
          const decoded = yield* fake.decodeKs(got.ks)
          if (
            Option.isNone(decoded) || decoded.value.validUntil * 1000 <= got.gotAt || got.expiresAt <= got.gotAt ||
            decoded.value.partnerId !== token.partnerId
          ) invalid++
          // the lease was taken before the holder's startSession reached the fake; a waiter that asked after the
          // lease ran out is bound by one acquisition from its own ask
          const bound = Math.max(inFlightAt + LEASE, Number(asked.text.slice("asking ".length))) + ACQUISITION
          slowest = Math.max(slowest, got.gotAt - inFlightAt)
          if (got.gotAt > bound) late++
        }
        const log = yield* fake.requests
        startSessionsAfterKill[kind] = countOf(log, "apptoken", "startsession")
        distinctKss[kind] = kss.size
        yield* fake.clearFaults
      }

      Results.record({
        id: "10-shared-lease-holder-killed",
        part: 10,
        title: "The lease holder killed with SIGKILL mid-refresh (Redis and files)",
        description: `For each store (Redis, files): a Node process with \`NodeAppToken.layer\` on the store (lease ` +
          `${
            LEASE / 1000
          } s, poll 100 ms; the CLI's is 30 s) starts a cold acquisition; the fake holds its \`appToken.startSession\` ` +
          `open for 120 s. ${WAITERS} more processes on the same store and App Token ask for a KS (they find the ` +
          `lease taken and wait for the holder's result); 500 ms after they have all asked, the holder is killed with ` +
          `SIGKILL while holding the lease. Each waiter must print a valid KS within the lease (from the holder's ` +
          `startSession) plus one acquisition (${ACQUISITION / 1000} s allowed, for process start-up on 2 cores).`,
        figures: {
          "waiters": WAITERS * stores.length,
          "waiters waiting (asked, no KS yet) at the kill": waitersAskedBeforeKill,
          "holders killed after their lease ran out (the scenario missed)": killedAfterLease,
          "waiters that failed or printed no KS": failed,
          [`waiters past the lease + one acquisition (${(LEASE + ACQUISITION) / 1000} s)`]: late,
          "invalid or expired KS printed": invalid,
          "holders not killed by SIGKILL, or that printed a KS": holdersNotKilled + holdersPrinted,
          "slowest waiter from the holder's startSession, ms": slowest,
          "startSession answered after the kill, by store": startSessionsAfterKill,
          "distinct KSs among the waiters, by store": distinctKss,
          "waiters by store and source": sources.counts
        },
        mustBeZero: [
          "waiters that failed or printed no KS",
          `waiters past the lease + one acquisition (${(LEASE + ACQUISITION) / 1000} s)`,
          "invalid or expired KS printed",
          "holders not killed by SIGKILL, or that printed a KS"
        ],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(failed, 0)
      assert.strictEqual(late, 0, `slowest ${slowest} ms`)
      assert.strictEqual(invalid, 0)
      assert.strictEqual(holdersNotKilled + holdersPrinted, 0)
      // the scenario itself: every waiter waiting, the holder killed while holding the lease
      assert.strictEqual(waitersAskedBeforeKill, WAITERS * stores.length)
      assert.strictEqual(killedAfterLease, 0)
    }).pipe(Effect.scoped, Effect.ensuring(removeCreated)))

  for (const kind of ["redis", "file"] as const) {
    it.live(`a 50-process herd of the CLI on one ${kind} store, empty, 3 identities`, () =>
      Effect.gen(function*() {
        const started = performance.now()
        const PROCESSES = 50
        const fake = yield* FakeKaltura.make({ liveClock: true })
        const first = yield* fake.seedAppToken({ hashType: "SHA256" })
        const second = yield* fake.seedAppToken({ hashType: "SHA256" })
        const redis = kind === "redis" ? yield* RedisServer.make() : undefined
        const dir = kind === "file" ? tempDirectory() : undefined
        const storeEnv: Record<string, string> = redis !== undefined
          ? { KALTURA_REDIS_URL: redis.url }
          : { KALTURA_CACHE_DIR: dir! }
        const identities = [
          { name: "first token", token: first, flags: [] as ReadonlyArray<string>, userId: "" },
          {
            name: "first token, a user",
            token: first,
            flags: ["--user-id", "herd-user@example.com"],
            userId: "herd-user@example.com"
          },
          { name: "second token", token: second, flags: [] as ReadonlyArray<string>, userId: "" }
        ]
        const runs = yield* Effect.promise(() =>
          Promise.all(Array.from({ length: PROCESSES }, (_, i) => {
            const identity = identities[i % identities.length]!
            return spawn([cliBin, "session", "--json", ...identity.flags], cliEnv(fake, identity.token, storeEnv))
              .done.then((run) => ({ run, identity }))
          }))
        )
        const log = yield* fake.requests
        const owners = mintedFor(log)
        let failures = 0
        let foreign = 0
        let expired = 0
        let warned = 0
        const sources = tally()
        for (const { identity, run } of runs) {
          if (run.stderr !== "") warned++
          const printed = parsePrinted(run)
          if (printed === undefined) {
            failures++
            continue
          }
          sources.add(printed.source)
          const printedAt = run.lines[0]!.at
          const decoded = yield* fake.decodeKs(printed.ks)
          if (
            Date.parse(printed.expiresAt) <= printedAt || Option.isNone(decoded) ||
            decoded.value.validUntil * 1000 <= printedAt
          ) expired++
          if (
            owners.get(printed.ks) !== `${identity.token.id}/${identity.userId}` || printed.userId !== identity.userId
          ) {
            foreign++
          }
        }
        const upstream: Record<string, number> = {}
        for (const identity of identities) {
          const params = log.filter((entry) => entry.service === "apptoken" && entry.action === "startsession")
            .map((entry) => entry.params as Record<string, unknown>)
            .filter((params) => params.id === identity.token.id && String(params.userId ?? "") === identity.userId)
          upstream[`${identity.name}: startSession`] = params.length
        }
        upstream["widget sessions (all identities)"] = countOf(log, "session", "startwidgetsession")
        const scanner = new Secrets.Scanner()
        Secrets.learnFromLog(scanner, log, [first, second])
        const stored = yield* atRest(dir, redis?.url)
        scanner.scanAll(stored)
        let identifying = 0
        for (const [, text] of stored) if (text.includes("herd-user@example.com")) identifying++

        Results.record({
          id: `10-shared-herd-${kind}`,
          part: 10,
          title: `A 50-process herd of the CLI on an empty ${kind === "redis" ? "Redis" : "file"} store`,
          description: `${PROCESSES} \`kaltura-apptoken session --json\` processes (the shipped bin) started at once ` +
            `on one ${kind === "redis" ? "Redis (`KALTURA_REDIS_URL`)" : "cache directory (`KALTURA_CACHE_DIR`)"}, ` +
            "empty, for 3 identities in turn (an App Token; the same with `--user-id`; a second App Token of the " +
            "partner), against the fake server on loopback; the CLI's store timeout is 2 s. Each printed KS is checked " +
            "against the `appToken.startSession` that minted it (App Token id and user), and its `expiresAt` and the " +
            "expiry inside it against the time it was printed. Then every file of the directory or every Redis key and " +
            "value is scanned for the tokens, every KS and every token hash the fake saw, and the user id. The target " +
            "for the upstream calls is 1 widget session and 1 startSession per identity (not asserted: a store read " +
            "that waits more than 2 s for the CPU is a miss, and a miss asks Kaltura).",
          figures: {
            processes: PROCESSES,
            "caller failures (exit code, no KS on stdout)": failures,
            "another identity's KS printed": foreign,
            "expired KS printed": expired,
            "plaintext KS, token or hash at rest": scanner.findings.length,
            "user id at rest in clear": identifying,
            "upstream calls": upstream,
            "KS source": sources.counts,
            "processes with a warning on stderr": warned,
            "files or Redis keys at rest": stored.length / 2
          },
          mustBeZero: [
            "caller failures (exit code, no KS on stdout)",
            "another identity's KS printed",
            "expired KS printed",
            "plaintext KS, token or hash at rest",
            "user id at rest in clear"
          ],
          durationMillis: performance.now() - started
        })
        assert.strictEqual(
          failures,
          0,
          runs.map(({ run }) => run.stderr).filter((s) => s !== "").slice(0, 3).join("\n")
        )
        assert.strictEqual(foreign, 0)
        assert.strictEqual(expired, 0)
        assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
        assert.strictEqual(identifying, 0)
        assert.isAbove(stored.length, 0)
        assert.isAbove(sources.counts.cache ?? 0, 0, "the herd shared nothing")
      }).pipe(Effect.scoped, Effect.ensuring(removeCreated)))
  }

  it.live("Redis stopped and restarted during a soak of NodeAppToken sessions on RedisSessionStore", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const watch = Capture.watchProcess()
      const SOAK = 12_000
      const DOWN_AT = 4_000
      const UP_AT = 8_000
      const SESSIONS = 4
      const CALLERS = 4
      const STUCK = 5_000
      const fake = yield* FakeKaltura.make({ liveClock: true })
      // 6-second sessions: each one refreshed 3 to 3.6 s after it was obtained, so refreshes happen in every phase
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 6 })
      const server = yield* RedisServer.make()
      const before = yield* storeErrors("redis")
      const identities = [
        { name: "token", userId: "" },
        { name: "a user", userId: "soak-user@example.com" }
      ]
      const sessions = yield* Effect.forEach(Array.from({ length: SESSIONS }, (_, i) => i), (i) =>
        Effect.map(
          Layer.build(NodeAppToken.layer(
            optionsFor(fake, token, identities[i % 2]!.userId === "" ? {} : { userId: identities[i % 2]!.userId }),
            {
              api: { timeout: "1 second" },
              session: {
                refreshWindow: { min: 0.5, max: 0.6 },
                hardMargin: "1 second",
                minRefreshInterval: "100 millis",
                retryBase: "50 millis",
                retryMax: "500 millis",
                storeLease: "2 seconds",
                storePoll: "50 millis"
              },
              store: RedisSessionStore.layer({ url: server.url }, { timeout: "250 millis" })
            }
          )),
          (context) => ({
            session: Context.get(context, AppTokenSession.AppTokenSession),
            identity: identities[i % 2]!
          })
        ))
      const t0 = performance.now()
      const wallT0 = Date.now()
      const phase = () => {
        const t = performance.now() - t0
        return t < DOWN_AT ? "up" : t < UP_AT ? "down" : "back"
      }
      const outcomes = tally()
      const sources = tally()
      let gets = 0
      let failures = 0
      let stuck = 0
      let foreign = 0
      let expired = 0
      const seen = new Set<string>()
      const caller = (s: (typeof sessions)[number]) =>
        Effect.gen(function*() {
          while (performance.now() - t0 < SOAK) {
            const exit = yield* Effect.exit(Effect.timeout(s.session.get, STUCK))
            gets++
            const outcome = classify(exit)
            outcomes.add(`${phase()} ${outcome._tag === "Success" ? "ok" : outcome._tag}`)
            if (Exit.isFailure(exit)) {
              if (outcome._tag === "Failure" && outcome.tag === "TimeoutException") stuck++
              else failures++
            } else {
              const got = exit.value
              const ks = Redacted.value(got.ks)
              sources.add(`${phase()} ${got.source}`)
              if (!seen.has(ks)) {
                seen.add(ks)
                const decoded = yield* fake.decodeKs(ks)
                if (Option.isNone(decoded) || (decoded.value.userId ?? "") !== s.identity.userId) foreign++
                if (Option.isNone(decoded) || decoded.value.validUntil * 1000 <= Date.now()) expired++
              }
              if (got.expiresAt <= Date.now()) expired++
              if (got.userId !== s.identity.userId) foreign++
            }
            yield* Effect.sleep("20 millis")
          }
        })
      const outage = Effect.gen(function*() {
        yield* Effect.sleep(`${DOWN_AT} millis`)
        yield* server.stop
        yield* Effect.sleep(`${UP_AT - DOWN_AT} millis`)
        yield* server.start
      })
      yield* Effect.all(
        [outage, ...sessions.flatMap((s) => Array.from({ length: CALLERS }, () => caller(s)))],
        { concurrency: "unbounded", discard: true }
      )
      watch.stop()
      const log = yield* fake.requests
      const byPhase = tally()
      for (const entry of log) {
        if (entry.service !== "apptoken" || entry.action !== "startsession") continue
        const t = entry.time - wallT0
        byPhase.add(t < DOWN_AT ? "up" : t < UP_AT ? "down" : "back")
      }
      const errors = increase(yield* storeErrors("redis"), before)
      const scanner = new Secrets.Scanner()
      Secrets.learnFromLog(scanner, log, [token])
      scanner.scanAll(capture.texts())

      Results.record({
        id: "10-shared-redis-outage-lifecycle",
        part: 10,
        title: "Redis stopped and restarted during a soak of sessions sharing it",
        description: `Live time, the fake server and a real \`redis-server\` on loopback. ${SESSIONS} ` +
          `\`NodeAppToken.layer\` stacks (2 identities) share one \`RedisSessionStore\` (250 ms timeout; lease 2 s) ` +
          `with 6-second KSs refreshed at 50-60% of their lifetime; ${CALLERS} callers per stack call \`get\` every ` +
          `20 ms for ${SOAK / 1000} s. Redis is killed (SIGKILL) at ${DOWN_AT / 1000} s and started again, empty, at ` +
          `${UP_AT / 1000} s. Every get must return a valid KS of its own identity; a get with no answer within ` +
          `${STUCK / 1000} s counts as stuck.`,
        figures: {
          gets,
          "gets by phase and outcome": outcomes.counts,
          "caller failures": failures,
          [`stuck gets (no answer within ${STUCK / 1000} s)`]: stuck,
          "another identity's KS served": foreign,
          "expired KS served (local deadline or the expiry in the KS)": expired,
          "sessions served, by phase and source": sources.counts,
          "startSession calls at the fake, by phase": byPhase.counts,
          "store errors counted, by operation": errors,
          "unhandled rejections / uncaught exceptions": watch.counts.unhandledRejections +
            watch.counts.uncaughtExceptions,
          "secrets found in logs and spans": scanner.findings.length
        },
        mustBeZero: [
          "caller failures",
          `stuck gets (no answer within ${STUCK / 1000} s)`,
          "another identity's KS served",
          "expired KS served (local deadline or the expiry in the KS)",
          "unhandled rejections / uncaught exceptions",
          "secrets found in logs and spans"
        ],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(failures, 0)
      assert.strictEqual(stuck, 0)
      assert.strictEqual(foreign, 0)
      assert.strictEqual(expired, 0)
      assert.strictEqual(watch.counts.unhandledRejections + watch.counts.uncaughtExceptions, 0)
      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
      // the store was used (sessions shared), Redis was really down (errors counted), and refreshes ran meanwhile
      assert.isAbove(Object.entries(sources.counts).filter(([k]) => k.endsWith("store")).length, 0)
      assert.isAbove(Object.values(errors).reduce((a, b) => a + b, 0), 0)
      assert.isAbove(byPhase.counts.down ?? 0, 0)
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })

  it.live("tampered, truncated and foreign cache files between CLI runs: a valid KS from Kaltura, exit 0", () =>
    Effect.gen(function*() {
      const started = performance.now()
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256" })
      const other = ["--user-id", "tamper-other@example.com"]
      const env = (dir: string) => cliEnv(fake, token, { KALTURA_CACHE_DIR: dir })
      const session = (dir: string, ...flags: ReadonlyArray<string>) =>
        runCli(["session", "--json", ...flags], env(dir))
      const entries = (dir: string) =>
        Fs.readdirSync(Path.join(dir, "sessions")).filter((name) => name.endsWith(".session")).sort()
      // the template: one entry for the App Token, one for another identity (a user)
      const template = tempDirectory()
      const own = parsePrinted(yield* session(template))!
      const [ownFile] = entries(template)
      const foreign = parsePrinted(yield* session(template, ...other))!
      const foreignFile = entries(template).find((name) => name !== ownFile)!
      assert.isDefined(ownFile)
      assert.isDefined(foreignFile)
      const cases: ReadonlyArray<readonly [string, (dir: string) => void]> = [
        ...tamperings.map(([what, tamper]) =>
          [what, (dir: string) => {
            const file = Path.join(dir, "sessions", ownFile!)
            Fs.writeFileSync(file, tamper(Fs.readFileSync(file, "utf8")))
          }] as const
        ),
        ["another identity's entry under this identity's name", (dir: string) => {
          Fs.copyFileSync(Path.join(dir, "sessions", foreignFile), Path.join(dir, "sessions", ownFile!))
        }],
        ["the entry removed, a stale lease and lock left behind by a dead process", (dir: string) => {
          const base = Path.join(dir, "sessions", ownFile!.replace(/\.session$/, ""))
          Fs.rmSync(`${base}.session`)
          const stale = JSON.stringify({
            pid: 999_999_999,
            host: Os.hostname(),
            time: Date.now(),
            ttl: 30_000,
            owner: "a-dead-process"
          })
          Fs.writeFileSync(`${base}.lease`, stale, { mode: 0o600 })
          Fs.writeFileSync(`${base}.lock`, stale, { mode: 0o600 })
        }]
      ]
      let failures = 0
      let tamperedServed = 0
      let foreignServed = 0
      let invalid = 0
      let notReplaced = 0
      let notFromKaltura = 0
      let warned = 0
      for (const [, corrupt] of cases) {
        const dir = tempDirectory()
        Fs.cpSync(template, dir, { recursive: true })
        corrupt(dir)
        const run = yield* session(dir)
        const printed = parsePrinted(run)
        if (run.stderr !== "") warned++
        if (printed === undefined) {
          failures++
          continue
        }
        if (printed.ks === own.ks) tamperedServed++
        if (printed.ks === foreign.ks || printed.userId !== "") foreignServed++
        if (printed.source !== "kaltura") notFromKaltura++
        const decoded = yield* fake.decodeKs(printed.ks)
        const printedAt = run.lines[0]!.at
        if (
          Option.isNone(decoded) || decoded.value.validUntil * 1000 <= printedAt ||
          Date.parse(printed.expiresAt) <= printedAt
        ) invalid++
        // the bad entry was replaced: the next run is served from the cache, with that KS
        const again = parsePrinted(yield* session(dir))
        if (again === undefined) failures++
        else if (again.source !== "cache" || again.ks !== printed.ks) notReplaced++
      }
      const scanner = new Secrets.Scanner()
      Secrets.learnFromLog(scanner, yield* fake.requests, [token])
      scanner.scanAll(yield* atRest(template, undefined))

      Results.record({
        id: "10-shared-cli-tampering",
        part: 10,
        title: `${cases.length} tampered, truncated or foreign cache files between CLI runs`,
        description:
          "A cache directory holds the entries of two identities (`kaltura-apptoken session`, and the same " +
          "with `--user-id`). In a copy of it, the first identity's file is changed (" +
          cases.map(([what]) => what).join(", ") +
          "); then `kaltura-apptoken session --json` runs for the first identity, and once more.",
        figures: {
          cases: cases.length,
          "runs that failed (exit code, no KS on stdout)": failures,
          "tampered KS served (the KS of the changed entry)": tamperedServed,
          "another identity's KS served": foreignServed,
          "invalid or expired KS printed": invalid,
          "KS not from Kaltura after the change (source cache)": notFromKaltura,
          "bad entries not replaced (the next run not served from the cache)": notReplaced,
          "runs with a warning on stderr": warned,
          "plaintext KS, token or hash in the cache directory": scanner.findings.length
        },
        mustBeZero: [
          "runs that failed (exit code, no KS on stdout)",
          "tampered KS served (the KS of the changed entry)",
          "another identity's KS served",
          "invalid or expired KS printed",
          "KS not from Kaltura after the change (source cache)",
          "bad entries not replaced (the next run not served from the cache)",
          "plaintext KS, token or hash in the cache directory"
        ],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(failures, 0)
      assert.strictEqual(tamperedServed, 0)
      assert.strictEqual(foreignServed, 0)
      assert.strictEqual(invalid, 0)
      assert.strictEqual(notFromKaltura, 0)
      assert.strictEqual(notReplaced, 0)
      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
    }).pipe(Effect.scoped, Effect.ensuring(removeCreated)))
})
