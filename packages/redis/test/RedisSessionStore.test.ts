import { assert, describe, expect, it } from "@effect/vitest"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import { RedisServer } from "@kaltura-effect/testing"
import { Cause, Effect, Exit, Logger, LogLevel, Option, Redacted, Scope } from "effect"
import { Redis } from "ioredis"
import * as RedisSessionStore from "../src/RedisSessionStore.js"
import {
  capturing,
  errorCount,
  ksOf,
  type Line,
  secretsAtRest,
  sessionOf,
  settingsOf,
  widgetKs
} from "./utils/store.js"

const quiet = Logger.withMinimumLogLevel(LogLevel.None)

/** A raw client for the test's own inspection and tampering, closed with the scope. */
const rawClient = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 })),
    (client) => Effect.sync(() => client.disconnect())
  )

/** Every key and its value(s), whatever their type. */
const dump = (client: Redis) =>
  Effect.promise(async () => {
    const out: Array<{ key: string; type: string; value: string }> = []
    for (const key of await client.keys("*")) {
      const type = await client.type(key)
      const value = type === "string"
        ? (await client.get(key)) ?? ""
        : type === "hash"
        ? JSON.stringify(await client.hgetall(key))
        : `<${type}>`
      out.push({ key, type, value })
    }
    return out
  })

