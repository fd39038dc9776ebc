/**
 * The CLI's session cache, through the shipped bin against the fake Kaltura server over loopback: a second run makes
 * no request, identities never share a KS, 20 processes on one Redis obtain one KS between them, nothing secret is
 * stored in the clear, and a broken cache only costs a warning.
 */
import { FakeKaltura, RedisServer } from "@kaltura-effect/testing"
import { Effect, Exit, Scope } from "effect"
import { Redis } from "ioredis"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assertBuilt, closedPort, type Result, run, runNow } from "./harness.js"

let scope: Scope.CloseableScope
let fake: FakeKaltura.Service
let token: FakeKaltura.AppToken
let redis: RedisServer.RedisServer
let tmp: string
let env: Record<string, string>
/** The refresh scenario: it waits in real time, so it starts in `beforeAll` and runs beside the other tests. */
let refreshScenario: Promise<ReadonlyArray<{ readonly printed: Printed; readonly requests: ReadonlyArray<string> }>>

const runEffect = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)
/** How many widget sessions and app-token sessions the fake server has started so far. */
const starts = async () => ({
  widget: await runEffect(fake.callCount("session.startWidgetSession")),
  session: await runEffect(fake.callCount("appToken.startSession"))
})
const requestCount = () => runEffect(Effect.map(fake.requests, (log) => log.length))

/** A fresh cache directory. */
const cacheDir = () => Fs.mkdtempSync(Path.join(tmp, "cache-"))

interface Printed {
  readonly ks: string
  readonly source: "kaltura" | "cache"
  readonly expiresAt: string
}

const printed = (result: Result): Printed => {
  expect(result.code, result.stderr).toBe(0)
  expect(result.stderr).toBe("")
  return JSON.parse(result.stdout) as Printed
}

const session = async (extraEnv: Record<string, string | undefined>, ...flags: ReadonlyArray<string>) =>
  printed(await run(["session", "--json", ...flags], { env: { ...env, ...extraEnv } }))

/** Every file under `dir`, with its content. */
const filesIn = (dir: string) =>
  Fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => Path.join(entry.parentPath, entry.name))
    .map((file) => ({ file, content: Fs.readFileSync(file, "utf8") }))

/** The secrets a cache must never hold in the clear: the token, every KS minted, every token hash sent. */
const secrets = async (): Promise<ReadonlyArray<string>> => {
  const log = await runEffect(fake.requests)
  const found = new Set<string>([token.token])
  for (const entry of log) {
    const hash = entry.params.tokenHash
    if (typeof hash === "string") found.add(hash)
    for (const match of (entry.responseBody ?? "").matchAll(/djJ8[A-Za-z0-9_=-]{20,}/g)) found.add(match[0])
  }
  return [...found]
}

beforeAll(async () => {
  assertBuilt()
  scope = await Effect.runPromise(Scope.make())
  fake = await Effect.runPromise(Scope.extend(FakeKaltura.make({ liveClock: true }), scope))
  redis = await Effect.runPromise(Scope.extend(RedisServer.make(), scope))
  token = await runEffect(fake.seedAppToken({ hashType: "SHA256" }))
  tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-apptoken-cache-test-"))
  env = {
    KALTURA_SERVICE_URL: fake.url,
    KALTURA_PARTNER_ID: String(fake.partnerId),
    KALTURA_APP_TOKEN_ID: token.id,
    KALTURA_APP_TOKEN: token.token
  }
  refreshScenario = runRefreshScenario()
  refreshScenario.catch(() => {}) // awaited (and reported) by its test
}, 60_000)

/**
 * Three runs on one cache with a 60 s KS (refresh point 45–51 s after it was obtained, hard margin from 54 s): one
 * at once, one 52 s later, one right after; each with what its own fake server received.
 */
const runRefreshScenario = async () => {
  const own = await Effect.runPromise(Scope.extend(FakeKaltura.make({ liveClock: true }), scope))
  const ownToken = await runEffect(own.seedAppToken({ hashType: "SHA256" }))
  const ownEnv = {
    KALTURA_SERVICE_URL: own.url,
    KALTURA_PARTNER_ID: String(own.partnerId),
    KALTURA_APP_TOKEN_ID: ownToken.id,
    KALTURA_APP_TOKEN: ownToken.token,
    KALTURA_CACHE_DIR: cacheDir()
  }
  const runs: Array<{ readonly printed: Printed; readonly requests: ReadonlyArray<string> }> = []
  const once = async () => {
    const before = await runEffect(Effect.map(own.requests, (log) => log.length))
    const result = printed(await run(["session", "--json", "--expiry", "60"], { env: ownEnv }))
    const log = (await runEffect(own.requests)).slice(before)
    runs.push({ printed: result, requests: log.map((entry) => `${entry.service}.${entry.action}`) })
  }
  await once()
  await new Promise((resolve) => setTimeout(resolve, 52_000))
  await once()
  await once()
  return runs
}

afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  if (tmp !== undefined) Fs.rmSync(tmp, { recursive: true, force: true })
})

