/**
 * `kaltura-apptoken doctor`: the shipped bin against the fake Kaltura server in this process, over loopback: one line
 * per check, `--json` the same as data, the exit code of the first failure, the right hash type named on
 * `INVALID_APP_TOKEN_HASH`, the token's record with an admin secret; and no secret in any output.
 */
import { FakeKaltura } from "@kaltura-effect/testing"
import { Effect, Exit, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assertBuilt, closedPort, recorded, type Result, run } from "./harness.js"

let scope: Scope.CloseableScope
let fake: FakeKaltura.Service
let token: FakeKaltura.AppToken
let env: Record<string, string>
let tmp: string

const runEffect = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)
const requestCount = () => runEffect(Effect.map(fake.requests, (log) => log.length))

beforeAll(async () => {
  assertBuilt()
  scope = await Effect.runPromise(Scope.make())
  fake = await Effect.runPromise(Scope.extend(FakeKaltura.make({ liveClock: true }), scope))
  token = await runEffect(fake.seedAppToken({ hashType: "SHA256" }))
  env = {
    KALTURA_SERVICE_URL: fake.url,
    KALTURA_PARTNER_ID: String(fake.partnerId),
    KALTURA_APP_TOKEN_ID: token.id,
    KALTURA_APP_TOKEN: token.token
  }
  tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-apptoken-doctor-test-"))
})

afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  if (tmp !== undefined) Fs.rmSync(tmp, { recursive: true, force: true })
})

/** The report's lines, keyed by check name: the mark and the rest. */
const checksOf = (result: Result): Record<string, { readonly mark: string; readonly text: string }> =>
  Object.fromEntries(
    result.stdout.trim().split("\n").map((line) => {
      const match = /^([✓!✗]) ([^:]+): (.*)$/.exec(line)
      if (match === null) throw new Error(`not a report line: ${JSON.stringify(line)}`)
      return [match[2]!, { mark: match[1]!, text: match[3]! }]
    })
  )