describe("RedisSessionStore", () => {
  it.live("round trip, write-if-newer, deleteIfSame, lease (owner only) and clear (by prefix)", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const store = yield* RedisSessionStore.make({ url: server.url })
      const settings = settingsOf()
      const now = Date.now()
      assert.isTrue(Option.isNone(yield* store.read(settings)))
      const session = sessionOf(now, { clockOffset: -2500 })
      assert.isTrue(yield* store.write(settings, session))
      const read = Option.getOrThrow(yield* store.read(settings))
      assert.strictEqual(Redacted.value(read.ks), ksOf(0))
      assert.strictEqual(Redacted.value(read.widget!.ks), widgetKs)
      assert.strictEqual(read.clockOffset, -2500)
      assert.isFalse(yield* store.write(settings, { ...session, ks: Redacted.make(ksOf(1)) }))
      assert.isFalse(
        yield* store.write(settings, { ...session, expiry: session.expiry - 1, ks: Redacted.make(ksOf(1)) })
      )
      assert.isTrue(
        yield* store.write(settings, { ...session, expiry: session.expiry + 1, ks: Redacted.make(ksOf(2)) })
      )
      assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(settings)).ks), ksOf(2))
      assert.isFalse(yield* store.deleteIfSame(settings, Redacted.make(ksOf(0))))
      assert.isTrue(yield* store.deleteIfSame(settings, Redacted.make(ksOf(2))))
      assert.isTrue(Option.isNone(yield* store.read(settings)))

      const first = yield* store.lease(settings, "10 seconds")
      assert.isTrue(Option.isSome(first))
      assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")))
      yield* Option.getOrThrow(first).release
      const second = yield* store.lease(settings, "10 seconds")
      assert.isTrue(Option.isSome(second))
      yield* Option.getOrThrow(first).release // released already: must not release the second holder's
      assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")))

      // clear removes this prefix's keys only
      const other = yield* RedisSessionStore.make({ url: server.url }, { prefix: "another-app:" })
      yield* other.write(settings, session)
      yield* store.write(settings, session)
      yield* store.write(settingsOf({ userId: "second" }), sessionOf(now, { userId: "second" }))
      assert.strictEqual(yield* store.clear, 2)
      assert.isTrue(Option.isNone(yield* store.read(settings)))
      assert.isTrue(Option.isSome(yield* store.lease(settings, "10 seconds")))
      assert.isTrue(Option.isSome(yield* other.read(settings)))
      // clearAppToken: this token's entries and leases under this prefix, another token's kept
      const otherToken = settingsOf({ appTokenId: "0_other", token: Redacted.make("e".repeat(32)) })
      yield* store.write(settings, session)
      yield* store.write(otherToken, session)
      assert.strictEqual(yield* store.clearAppToken(settings.appTokenId, settings.token), 1)
      assert.isTrue(Option.isNone(yield* store.read(settings)))
      assert.isTrue(Option.isSome(yield* store.lease(settings, "10 seconds")))
      assert.isTrue(Option.isSome(yield* store.read(otherToken)))
      assert.isTrue(Option.isSome(yield* other.read(settings)))
      for (const operation of ["read", "write", "delete", "lease", "release", "clear"]) {
        assert.strictEqual(yield* errorCount("redis", operation), 0, operation)
      }
    }).pipe(Effect.scoped, quiet))

  it.live("TTL at the KS deadline: PEXPIREAT of the server's expiry corrected by the writer's clock offset", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const raw = yield* rawClient(server.url)
      const store = yield* RedisSessionStore.make({ url: server.url })
      const now = Date.now()
      // the writer's clock was 10 s behind the server's: its deadline is 10 s before the server's expiry
      const session = sessionOf(now, { lifetime: 600, clockOffset: 10_000 })
      yield* store.write(settingsOf(), session)
      const keys = yield* Effect.promise(() => raw.keys("kaltura-effect:session:*"))
      assert.strictEqual(keys.length, 1)
      expect(keys[0]).toMatch(/^kaltura-effect:session:[0-9a-f]{64}$/)
      const expireAt = Number(yield* Effect.promise(() => raw.call("PEXPIRETIME", keys[0]!)))
      assert.strictEqual(expireAt, session.expiry * 1000 - 10_000)
      // a newer entry moves it
      yield* store.write(settingsOf(), { ...session, expiry: session.expiry + 60 })
      assert.strictEqual(
        Number(yield* Effect.promise(() => raw.call("PEXPIRETIME", keys[0]!))),
        (session.expiry + 60) * 1000 - 10_000
      )
      // the lease expires with its ttl
      yield* store.lease(settingsOf(), "7 seconds")
      const [leaseKey] = yield* Effect.promise(() => raw.keys("kaltura-effect:lease:*"))
      const pttl = yield* Effect.promise(() => raw.pttl(leaseKey!))
      assert.isTrue(pttl > 6000 && pttl <= 7000, String(pttl))
      // and an entry that expires is gone from Redis
      const short = sessionOf(Date.now(), { lifetime: 1, clockOffset: 0 })
      yield* store.write(settingsOf({ userId: "short" }), { ...short, userId: "short" })
      yield* Effect.sleep("1200 millis")
      assert.strictEqual((yield* Effect.promise(() => raw.keys("kaltura-effect:session:*"))).length, 1)
    }).pipe(Effect.scoped, quiet))

  it.live("no plaintext KS, token, hash, user or privileges in any Redis key or value", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const raw = yield* rawClient(server.url)
      const store = yield* RedisSessionStore.make({ url: server.url })
      const now = Date.now()
      const kss: Array<string> = []
      for (const [i, options] of [{}, { userId: "second-user" }, { sessionType: "USER" as const }].entries()) {
        kss.push(ksOf(`plain-${i}`))
        yield* store.write(settingsOf(options), sessionOf(now, { ks: Redacted.make(kss[i]!) }))
        yield* store.lease(settingsOf(options), "10 seconds")
      }
      const entries = yield* dump(raw)
      assert.strictEqual(entries.length, 6)
      for (const { key, type, value } of entries) {
        assert.strictEqual(type, "string")
        expect(key).toMatch(/^kaltura-effect:(session|lease):[0-9a-f]{64}$/)
        for (const secret of [...secretsAtRest(kss), "second-user"]) {
          expect(value).not.toContain(secret)
          expect(key).not.toContain(secret)
          expect(value).not.toContain(Buffer.from(secret).toString("base64").slice(0, 20))
        }
      }
    }).pipe(Effect.scoped, quiet))

  it.live("identities (user, type, privileges, token, partner, service URL) never see each other's KS", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const store = yield* RedisSessionStore.make({ url: server.url })
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
        assert.isFalse(yield* store.deleteIfSame(settings, Redacted.make(ksOf("id-0"))), `variant ${i}`)
        yield* store.write(
          settings,
          sessionOf(now, { ks: Redacted.make(ksOf(`id-${i}`)), partnerId: settings.partnerId })
        )
      }
      for (const [i, options] of variants.entries()) {
        assert.strictEqual(
          Redacted.value(Option.getOrThrow(yield* store.read(settingsOf(options))).ks),
          ksOf(`id-${i}`)
        )
      }
    }).pipe(Effect.scoped, quiet))

  it.live("tampered, truncated or foreign values are misses, counted, and the next write replaces them", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const raw = yield* rawClient(server.url)
      const store = yield* RedisSessionStore.make({ url: server.url })
      const settings = settingsOf()
      const now = Date.now()
      const tamperings: ReadonlyArray<readonly [string, (key: string, value: string) => Promise<unknown>]> = [
        ["a flipped ciphertext byte", (key, value) => {
          const record = JSON.parse(value)
          const data = Buffer.from(record.data, "base64")
          data[7]! ^= 0x01
          return raw.set(key, JSON.stringify({ ...record, data: data.toString("base64") }))
        }],
        ["a forged later expiry", (key, value) => {
          const record = JSON.parse(value)
          return raw.set(key, JSON.stringify({ ...record, expiry: record.expiry + 100_000 }))
        }],
        ["truncated", (key, value) => raw.set(key, value.slice(0, value.length - 3))],
        ["empty", (key) => raw.set(key, "")],
        ["not JSON", (key) => raw.set(key, "\u0000\u00ffnot json")],
        ["a JSON array", (key) => raw.set(key, "[1,2,3]")],
        ["oversized", (key, value) => raw.set(key, value + " ".repeat(70 * 1024))],
        ["a hash instead of a string", async (key) => {
          await raw.del(key)
          return raw.hset(key, { v: "1", expiry: "9999999999" })
        }]
      ]
      for (const [what, tamper] of tamperings) {
        yield* store.clear
        yield* store.write(settings, sessionOf(now))
        const [key] = yield* Effect.promise(() => raw.keys("kaltura-effect:session:*"))
        const value = (yield* Effect.promise(() => raw.get(key!)))!
        yield* Effect.promise(() => tamper(key!, value))
        const before = yield* errorCount("redis", "read")
        assert.isTrue(Option.isNone(yield* store.read(settings)), what)
        assert.strictEqual((yield* errorCount("redis", "read")) - before, 1, what)
        // the same session again (an equal expiry) replaces it
        assert.isTrue(yield* store.write(settings, sessionOf(now)), what)
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(settings)).ks), ksOf(0), what)
      }
    }).pipe(Effect.scoped, quiet))

  it.live("a wrong or rotated token is a plain miss", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const store = yield* RedisSessionStore.make({ url: server.url })
      yield* store.write(settingsOf(), sessionOf(Date.now()))
      const before = yield* errorCount("redis", "read")
      assert.isTrue(
        Option.isNone(yield* store.read(settingsOf({ token: Redacted.make("00000000000000000000000000000000") })))
      )
      assert.strictEqual(yield* errorCount("redis", "read"), before)
    }).pipe(Effect.scoped, quiet))

  it.live(
    "Redis stopped and restarted during a soak: ops degrade to misses within the timeout, then work again",
    () =>
      Effect.gen(function*() {
        const server = yield* RedisServer.make()
        const timeout = 300
        const lines: Array<Line> = []
        const store = yield* capturing(lines)(
          RedisSessionStore.make({ url: server.url }, { timeout: `${timeout} millis` })
        )
        const settings = settingsOf()
        let expiry = Math.floor(Date.now() / 1000) + 3600
        let slowest = 0
        let misses = 0
        const cycle = Effect.gen(function*() {
          const started = Date.now()
          const written = yield* store.write(
            settings,
            sessionOf(Date.now(), { expiry: ++expiry, ks: Redacted.make(ksOf(expiry)) })
          )
          const read = yield* store.read(settings)
          const lease = yield* store.lease(settings, "1 second")
          if (Option.isSome(lease)) yield* lease.value.release
          slowest = Math.max(slowest, Date.now() - started)
          if (Option.isNone(read)) misses++
          return written && Option.isSome(read) && Redacted.value(read.value.ks) === ksOf(expiry)
        })
        // up
        for (let i = 0; i < 20; i++) assert.isTrue(yield* cycle, `before the outage, cycle ${i}`)
        assert.strictEqual(misses, 0)
        // down: every operation returns (a miss), none later than the timeout (3 operations a cycle)
        yield* server.stop
        for (let i = 0; i < 10; i++) assert.isFalse(yield* capturing(lines)(cycle))
        assert.strictEqual(misses, 10)
        expect(slowest).toBeLessThan(4 * timeout + 300)
        // back (empty): the store works again once the client has reconnected
        yield* server.start
        const backAt = Date.now()
        let recovered = false
        while (!recovered && Date.now() - backAt < 10_000) {
          recovered = yield* capturing(lines)(cycle)
          if (!recovered) yield* Effect.sleep("50 millis")
        }
        assert.isTrue(recovered)
        for (let i = 0; i < 20; i++) assert.isTrue(yield* cycle, `after the outage, cycle ${i}`)
        // warned once per kind, never a defect
        const warnings = lines.filter((line) => line.level === "WARN")
        expect(warnings.length).toBeGreaterThan(0)
        expect(warnings.length).toBeLessThanOrEqual(8)
        expect(new Set(warnings.map((line) => `${line.annotations.operation}:${line.annotations.reason}`)).size)
          .toBe(warnings.length)
        for (const line of lines) {
          for (const secret of secretsAtRest([ksOf(expiry)])) expect(line.message).not.toContain(secret)
        }
      }).pipe(Effect.scoped, quiet),
    60_000
  )

  it.live(
    "Redis down when the layer is built: built within the connect timeout, misses, then works when Redis is up",
    () =>
      Effect.gen(function*() {
        const server = yield* RedisServer.make()
        yield* server.stop
        const lines: Array<Line> = []
        const started = Date.now()
        const opened = yield* errorCount("redis", "open")
        const store = yield* capturing(lines)(
          RedisSessionStore.make({ url: server.url }, { timeout: "300 millis", connectTimeout: "500 millis" })
        )
        expect(Date.now() - started).toBeLessThan(2000)
        assert.strictEqual((yield* errorCount("redis", "open")) - opened, 1)
        assert.strictEqual(lines.filter((line) => line.level === "WARN").length, 1)
        expect(lines[0]!.message).toContain("not reachable")
        assert.isFalse(yield* store.write(settingsOf(), sessionOf(Date.now())))
        assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "1 second"))) // a no-op lease
        yield* server.start
        let written = false
        const deadline = Date.now() + 10_000
        while (!written && Date.now() < deadline) {
          written = yield* store.write(settingsOf(), sessionOf(Date.now()))
          if (!written) yield* Effect.sleep("50 millis")
        }
        assert.isTrue(written)
        assert.isTrue(Option.isSome(yield* store.read(settingsOf())))
      }).pipe(Effect.scoped, quiet),
    30_000
  )

  it.live(
    "a client of the user's (offline queue on, default retries): our timeouts still bound every call",
    () =>
      Effect.gen(function*() {
        const server = yield* RedisServer.make()
        const client = yield* Effect.acquireRelease(
          Effect.sync(() => {
            const redis = new Redis(server.url)
            redis.on("error", () => undefined)
            return redis
          }),
          (redis) => Effect.sync(() => redis.disconnect())
        )
        const store = yield* RedisSessionStore.make({ client }, { timeout: "200 millis" })
        assert.isTrue(yield* store.write(settingsOf(), sessionOf(Date.now())))
        yield* server.stop
        const started = Date.now()
        const results = yield* Effect.all([
          store.read(settingsOf()),
          store.write(settingsOf(), sessionOf(Date.now(), { lifetime: 7200 })),
          store.lease(settingsOf(), "1 second"),
          store.deleteIfSame(settingsOf(), Redacted.make(ksOf(0)))
        ])
        expect(Date.now() - started).toBeLessThan(4 * 200 + 500)
        assert.isTrue(Option.isNone(results[0]))
        assert.isFalse(results[1])
        assert.isTrue(Option.isSome(results[2]))
        assert.isFalse(results[3])
      }).pipe(Effect.scoped, quiet),
    30_000
  )

  it.live("a client created from a URL quits when the scope closes; a client of the user's is left open", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const scope = yield* Scope.make()
      const created: Array<Redis> = []
      // observe the client the store creates
      const original = Redis.prototype.connect
      Redis.prototype.connect = function(this: Redis, ...args: Parameters<Redis["connect"]>) {
        created.push(this)
        return original.apply(this, args)
      }
      try {
        const store = yield* Scope.extend(RedisSessionStore.make({ url: server.url }), scope)
        assert.isTrue(yield* store.write(settingsOf(), sessionOf(Date.now())))
      } finally {
        Redis.prototype.connect = original
      }
      assert.strictEqual(created.length, 1)
      assert.strictEqual(created[0]!.status, "ready")
      yield* Scope.close(scope, Exit.void)
      // quit, then the connection closes: nothing is left to keep a CLI's process alive
      const closedBy = Date.now() + 2000
      while (created[0]!.status !== "end" && Date.now() < closedBy) yield* Effect.sleep("10 millis")
      assert.strictEqual(created[0]!.status, "end")

      const own = yield* rawClient(server.url)
      yield* Effect.scoped(Effect.flatMap(RedisSessionStore.make({ client: own }), (store) => store.read(settingsOf())))
      assert.strictEqual(yield* Effect.promise(() => own.ping()), "PONG")
    }).pipe(Effect.scoped, quiet))

  it.live("a client with its own keyPrefix, and a flushed script cache (NOSCRIPT), both work", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const raw = yield* rawClient(server.url)
      const client = yield* Effect.acquireRelease(
        Effect.sync(() => new Redis(server.url, { keyPrefix: "tenant-7:" })),
        (redis) => Effect.sync(() => redis.disconnect())
      )
      const store = yield* RedisSessionStore.make({ client })
      assert.isTrue(yield* store.write(settingsOf(), sessionOf(Date.now())))
      const keys = yield* Effect.promise(() => raw.keys("*"))
      expect(keys).toHaveLength(1)
      expect(keys[0]).toMatch(/^tenant-7:kaltura-effect:session:/)
      yield* Effect.promise(() => raw.script("FLUSH"))
      assert.isTrue(yield* store.write(settingsOf(), sessionOf(Date.now(), { lifetime: 7200 })))
      assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "5 seconds")))
      assert.strictEqual(yield* store.clear, 1)
      assert.deepStrictEqual(yield* Effect.promise(() => raw.keys("*")), [])
      assert.strictEqual(yield* errorCount("redis", "clear"), 0)
    }).pipe(Effect.scoped, quiet))

  it.live("concurrent writers on two clients: the newest expiry wins, one lease holder at a time", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const [a, b] = yield* Effect.all([
        RedisSessionStore.make({ url: server.url }, { timeout: "5 seconds" }),
        RedisSessionStore.make({ url: server.url }, { timeout: "5 seconds" })
      ])
      const settings = settingsOf()
      const base = Math.floor(Date.now() / 1000) + 3600
      const expiries = Array.from({ length: 400 }, (_, i) => base + ((i * 7919) % 10_007))
      yield* Effect.forEach(
        expiries,
        (expiry, i) =>
          (i % 2 === 0 ? a : b).write(settings, sessionOf(Date.now(), { expiry, ks: Redacted.make(ksOf(expiry)) })),
        {
          concurrency: 50
        }
      )
      const stored = Option.getOrThrow(yield* a.read(settings))
      assert.strictEqual(stored.expiry, Math.max(...expiries))
      assert.strictEqual(Redacted.value(stored.ks), ksOf(stored.expiry))
      const leases = yield* Effect.forEach(
        Array.from({ length: 100 }),
        (_, i) => (i % 2 === 0 ? a : b).lease(settings, "10 seconds"),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(leases.filter(Option.isSome).length, 1)
    }).pipe(Effect.scoped, quiet))

  it.effect("a missing redis-server fails with how to install it (no test is skipped)", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.scoped(RedisServer.make({ binary: "/nonexistent/redis-server" })))
      assert.isTrue(Exit.isFailure(exit))
      const error = Option.getOrThrow(
        Cause.failureOption((exit as Exit.Failure<unknown, RedisServer.RedisServerError>).cause)
      )
      assert.strictEqual(error.reason, "NotInstalled")
      expect(error.message).toContain("apt-get install -y redis-server")
    }))

  it.live("the raw backend through SessionStore.make", () =>
    Effect.gen(function*() {
      const server = yield* RedisServer.make()
      const raw = yield* rawClient(server.url)
      const backend = RedisSessionStore.makeBackend(raw, { prefix: "x:" })
      assert.strictEqual(backend.store, "redis")
      const store = yield* SessionStore.make(backend)
      assert.isTrue(yield* store.write(settingsOf(), sessionOf(Date.now())))
      expect(yield* Effect.promise(() => raw.keys("x:session:*"))).toHaveLength(1)
      // a lease is released only by its owner
      const name = "a".repeat(64)
      assert.isTrue(yield* backend.acquire(name, "owner-a", 10_000))
      assert.isFalse(yield* backend.acquire(name, "owner-b", 10_000))
      yield* backend.release(name, "owner-b")
      assert.isFalse(yield* backend.acquire(name, "owner-b", 10_000))
      yield* backend.release(name, "owner-a")
      assert.isTrue(yield* backend.acquire(name, "owner-b", 10_000))
    }).pipe(Effect.scoped, quiet))
})