describe("kaltura-apptoken's session cache", () => {
  it("two runs in a row: the second makes no request and prints the same KS, source cache", async () => {
    const dir = cacheDir()
    const first = await session({ KALTURA_CACHE_DIR: dir })
    expect(first.source).toBe("kaltura")
    const before = await requestCount()
    const second = await session({ KALTURA_CACHE_DIR: dir })
    expect(await requestCount()).toBe(before)
    expect(second).toEqual({ ...first, source: "cache" })
    // plain output: the same KS
    const plain = await run(["session"], { env: { ...env, KALTURA_CACHE_DIR: dir } })
    expect(plain.stdout).toBe(`${first.ks}\n`)
    // call uses it too: the call itself is the only request
    const call = await run(["call", "baseEntry", "list"], { env: { ...env, KALTURA_CACHE_DIR: dir } })
    expect(call.code, call.stderr).toBe(0)
    const log = (await runEffect(fake.requests)).slice(before)
    expect(log.map((entry) => `${entry.service}.${entry.action}`)).toEqual(["baseentry.list"])
    expect(log[0]!.params.ks).toBe(first.ks)
  }, 60_000)

  it("--cache-dir wins over KALTURA_CACHE_DIR; the default is $XDG_CACHE_HOME/kaltura-effect", async () => {
    const [flagDir, envDir, xdg] = [cacheDir(), cacheDir(), cacheDir()]
    await session({ KALTURA_CACHE_DIR: envDir }, "--cache-dir", flagDir)
    expect(filesIn(flagDir).length).toBeGreaterThan(0)
    expect(filesIn(envDir)).toEqual([])
    await session({ XDG_CACHE_HOME: xdg })
    expect(filesIn(Path.join(xdg, "kaltura-effect", "sessions")).length).toBeGreaterThan(0)
  }, 60_000)

  it("--no-cache and KALTURA_CACHE=off neither read nor write the cache", async () => {
    const dir = cacheDir()
    await session({ KALTURA_CACHE_DIR: dir })
    const stored = filesIn(dir)
    const before = await starts()
    const uncached = await session({ KALTURA_CACHE_DIR: dir }, "--no-cache")
    const off = await session({ KALTURA_CACHE_DIR: dir, KALTURA_CACHE: "OFF" })
    expect([uncached.source, off.source]).toEqual(["kaltura", "kaltura"])
    const after = await starts()
    expect(after.session - before.session).toBe(2)
    expect(filesIn(dir)).toEqual(stored)
    const bad = await run(["session"], { env: { ...env, KALTURA_CACHE_DIR: dir, KALTURA_CACHE: "maybe" } })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("KALTURA_CACHE")
    const empty = await run(["session", "--cache-dir", " "], { env })
    expect(empty.code).toBe(2)
    expect(empty.stderr).toContain("--cache-dir")
  }, 60_000)

  it("different identities never see each other's KS", async () => {
    const dir = cacheDir()
    const base = await session({ KALTURA_CACHE_DIR: dir })
    const variants: ReadonlyArray<readonly [string, Record<string, string>, ReadonlyArray<string>]> = [
      ["user", {}, ["--user-id", "bob@example.com"]],
      ["session type", {}, ["--type", "ADMIN"]],
      ["privileges", {}, ["--privileges", "view:*"]],
      ["service URL", { KALTURA_SERVICE_URL: fake.url.replace("127.0.0.1", "localhost") }, []],
      ["requested expiry", {}, ["--expiry", "7200"]]
    ]
    for (const [what, extra, flags] of variants) {
      const other = await session({ KALTURA_CACHE_DIR: dir, ...extra }, ...flags)
      expect(other.source, what).toBe("kaltura")
      expect(other.ks, what).not.toBe(base.ks)
    }
    // another token for the same App Token id, or another partner: the cached KS is not theirs, Kaltura refuses them
    for (const extra of [{ KALTURA_APP_TOKEN: "0123456789abcdef0123456789abcdef" }, { KALTURA_PARTNER_ID: "54321" }]) {
      const refused = await run(["session"], { env: { ...env, KALTURA_CACHE_DIR: dir, ...extra } })
      expect(refused.code, JSON.stringify(extra)).not.toBe(0)
      expect(refused.stdout).toBe("")
    }
    expect((await session({ KALTURA_CACHE_DIR: dir })).ks).toBe(base.ks)
  }, 90_000)

  it("20 processes at once on one Redis with an empty store: 1 widget session, 1 startSession, one KS", async () => {
    const before = await starts()
    const results = await Promise.all(
      Array.from(
        { length: 20 },
        () => runNow(["session", "--json"], { env: { ...env, KALTURA_REDIS_URL: redis.url }, timeout: 90_000 })
      )
    )
    const sessions = results.map(printed)
    const after = await starts()
    expect(after.widget - before.widget).toBe(1)
    expect(after.session - before.session).toBe(1)
    expect(new Set(sessions.map((s) => s.ks)).size).toBe(1)
    expect(sessions.filter((s) => s.source === "kaltura")).toHaveLength(1)
  }, 120_000)

  it("no plaintext KS, token or token hash in any file of the cache directory or any Redis value", async () => {
    const dir = cacheDir()
    await session({ KALTURA_CACHE_DIR: dir })
    await session({ KALTURA_CACHE_DIR: dir }, "--user-id", "carol@example.com")
    await session({ KALTURA_REDIS_URL: redis.url }, "--user-id", "carol@example.com")
    const files = filesIn(dir)
    expect(files.length).toBeGreaterThan(0)
    for (const { file } of files) expect((Fs.statSync(file).mode & 0o077).toString(8), file).toBe("0")
    const client = new Redis(redis.url, { lazyConnect: true })
    await client.connect()
    try {
      const keys = await client.keys("*")
      const values = await Promise.all(keys.map((key) => client.get(key).catch(() => "")))
      expect(keys.length).toBeGreaterThan(0)
      const stored = [...files.map(({ content, file }) => `${file}\n${content}`), ...keys, ...values.map(String)]
      for (const secret of await secrets()) {
        for (const text of stored) {
          expect(text.includes(secret), `a secret (${secret.slice(0, 6)}…) is stored`).toBe(false)
        }
      }
    } finally {
      client.disconnect()
    }
  }, 60_000)

  it("a cached KS past its refresh point is refreshed before it is printed, in one round trip", async () => {
    const [first, second, third] = await refreshScenario
    expect(first!.printed.source).toBe("kaltura")
    expect(second!.printed.source).toBe("kaltura")
    expect(second!.printed.ks).not.toBe(first!.printed.ks)
    // the cached widget KS was reused: no widget session, one startSession
    expect(second!.requests).toEqual(["apptoken.startsession"])
    expect(third!.requests).toEqual([])
    expect(third!.printed).toEqual({ ...second!.printed, source: "cache" })
  }, 120_000)

  it("cache clear removes what the CLI stored: the next run asks Kaltura", async () => {
    const dir = cacheDir()
    await session({ KALTURA_CACHE_DIR: dir })
    const cleared = await run(["cache", "clear"], { env: { KALTURA_CACHE_DIR: dir } })
    expect(cleared.code, cleared.stderr).toBe(0)
    expect(cleared.stdout).toBe(`removed 1 cached session from ${Path.join(dir, "sessions")}\n`)
    expect((await session({ KALTURA_CACHE_DIR: dir })).source).toBe("kaltura")
    const redisCleared = await run(["cache", "clear", "--redis", redis.url], { env: {} })
    expect(redisCleared.code, redisCleared.stderr).toBe(0)
    expect(redisCleared.stdout).toMatch(/^removed \d+ cached sessions? from Redis\n$/)
  }, 60_000)

  it(
    "token delete removes the deleted token's sessions from the cache: session then asks Kaltura, which refuses",
    async () => {
      const dir = cacheDir()
      const doomed = await runEffect(fake.seedAppToken({ hashType: "SHA256" }))
      const doomedEnv = {
        ...env,
        KALTURA_APP_TOKEN_ID: doomed.id,
        KALTURA_APP_TOKEN: doomed.token,
        KALTURA_CACHE_DIR: dir
      }
      await session({ ...doomedEnv }, "--user-id", "alice@example.com")
      await session({ ...doomedEnv }, "--user-id", "bob@example.com")
      const kept = await session({ KALTURA_CACHE_DIR: dir })
      const deleted = await run(["token", "delete", doomed.id, "--yes"], {
        env: {
          ...doomedEnv,
          KALTURA_ADMIN_SECRET: fake.adminSecret
        }
      })
      expect(deleted.code, deleted.stderr).toBe(0)
      expect(deleted.stderr).toContain(`removed 2 cached sessions of App Token ${doomed.id}`)
      const refused = await run(["session"], { env: { ...doomedEnv, KALTURA_USER_ID: "alice@example.com" } })
      expect(refused.code).toBe(3)
      expect(refused.stdout).toBe("")
      // another token's session stays cached
      expect(await session({ KALTURA_CACHE_DIR: dir })).toEqual({ ...kept, source: "cache" })
    },
    60_000
  )

  it("a cache that cannot be used: one warning line on stderr, the KS on stdout, exit 0", async () => {
    const notADirectory = Path.join(tmp, "a-file")
    Fs.writeFileSync(notADirectory, "")
    const unreachable = `redis://127.0.0.1:${await closedPort()}`
    for (const extra of [{ KALTURA_CACHE_DIR: notADirectory }, { KALTURA_REDIS_URL: unreachable }]) {
      const result = await run(["session"], { env: { ...env, ...extra } })
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toMatch(/^djJ8[A-Za-z0-9_=-]+\n$/)
      const lines = result.stderr.split("\n").filter((line) => line !== "")
      expect(lines, result.stderr).toHaveLength(1)
      expect(lines[0]).toMatch(/^kaltura-apptoken: warning: .*session store/)
      expect(result.stderr).not.toContain("127.0.0.1:")
    }
    const bad = await run(["session"], { env: { ...env, KALTURA_REDIS_URL: "http://127.0.0.1:6379" } })
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain("--redis")
  }, 60_000)
})