describe("kaltura-apptoken doctor", () => {
  it("all checks pass: one ✓ line each, exit 0, nothing on stderr", async () => {
    const result = await run(["doctor"], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe("")
    const checks = checksOf(result)
    expect(Object.keys(checks)).toEqual([
      "settings",
      "service reachable",
      "clock",
      "widget session",
      "app token",
      "granted session"
    ])
    for (const check of Object.values(checks)) expect(check.mark).toBe("✓")
    expect(checks["app token"]!.text).toContain(`${token.id} accepted with SHA256`)
    expect(checks.settings!.text).toContain("KALTURA_ADMIN_SECRET")
    expect(await runEffect(fake.callCount("system.ping"))).toBeGreaterThanOrEqual(1)
  })

  it("--json: the same checks as data", async () => {
    const result = await run(["doctor", "--json"], { env })
    expect(result.code, result.stderr).toBe(0)
    const json = JSON.parse(result.stdout)
    expect(json.ok).toBe(true)
    expect(json.exitCode).toBe(0)
    expect(json.checks.map((check: { name: string }) => check.name)).toEqual(
      Object.keys(checksOf(await run(["doctor"], { env })))
    )
    for (const check of json.checks) {
      expect(check.result).toBe("ok")
      expect(typeof check.detail).toBe("string")
    }
    const appToken = json.checks.find((check: { name: string }) => check.name === "app token")
    expect(appToken.data).toEqual({ appTokenId: token.id, hashType: "SHA256" })
  })

  it("a token seeded with SHA1 while the CLI says SHA256: names SHA1, exit 3, at most 3 more startSession calls", async () => {
    const sha1 = await runEffect(fake.seedAppToken({ hashType: "SHA1" }))
    const sha1Env = { ...env, KALTURA_APP_TOKEN_ID: sha1.id, KALTURA_APP_TOKEN: sha1.token }
    const before = await runEffect(fake.callCount("appToken.startSession"))
    const result = await run(["doctor"], { env: sha1Env })
    const starts = (await runEffect(fake.callCount("appToken.startSession"))) - before
    expect(result.code, result.stderr).toBe(3)
    expect(starts).toBeGreaterThanOrEqual(2)
    expect(starts).toBeLessThanOrEqual(4)
    const checks = checksOf(result)
    expect(checks["app token"]!.mark).toBe("✗")
    expect(checks["app token"]!.text).toContain("INVALID_APP_TOKEN_HASH with SHA256: the token's hash type is SHA1")
    expect(checks["app token"]!.text).toContain("--hash-type/KALTURA_APP_TOKEN_HASH_TYPE to SHA1")
    expect(checks["granted session"]).toBeUndefined()
    expect(result.stderr).toMatch(/^kaltura-apptoken: doctor: the app token check failed[^\n]*\n$/)
    const json = JSON.parse((await run(["doctor", "--json"], { env: sha1Env })).stdout)
    expect(json.ok).toBe(false)
    expect(json.exitCode).toBe(3)
    expect(json.checks.at(-1)).toMatchObject({
      name: "app token",
      result: "failed",
      data: { code: "INVALID_APP_TOKEN_HASH", configuredHashType: "SHA256", tokenHashType: "SHA1" }
    })
    // with the hash type it names, every check passes
    const fixed = await run(["doctor", "--hash-type", "SHA1"], { env: sha1Env })
    expect(fixed.code, fixed.stderr).toBe(0)
  })

  it("a wrong App Token id: ✗ app token with APP_TOKEN_ID_NOT_FOUND, naming the flag, exit 3", async () => {
    const result = await run(["doctor", "--app-token-id", "0_zzzzzzzz"], { env })
    expect(result.code, result.stderr).toBe(3)
    const checks = checksOf(result)
    expect(checks["widget session"]!.mark).toBe("✓")
    expect(checks["app token"]!.mark).toBe("✗")
    expect(checks["app token"]!.text).toContain("APP_TOKEN_ID_NOT_FOUND")
    expect(checks["app token"]!.text).toContain("--app-token-id/KALTURA_APP_TOKEN_ID")
  })

  it("invalid settings: ✗ settings, exit 2, nothing sent", async () => {
    const before = await requestCount()
    const [partner, missingToken] = await Promise.all([
      run(["doctor", "--partner-id", "abc"], { env }),
      run(["doctor"], { env: { ...env, KALTURA_APP_TOKEN: undefined } })
    ])
    for (const result of [partner, missingToken]) {
      expect(result.code, result.stderr).toBe(2)
      expect(Object.keys(checksOf(result))).toEqual(["settings"])
      expect(checksOf(result).settings!.mark).toBe("✗")
    }
    expect(checksOf(partner).settings!.text).toContain("--partner-id (env KALTURA_PARTNER_ID)")
    expect(checksOf(missingToken).settings!.text).toContain("--token-file")
    expect(await requestCount()).toBe(before)
  })

  it("Kaltura unreachable: ✗ service reachable, exit 4", async () => {
    const port = await closedPort()
    const result = await run(["doctor", "--service-url", `http://127.0.0.1:${port}`], { env, timeout: 20_000 })
    expect(result.code, result.stderr).toBe(4)
    const checks = checksOf(result)
    expect(checks["service reachable"]!.mark).toBe("✗")
    expect(checks["service reachable"]!.text).toContain("check the service URL")
  }, 25_000)

  it("with an admin secret: the token's status and expiry, a warning under 30 days (exit 0)", async () => {
    const now = await runEffect(fake.now)
    const soon = await runEffect(fake.seedAppToken({ hashType: "SHA256", expiry: now + 10 * 86400 }))
    const file = Path.join(tmp, "admin-secret")
    Fs.writeFileSync(file, fake.adminSecret + "\n")
    const [ok, expiring, wrong] = await Promise.all([
      run(["doctor"], { env: { ...env, KALTURA_ADMIN_SECRET: fake.adminSecret } }),
      run(["doctor", "--admin-secret-file", file], {
        env: { ...env, KALTURA_APP_TOKEN_ID: soon.id, KALTURA_APP_TOKEN: soon.token }
      }),
      run(["doctor"], { env: { ...env, KALTURA_ADMIN_SECRET: "a".repeat(32) } })
    ])
    expect(ok.code, ok.stderr).toBe(0)
    expect(checksOf(ok)["token record"]).toEqual({ mark: "✓", text: "status ACTIVE, hash type SHA256, no expiry" })
    expect(expiring.code, expiring.stderr).toBe(0)
    expect(expiring.stderr).toBe("")
    const record = checksOf(expiring)["token record"]!
    expect(record.mark).toBe("!")
    expect(record.text).toMatch(/expires in (9|10) day\(s\)/)
    expect(record.text).toContain("token add")
    expect(checksOf(expiring).settings!.text).toContain("admin secret from --admin-secret-file")
    expect(wrong.code, wrong.stderr).toBe(3)
    expect(checksOf(wrong)["token record"]!.mark).toBe("✗")
    expect(checksOf(wrong)["token record"]!.text).toContain("START_SESSION_ERROR")
    expect(checksOf(wrong)["token record"]!.text).toContain("KALTURA_ADMIN_SECRET")
  })

  it("clock skew over 30 s is a warning, not a failure", async () => {
    await runEffect(fake.setClockOffset(120_000))
    try {
      const result = await run(["doctor"], { env })
      expect(result.code, result.stderr).toBe(0)
      const clock = checksOf(result).clock!
      expect(clock.mark).toBe("!")
      expect(clock.text).toMatch(/the server's clock is 1[12]\d s ahead of this host's/)
    } finally {
      await runEffect(fake.setClockOffset(0))
    }
  })

  it("--debug: the debug logs and full causes on stderr, still without secrets (scanned below)", async () => {
    const adminEnv = { ...env, KALTURA_ADMIN_SECRET: fake.adminSecret }
    const [ok, wrongHash, wrongSecret] = await Promise.all([
      run(["doctor", "--debug"], { env: adminEnv }),
      run(["doctor", "--debug", "--hash-type", "MD5"], { env: adminEnv }),
      run(["doctor", "--debug"], { env: { ...env, KALTURA_ADMIN_SECRET: "b".repeat(32) } })
    ])
    expect(ok.code, ok.stderr).toBe(0)
    expect(wrongHash.code).toBe(3)
    expect(wrongHash.stderr).toContain("CliFailure")
    expect(wrongSecret.code).toBe(3)
  })

  it("no output holds a token, the admin secret or a KS", async () => {
    const tokens = (await runEffect(fake.appTokens)).map((item) => item.token)
    const kses = new Set<string>()
    for (const entry of await runEffect(fake.requests)) {
      if (typeof entry.params.ks === "string") kses.add(entry.params.ks)
    }
    expect(kses.size).toBeGreaterThan(3)
    expect(recorded.length).toBeGreaterThan(10)
    for (const result of recorded) {
      const where = `kaltura-apptoken ${result.args.join(" ")}`
      for (const text of [result.stdout, result.stderr]) {
        expect(text.includes(fake.adminSecret), `admin secret in ${where}`).toBe(false)
        for (const secret of tokens) expect(text.includes(secret), `token in ${where}`).toBe(false)
        for (const ks of kses) expect(text.includes(ks), `KS in ${where}`).toBe(false)
        expect(text, `KS-like text in ${where}`).not.toMatch(/djJ8[A-Za-z0-9_=-]{40,}/)
      }
    }
  })
})
