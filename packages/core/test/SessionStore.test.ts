import { assert, describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Redacted, TestClock, Tracer } from "effect"
import * as NodeCrypto from "node:crypto"
import * as SessionStore from "../src/SessionStore.js"
import {
  broken,
  capturing,
  errorCount,
  inspectable,
  ks,
  type Line,
  sessionOf,
  settingsOf,
  token,
  widgetKs
} from "./utils/store.js"

const hour = 3_600_000

const identityOf = (settings: ReturnType<typeof settingsOf>) =>
  JSON.stringify([
    settings.serviceUrl,
    settings.partnerId,
    settings.widgetId,
    settings.appTokenId,
    settings.hashType,
    Option.getOrNull(settings.userId),
    Option.getOrNull(settings.sessionType),
    Option.getOrNull(settings.sessionPrivileges),
    Option.getOrNull(settings.expiry)
  ])

describe("SessionStore", () => {
  describe("memory store", () => {
    it.effect("writes, then reads back every field, secrets Redacted", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1_700_000_000_000)
        const store = yield* SessionStore.makeMemory
        const settings = settingsOf()
        assert.isTrue(Option.isNone(yield* store.read(settings)))
        const session = sessionOf(1_700_000_000_000, { clockOffset: -1500 })
        assert.isTrue(yield* store.write(settings, session))
        const read = Option.getOrThrow(yield* store.read(settings))
        assert.isTrue(Redacted.isRedacted(read.ks))
        assert.strictEqual(Redacted.value(read.ks), ks)
        assert.isTrue(Redacted.isRedacted(read.widget!.ks))
        assert.strictEqual(Redacted.value(read.widget!.ks), widgetKs)
        assert.deepStrictEqual(
          { ...read, ks: undefined, widget: { ...read.widget!, ks: undefined } },
          { ...session, ks: undefined, widget: { ...session.widget!, ks: undefined } }
        )
        // no widget
        const settings2 = settingsOf({ userId: "other" })
        assert.isTrue(
          yield* store.write(settings2, sessionOf(1_700_000_000_000, { userId: "other", widget: undefined }))
        )
        assert.isUndefined(Option.getOrThrow(yield* store.read(settings2)).widget)
      }))

    it.effect("write-if-newer: ordered by the server's expiry; an equal or older one is not written", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.makeMemory
        const settings = settingsOf()
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        const base = sessionOf(now)
        assert.isTrue(yield* store.write(settings, base))
        const other = Redacted.make("djJ8MTIzNDV8b3RoZXIta3Mtb2YtdGhlLXNhbWUtZXhwaXJ5LWZvci10ZXN0cw==")
        // an equal expiry: kept (the first one wins)
        assert.isFalse(yield* store.write(settings, { ...base, ks: other }))
        // an older one, even if its writer's local deadline is later (a big clock offset)
        assert.isFalse(
          yield* store.write(settings, { ...base, ks: other, expiry: base.expiry - 1, clockOffset: -60_000 })
        )
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(settings)).ks), ks)
        // a newer one
        assert.isTrue(yield* store.write(settings, { ...base, ks: other, expiry: base.expiry + 1 }))
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(settings)).ks), Redacted.value(other))
      }))

    it.effect("an entry past its deadline (expiry corrected by the writer's offset) is a miss, and is not written", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.makeMemory
        const settings = settingsOf()
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        // the writer's clock was 10 s behind the server's: its deadline is expiry - 10 s on our clock
        const session = sessionOf(now, { lifetime: 60, clockOffset: 10_000 })
        assert.isTrue(yield* store.write(settings, session))
        yield* TestClock.setTime(session.expiry * 1000 - 10_001)
        assert.isTrue(Option.isSome(yield* store.read(settings)))
        yield* TestClock.setTime(session.expiry * 1000 - 10_000)
        assert.isTrue(Option.isNone(yield* store.read(settings)))
        assert.isFalse(yield* store.write(settings, session))
      }))

    it.effect("deleteIfSame removes the entry (and its widget KS) only while it holds the KS", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.makeMemory
        const settings = settingsOf()
        yield* TestClock.setTime(1_700_000_000_000)
        assert.isTrue(yield* store.write(settings, sessionOf(1_700_000_000_000)))
        assert.isFalse(yield* store.deleteIfSame(settings, Redacted.make("djJ8another-ks")))
        assert.isTrue(Option.isSome(yield* store.read(settings)))
        assert.isTrue(yield* store.deleteIfSame(settings, Redacted.make(ks)))
        assert.isTrue(Option.isNone(yield* store.read(settings)))
        assert.isFalse(yield* store.deleteIfSame(settings, Redacted.make(ks)))
      }))

    it.effect("the lease: one holder at a time, until released or its ttl passes", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.makeMemory
        const settings = settingsOf()
        const first = yield* store.lease(settings, "10 seconds")
        assert.isTrue(Option.isSome(first))
        assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")))
        // another identity has its own lease
        assert.isTrue(Option.isSome(yield* store.lease(settings2(), "10 seconds")))
        yield* Option.getOrThrow(first).release
        const second = yield* store.lease(settings, "10 seconds")
        assert.isTrue(Option.isSome(second))
        // releasing an old lease twice does not release the new holder's
        yield* Option.getOrThrow(first).release
        assert.isTrue(Option.isNone(yield* store.lease(settings, "10 seconds")))
        yield* TestClock.adjust("10 seconds")
        assert.isTrue(Option.isSome(yield* store.lease(settings, "10 seconds")))
      }))

    it.effect("the memory backend: a lease is released only by its owner, and expires with its ttl", () =>
      Effect.gen(function*() {
        const backend = yield* SessionStore.memoryBackend
        const name = "a".repeat(64)
        assert.isTrue(yield* backend.acquire(name, "owner-a", 10_000))
        assert.isFalse(yield* backend.acquire(name, "owner-b", 10_000))
        yield* backend.release(name, "owner-b")
        assert.isFalse(yield* backend.acquire(name, "owner-b", 10_000))
        yield* TestClock.adjust("10 seconds")
        assert.isTrue(yield* backend.acquire(name, "owner-b", 10_000))
        yield* backend.release(name, "owner-b")
        assert.isTrue(yield* backend.acquire(name, "owner-a", 10_000))
      }))

    it.effect("clear removes every entry and lease, and says how many entries", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.makeMemory
        yield* TestClock.setTime(1_700_000_000_000)
        assert.isTrue(yield* store.write(settingsOf(), sessionOf(1_700_000_000_000)))
        assert.isTrue(yield* store.write(settings2(), sessionOf(1_700_000_000_000, { userId: "u2" })))
        assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "1 minute")))
        assert.strictEqual(yield* store.clear, 2)
        assert.isTrue(Option.isNone(yield* store.read(settingsOf())))
        assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "1 minute")))
        assert.strictEqual(yield* store.clear, 0)
      }))
  })

  it.effect("clearAppToken removes every identity's entry and lease of one App Token, and nothing else", () =>
    Effect.gen(function*() {
      const store = yield* SessionStore.makeMemory
      yield* TestClock.setTime(1_700_000_000_000)
      const other = settingsOf({ appTokenId: "0_other", token: Redacted.make("f".repeat(32)) })
      assert.isTrue(yield* store.write(settingsOf(), sessionOf(1_700_000_000_000)))
      assert.isTrue(yield* store.write(settings2(), sessionOf(1_700_000_000_000, { userId: "u2" })))
      assert.isTrue(yield* store.write(other, sessionOf(1_700_000_000_000)))
      assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "1 minute")))
      // another token value for the same id names other entries: nothing removed
      assert.strictEqual(yield* store.clearAppToken("0_ab12cd34", Redacted.make("0".repeat(32))), 0)
      assert.strictEqual(yield* store.clearAppToken("0_ab12cd34", Redacted.make(token)), 2)
      assert.isTrue(Option.isNone(yield* store.read(settingsOf())))
      assert.isTrue(Option.isNone(yield* store.read(settings2())))
      assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "1 minute")))
      assert.isTrue(Option.isSome(yield* store.read(other)))
      assert.strictEqual(yield* SessionStore.none.clearAppToken("0_ab12cd34", Redacted.make(token)), 0)
    }))

  describe("identities", () => {
    const variants: ReadonlyArray<readonly [string, Parameters<typeof settingsOf>[0]]> = [
      ["user", { userId: "someone-else" }],
      ["no user", { userId: undefined }],
      ["type", { sessionType: "USER" }],
      ["privileges", { sessionPrivileges: "disableentitlement" }],
      ["no privileges", { sessionPrivileges: undefined }],
      ["token", { token: Redacted.make("ffffffffffffffffffffffffffffffff") }],
      ["partner", { partnerId: 54321 }],
      ["service URL", { serviceUrl: "https://other.kaltura.test" }],
      ["widget", { widgetId: "_99" }],
      ["app token id", { appTokenId: "0_other" }],
      ["hash type", { hashType: "SHA1" }],
      ["requested expiry", { expiry: 7200 }]
    ]

    it.effect("different identities (user, type, privileges, token, partner, service URL, …) never see each other's KS", () =>
      Effect.gen(function*() {
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        const { backend, records } = yield* inspectable("identities")
        const store = yield* SessionStore.make(backend)
        const base = settingsOf()
        assert.isTrue(yield* store.write(base, sessionOf(now)))
        for (const [what, options] of variants) {
          const settings = settingsOf(options)
          assert.isTrue(Option.isNone(yield* store.read(settings)), `${what}: a miss before its own write`)
          assert.isFalse(yield* store.deleteIfSame(settings, Redacted.make(ks)), `${what}: cannot delete the other's`)
          const own = `djJ8${what.replace(/ /g, "-")}-own-ks-padding-padding-padding-padding`
          assert.isTrue(
            yield* store.write(settings, sessionOf(now, { ks: Redacted.make(own), partnerId: settings.partnerId })),
            what
          )
          assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(settings)).ks), own, what)
        }
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(base)).ks), ks)
        assert.strictEqual(records.size, variants.length + 1)
        // the client tag does not change what the server issues: same identity
        const tagged = settingsOf({ clientTag: "another-tag" })
        assert.strictEqual(Redacted.value(Option.getOrThrow(yield* store.read(tagged)).ks), ks)
        // the token by value, not by object identity
        assert.strictEqual(
          Redacted.value(Option.getOrThrow(yield* store.read(settingsOf({ token: Redacted.make(token) }))).ks),
          ks
        )
      }))

    it.effect("a wrong or rotated token is a plain miss (not an error): it never finds the entry", () =>
      Effect.gen(function*() {
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        const lines: Array<Line> = []
        const { backend } = yield* inspectable("rotated")
        const store = yield* SessionStore.make(backend)
        yield* store.write(settingsOf(), sessionOf(now))
        const rotated = settingsOf({ token: Redacted.make("0123456789abcdef0123456789abcdef") })
        assert.isTrue(Option.isNone(yield* capturing(lines)(store.read(rotated))))
        assert.strictEqual(yield* errorCount("rotated", "read"), 0)
        assert.deepStrictEqual(lines, [])
      }))
  })

  describe("encryption at rest", () => {
    it.effect("no KS, token, widget KS, user or privileges in any stored record or name", () =>
      Effect.gen(function*() {
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        const { backend, records } = yield* inspectable("plaintext")
        const store = yield* SessionStore.make(backend)
        const settings = settingsOf()
        yield* store.write(settings, sessionOf(now))
        assert.strictEqual(records.size, 1)
        const secrets = [
          ks,
          widgetKs,
          token,
          NodeCrypto.createHash("sha256").update(widgetKs + token).digest("hex"),
          "store-user@example.com",
          "secret-privilege",
          "0_ab12cd34",
          "kaltura.test"
        ]
        for (const [name, record] of records) {
          for (const secret of secrets) {
            expect(record).not.toContain(secret)
            expect(name).not.toContain(secret)
            expect(record).not.toContain(Buffer.from(secret).toString("base64").slice(0, 24))
          }
          expect(name).toMatch(/^[0-9a-f]{64}$/)
          expect(Object.keys(JSON.parse(record)).sort()).toEqual(["data", "expiry", "iv", "tag", "v"])
        }
      }))

    it.effect("the documented format: HKDF-SHA256 keys, HMAC names and tags, AES-256-GCM with the identity as AAD", () =>
      Effect.gen(function*() {
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        const { backend, records } = yield* inspectable("format")
        const store = yield* SessionStore.make(backend)
        const settings = settingsOf()
        const session = sessionOf(now)
        yield* store.write(settings, session)
        const [name, raw] = [...records][0]!
        // an independent implementation on node:crypto
        const key = (info: string) =>
          Buffer.from(NodeCrypto.hkdfSync("sha256", token, "0_ab12cd34", `kaltura-effect/session-store/v1/${info}`, 32))
        const identity = identityOf(settings)
        const hmacName = (text: string) => NodeCrypto.createHmac("sha256", key("names")).update(text).digest("hex")
        // 16 hex characters naming the App Token, then 48 naming the identity
        assert.strictEqual(name, hmacName("app-token").slice(0, 16) + hmacName(identity).slice(0, 48))
        const record = JSON.parse(raw) as { v: number; expiry: number; tag: string; iv: string; data: string }
        assert.strictEqual(record.v, 1)
        assert.strictEqual(record.expiry, session.expiry)
        assert.strictEqual(record.tag, NodeCrypto.createHmac("sha256", key("tags")).update(ks).digest("hex"))
        const iv = Buffer.from(record.iv, "base64")
        assert.strictEqual(iv.length, 12)
        const data = Buffer.from(record.data, "base64")
        const decipher = NodeCrypto.createDecipheriv("aes-256-gcm", key("encryption"), iv)
        decipher.setAAD(Buffer.from(`${identity}\n${JSON.stringify([1, record.expiry, record.tag])}`))
        decipher.setAuthTag(data.subarray(data.length - 16))
        const plaintext = JSON.parse(
          Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8")
        )
        assert.strictEqual(plaintext.ks, ks)
        assert.strictEqual(plaintext.widget.ks, widgetKs)
        assert.strictEqual(plaintext.expiry, session.expiry)
        // a fresh IV per write
        yield* store.write(settings, sessionOf(now, { lifetime: 3601 }))
        const [, raw2] = [...records][0]!
        assert.notStrictEqual(JSON.parse(raw2).iv, record.iv)
      }))

    const tampered: ReadonlyArray<readonly [string, (record: string) => string]> = [
      ["a flipped ciphertext bit", (r) => {
        const o = JSON.parse(r)
        const data = Buffer.from(o.data, "base64")
        data[5]! ^= 1
        return JSON.stringify({ ...o, data: data.toString("base64") })
      }],
      ["a flipped tag bit", (r) => {
        const o = JSON.parse(r)
        const data = Buffer.from(o.data, "base64")
        data[data.length - 1]! ^= 0x80
        return JSON.stringify({ ...o, data: data.toString("base64") })
      }],
      ["another IV", (r) => JSON.stringify({ ...JSON.parse(r), iv: Buffer.alloc(12, 7).toString("base64") })],
      ["a forged later expiry", (r) => JSON.stringify({ ...JSON.parse(r), expiry: JSON.parse(r).expiry + 86400 })],
      ["a forged KS tag", (r) => JSON.stringify({ ...JSON.parse(r), tag: "0".repeat(64) })],
      ["truncated", (r) => r.slice(0, Math.floor(r.length / 2))],
      ["truncated data", (r) => JSON.stringify({ ...JSON.parse(r), data: JSON.parse(r).data.slice(0, 40) })],
      ["empty", () => ""],
      ["not JSON", () => "\u0000\u0001garbage"],
      ["JSON of the wrong shape", () => JSON.stringify({ v: 1, expiry: "soon" })],
      ["a future format version", (r) => JSON.stringify({ ...JSON.parse(r), v: 2 })],
      ["a huge number", (r) => JSON.stringify({ ...JSON.parse(r), expiry: 1e308 })],
      ["__proto__ pollution", (r) => r.replace("{", "{\"__proto__\":{\"polluted\":true},")]
    ]

    it.effect("tampered, truncated or corrupt entries are misses, counted and logged once; the next write replaces them", () =>
      Effect.gen(function*() {
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        for (const [what, change] of tampered) {
          const lines: Array<Line> = []
          const storeName = `tampered-${what}`
          const { backend, records, tamper } = yield* inspectable(storeName)
          const store = yield* SessionStore.make(backend)
          const settings = settingsOf()
          yield* store.write(settings, sessionOf(now))
          const [name] = [...records.keys()]
          yield* tamper(name!, change)
          assert.isTrue(Option.isNone(yield* capturing(lines)(store.read(settings))), what)
          assert.isTrue(Option.isNone(yield* capturing(lines)(store.read(settings))), what)
          assert.strictEqual(yield* errorCount(storeName, "read"), 2, what)
          const warnings = lines.filter((line) => line.level === "WARN")
          assert.strictEqual(warnings.length, 1, what)
          assert.strictEqual(warnings[0]!.annotations.partner_id, 12345)
          assert.strictEqual(warnings[0]!.annotations.app_token_id, "0_ab12cd34")
          assert.strictEqual(warnings[0]!.annotations.store, storeName)
          // the next write overwrites it, even behind a forged later expiry
          const fresh = sessionOf(now, { lifetime: 1800 })
          assert.isTrue(yield* store.write(settings, fresh), what)
          assert.strictEqual(Option.getOrThrow(yield* store.read(settings)).expiry, fresh.expiry, what)
          assert.isUndefined(({} as Record<string, unknown>).polluted)
        }
      }))

    it.effect("an entry moved to another identity's name fails authentication", () =>
      Effect.gen(function*() {
        const now = 1_700_000_000_000
        yield* TestClock.setTime(now)
        const { backend, records, tamper } = yield* inspectable("moved")
        const store = yield* SessionStore.make(backend)
        const alice = settingsOf({ userId: "alice" })
        const bob = settingsOf({ userId: "bob" })
        yield* store.write(alice, sessionOf(now, { userId: "alice" }))
        const aliceRecord = [...records.values()][0]!
        yield* store.write(
          bob,
          sessionOf(now, { userId: "bob", ks: Redacted.make("djJ8bob-ks-padding-padding-padding") })
        )
        const bobName = [...records].find(([, record]) => record !== aliceRecord)![0]
        yield* tamper(bobName, () => aliceRecord)
        assert.isTrue(Option.isNone(yield* store.read(bob)))
        assert.strictEqual(yield* errorCount("moved", "read"), 1)
      }))
  })

  describe("failures never reach the caller", () => {
    it.effect("a failing store: misses, false, a no-op lease; counted by operation; one Warning per kind", () =>
      Effect.gen(function*() {
        const lines: Array<Line> = []
        const store = yield* SessionStore.make(broken("failing", "fail"))
        const settings = settingsOf()
        const run = capturing(lines)
        for (let i = 0; i < 3; i++) {
          assert.isTrue(Option.isNone(yield* run(store.read(settings))))
          assert.isFalse(yield* run(store.write(settings, sessionOf(0, { lifetime: 1e6 }))))
          assert.isFalse(yield* run(store.deleteIfSame(settings, Redacted.make(ks))))
          const lease = yield* run(store.lease(settings, "5 seconds"))
          assert.isTrue(Option.isSome(lease))
          yield* run(Option.getOrThrow(lease).release)
          assert.strictEqual(yield* run(store.clear), 0)
        }
        for (const operation of ["read", "write", "delete", "lease", "clear"]) {
          assert.strictEqual(yield* errorCount("failing", operation), 3, operation)
        }
        // the lease was a no-op: nothing to release
        assert.strictEqual(yield* errorCount("failing", "release"), 0)
        const warnings = lines.filter((line) => line.level === "WARN")
        assert.deepStrictEqual(
          warnings.map((line) => line.annotations.operation),
          ["read", "write", "delete", "lease", "clear"]
        )
        for (const line of warnings) {
          expect(line.message).toContain("connection refused")
          assert.strictEqual(line.annotations.reason, "Unavailable")
          if (line.annotations.operation !== "clear") assert.strictEqual(line.annotations.app_token_id, "0_ab12cd34")
        }
        assert.strictEqual(lines.filter((line) => line.level === "DEBUG").length, 10)
        for (const line of lines) {
          for (const secret of [ks, token, widgetKs]) expect(JSON.stringify(line)).not.toContain(secret)
        }
      }))

    it.effect("a failing release is degraded too", () =>
      Effect.gen(function*() {
        const inner = yield* SessionStore.memoryBackend
        const store = yield* SessionStore.make({
          ...inner,
          store: "failing-release",
          release: () => Effect.fail(new SessionStore.SessionStoreError({ reason: "Io", detail: "EIO" }))
        })
        const lease = Option.getOrThrow(yield* store.lease(settingsOf(), "5 seconds"))
        yield* lease.release
        yield* lease.release
        assert.strictEqual(yield* errorCount("failing-release", "release"), 1)
      }))

    it.effect("a backend that dies is a miss, not a defect", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.make(broken("dying", "die"))
        const settings = settingsOf()
        assert.isTrue(Option.isNone(yield* store.read(settings)))
        assert.isFalse(yield* store.write(settings, sessionOf(0, { lifetime: 1e6 })))
        assert.isTrue(Option.isSome(yield* store.lease(settings, "1 second")))
        assert.strictEqual(yield* errorCount("dying", "read"), 1)
      }))

    it.live("a store that never answers: every operation ends within its timeout", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.make(broken("hanging", "hang"), {
          timeout: "50 millis",
          clearTimeout: "50 millis"
        })
        const settings = settingsOf()
        const started = Date.now()
        const lines: Array<Line> = []
        const results = yield* capturing(lines)(Effect.all([
          store.read(settings),
          store.write(settings, sessionOf(Date.now())),
          store.deleteIfSame(settings, Redacted.make(ks)),
          store.lease(settings, "1 second"),
          store.clear
        ], { concurrency: "unbounded" }))
        const elapsed = Date.now() - started
        expect(elapsed).toBeLessThan(1000)
        assert.isTrue(Option.isNone(results[0]))
        assert.isFalse(results[1])
        assert.isFalse(results[2])
        assert.isTrue(Option.isSome(results[3]))
        assert.strictEqual(results[4], 0)
        assert.strictEqual(yield* errorCount("hanging", "read"), 1)
        assert.strictEqual(lines.filter((line) => line.level === "WARN").length, 5)
      }))

    it.effect("a caller's interruption is not turned into a miss", () =>
      Effect.gen(function*() {
        const store = yield* SessionStore.make(broken("interrupted", "hang"), { timeout: Duration.infinity })
        const fiber = yield* Effect.fork(store.read(settingsOf()))
        yield* TestClock.adjust("1 hour")
        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit))
        assert.strictEqual(yield* errorCount("interrupted", "read"), 0)
      }))

    it.effect("warns again about a kind only after the store worked in between, and not within 5 minutes", () =>
      Effect.gen(function*() {
        const lines: Array<Line> = []
        let failing = true
        const inner = yield* SessionStore.memoryBackend
        const store = yield* SessionStore.make({
          ...inner,
          store: "flapping",
          get: (name) =>
            failing ? Effect.fail(new SessionStore.SessionStoreError({ reason: "Io", detail: "EIO" })) : inner.get(name)
        })
        const read = capturing(lines)(store.read(settingsOf()))
        const warnings = () => lines.filter((line) => line.level === "WARN").length
        yield* read
        yield* read
        assert.strictEqual(warnings(), 1)
        yield* TestClock.adjust("10 minutes")
        yield* read // no success in between
        assert.strictEqual(warnings(), 1)
        failing = false
        yield* read
        failing = true
        yield* read
        assert.strictEqual(warnings(), 2)
        failing = false
        yield* read
        failing = true
        yield* TestClock.adjust("1 minute")
        yield* read // worked in between, but within 5 minutes of the last warning
        assert.strictEqual(warnings(), 2)
      }))
  })

  it.effect("spans SessionStore.read/write/…, with the store, partner and App Token id, and no secret", () =>
    Effect.gen(function*() {
      const spans: Array<{ name: string; attributes: Map<string, unknown> }> = []
      const tracer = Tracer.make({
        span: (name, parent, context, links, startTime, kind) => {
          const attributes = new Map<string, unknown>()
          spans.push({ name, attributes })
          return {
            _tag: "Span",
            name,
            spanId: `span-${spans.length}`,
            traceId: "trace",
            parent,
            context,
            status: { _tag: "Started", startTime },
            attributes,
            links: [...links],
            sampled: true,
            kind,
            end: () => {},
            attribute: (key, value) => {
              attributes.set(key, value)
            },
            event: () => {},
            addLinks: () => {}
          }
        },
        context: (f) => f()
      })
      yield* TestClock.setTime(1_700_000_000_000)
      yield* Effect.gen(function*() {
        const store = yield* SessionStore.makeMemory
        yield* store.write(settingsOf(), sessionOf(1_700_000_000_000))
        yield* store.read(settingsOf())
        yield* store.deleteIfSame(settingsOf(), Redacted.make(ks))
        const lease = yield* store.lease(settingsOf(), "1 second")
        yield* Option.getOrThrow(lease).release
        yield* store.clear
      }).pipe(Effect.withTracer(tracer))
      assert.deepStrictEqual(spans.map((span) => span.name), [
        "SessionStore.write",
        "SessionStore.read",
        "SessionStore.deleteIfSame",
        "SessionStore.lease",
        "SessionStore.release",
        "SessionStore.clear"
      ])
      const read = spans[1]!.attributes
      assert.strictEqual(read.get("kaltura.session_store"), "memory")
      assert.strictEqual(read.get("kaltura.partner_id"), 12345)
      assert.strictEqual(read.get("kaltura.app_token_id"), "0_ab12cd34")
      assert.strictEqual(read.get("kaltura.session_store.hit"), true)
      for (const span of spans) {
        for (const value of span.attributes.values()) {
          for (const secret of [ks, token, widgetKs]) expect(String(value)).not.toContain(secret)
        }
      }
    }))

  describe("no store", () => {
    it.effect("SessionStore.none: reads miss, writes are dropped, leases granted", () =>
      Effect.gen(function*() {
        const store = SessionStore.none
        assert.isTrue(Option.isNone(yield* store.read(settingsOf())))
        assert.isFalse(yield* store.write(settingsOf(), sessionOf(0)))
        assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "1 second")))
        assert.isTrue(Option.isSome(yield* store.lease(settingsOf(), "1 second")))
      }))
  })

  it.effect("layerMemory provides one store shared by its users", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(hour)
      const [a, b] = yield* Effect.all([SessionStore.SessionStore, SessionStore.SessionStore])
      yield* a.write(settingsOf(), sessionOf(hour))
      assert.isTrue(Option.isSome(yield* b.read(settingsOf())))
    }).pipe(Effect.provide(SessionStore.layerMemory)))
})

const settings2 = () => settingsOf({ userId: "u2" })
