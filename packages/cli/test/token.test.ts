/**
 * `kaltura-apptoken token add|list|get|update|delete`: the shipped bin against the fake Kaltura server in this
 * process, over loopback. Every output is scanned at the end for the admin secret, KS strings and token values
 * outside the outputs that show a token by design (`add`, and `--show-secret`).
 */
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Effect, Exit, Scope } from "effect"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { assertBuilt, expectFailure, recorded, type Result, run } from "./harness.js"

let scope: Scope.CloseableScope
let fake: FakeKaltura.Service
let env: Record<string, string>
let tmp: string

const runEffect = <A>(effect: Effect.Effect<A>) => Effect.runPromise(effect)
const requestCount = () => runEffect(Effect.map(fake.requests, (log) => log.length))
const count = (action: string) => runEffect(fake.callCount(action))
/** Outputs that may show a token value: the stdout of these runs. */
const showsSecret = new Set<Result>()

beforeAll(async () => {
  assertBuilt()
  scope = await Effect.runPromise(Scope.make())
  fake = await Effect.runPromise(Scope.extend(FakeKaltura.make({ liveClock: true }), scope))
  env = {
    KALTURA_SERVICE_URL: fake.url,
    KALTURA_PARTNER_ID: String(fake.partnerId),
    KALTURA_ADMIN_SECRET: fake.adminSecret
  }
  tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-apptoken-token-test-"))
})

afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  if (tmp !== undefined) Fs.rmSync(tmp, { recursive: true, force: true })
})

/** The `name: value` lines of `add`/`get`/`update` as a record. */
const fieldsOf = (stdout: string): Record<string, string> =>
  Object.fromEntries(
    stdout.trim().split("\n").map((line) => {
      const at = line.indexOf(":")
      return [line.slice(0, at), line.slice(at + 1).trim()]
    })
  )

const jsonKeys = [
  "createdAt",
  "description",
  "expiry",
  "hashType",
  "id",
  "partnerId",
  "sessionDuration",
  "sessionPrivileges",
  "sessionType",
  "sessionUserId",
  "status",
  "updatedAt"
]

describe("kaltura-apptoken token", () => {
  it("--help: token and each of its commands", async () => {
    const results = await Promise.all(
      [[], ["add"], ["list"], ["get"], ["update"], ["delete"]].map((sub) => run(["token", ...sub, "--help"]))
    )
    for (const result of results) {
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toContain("USAGE")
    }
    expect(results[0]!.stdout).toMatch(/add[\s\S]*list[\s\S]*get[\s\S]*update[\s\S]*delete/)
    expect(results[1]!.stdout).toContain("--admin-secret-file")
    expect(results[1]!.stdout).toContain("--hash-type")
    expect(results[4]!.stdout).not.toContain("--hash-type")
    const root = await run(["--help"])
    expect(root.stdout).toMatch(/\btoken\b[\s\S]*\bdoctor\b/)
  }, 60_000)

  it("add: sends an explicit SHA256 by default and only the fields given; prints id and token once", async () => {
    const before = await count("appToken.add")
    const result = await run(
      ["token", "add", "--description", "ci bot", "--session-type", "ADMIN", "--session-duration", "3600"],
      { env }
    )
    showsSecret.add(result)
    expect(result.code, result.stderr).toBe(0)
    const lines = result.stdout.trim().split("\n")
    expect(lines[0]).toMatch(/^id: +\d+_[0-9a-z]{8}$/)
    expect(lines[1]).toMatch(/^token: +[0-9a-f]{32}$/)
    const fields = fieldsOf(result.stdout)
    expect(fields).toMatchObject({
      hashType: "SHA256",
      status: "ACTIVE",
      sessionType: "ADMIN",
      sessionDuration: "3600 s",
      description: "ci bot",
      expiry: "never"
    })
    const stored = await runEffect(fake.getAppToken(fields.id!))
    expect(stored._tag === "Some" && stored.value.token).toBe(fields.token)
    expect(stored._tag === "Some" && stored.value.hashType).toBe("SHA256")
    // one line on stderr saying to store it now
    const errLines = result.stderr.trim().split("\n")
    expect(errLines).toHaveLength(1)
    expect(errLines[0]).toMatch(/^kaltura-apptoken: store the token now/)
    expect(errLines[0]).toContain(`token get ${fields.id} --show-secret`)
    expect(await count("appToken.add")).toBe(before + 1)
    const sent = (await runEffect(fake.requests)).filter((entry) =>
      entry.service === "apptoken" && entry.action === "add"
    )
      .at(-1)!.params.appToken as Record<string, unknown>
    expect(Object.keys(sent).sort()).toEqual(
      ["description", "hashType", "objectType", "sessionDuration", "sessionType"]
    )
    expect(sent.hashType).toBe("SHA256")
  })

  it("add --json: one object with id, hashType, status, token and the other fields", async () => {
    const expiry = Math.floor(Date.now() / 1000) + 86400 * 90
    const result = await run(
      [
        "token",
        "add",
        "--json",
        "--hash-type",
        "sha512",
        "--expiry",
        String(expiry),
        "--session-user-id",
        "bot@example.com",
        "--privileges",
        "sview:*"
      ],
      { env }
    )
    showsSecret.add(result)
    expect(result.code, result.stderr).toBe(0)
    const json = JSON.parse(result.stdout)
    expect(Object.keys(json).sort()).toEqual([...jsonKeys, "token"].sort())
    expect(json).toMatchObject({
      hashType: "SHA512",
      status: "ACTIVE",
      partnerId: fake.partnerId,
      expiry,
      sessionUserId: "bot@example.com",
      sessionPrivileges: "sview:*",
      sessionType: null,
      description: null
    })
    expect(json.token).toMatch(/^[0-9a-f]{32}$/)
    expect(result.stderr).toMatch(/^kaltura-apptoken: store the token now[^\n]*\n$/)
  })

  it("list and get: secrets hidden unless --show-secret; --json shapes", async () => {
    const seeded = await runEffect(fake.seedAppToken({ hashType: "SHA1", description: "listed" }))
    const [list, listSecret, listJson, get, getSecret, getJson, getJsonSecret] = await Promise.all([
      run(["token", "list"], { env }),
      run(["token", "list", "--show-secret"], { env }),
      run(["token", "list", "--json"], { env }),
      run(["token", "get", seeded.id], { env }),
      run(["token", "get", seeded.id, "--show-secret"], { env }),
      run(["token", "get", seeded.id, "--json"], { env }),
      run(["token", "get", "--json", "--show-secret", seeded.id], { env })
    ])
    for (const result of [listSecret, getSecret, getJsonSecret]) showsSecret.add(result)
    for (const result of [list, listSecret, listJson, get, getSecret, getJson, getJsonSecret]) {
      expect(result.code, `${result.args.join(" ")}: ${result.stderr}`).toBe(0)
      expect(result.stderr).toBe("")
    }
    // a table: a header, then one row per token
    const rows = list.stdout.trim().split("\n")
    expect(rows[0]).toMatch(/^ID +STATUS +HASH +EXPIRY/)
    const row = rows.find((line) => line.startsWith(seeded.id))
    expect(row).toMatch(new RegExp(`^${seeded.id} +ACTIVE +SHA1 +never .*listed$`))
    expect(list.stdout).not.toContain(seeded.token)
    expect(listSecret.stdout.split("\n")[0]).toMatch(/^ID +TOKEN +STATUS/)
    expect(listSecret.stdout).toContain(seeded.token)
    const array = JSON.parse(listJson.stdout)
    expect(Array.isArray(array)).toBe(true)
    const tokens = await runEffect(fake.appTokens)
    expect(array.map((token: { id: string }) => token.id).sort()).toEqual(tokens.map((token) => token.id).sort())
    for (const item of array) expect(Object.keys(item).sort()).toEqual(jsonKeys)
    expect(fieldsOf(get.stdout)).toMatchObject({ id: seeded.id, hashType: "SHA1", description: "listed" })
    expect(get.stdout).not.toContain("token:")
    expect(fieldsOf(getSecret.stdout).token).toBe(seeded.token)
    expect(Object.keys(JSON.parse(getJson.stdout)).sort()).toEqual(jsonKeys)
    expect(JSON.parse(getJsonSecret.stdout).token).toBe(seeded.token)
  }, 30_000)

  it("update: changes only the fields given, prints the token as get does; nothing to update is refused", async () => {
    const seeded = await runEffect(fake.seedAppToken({ hashType: "SHA256", description: "old" }))
    const result = await run(
      ["token", "update", seeded.id, "--description", "new", "--session-duration", "600", "--json"],
      { env }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe("")
    const json = JSON.parse(result.stdout)
    expect(Object.keys(json).sort()).toEqual(jsonKeys)
    expect(json).toMatchObject({ id: seeded.id, description: "new", sessionDuration: 600, hashType: "SHA256" })
    const stored = await runEffect(fake.getAppToken(seeded.id))
    expect(stored._tag === "Some" && stored.value.description).toBe("new")
    const plain = await run(["token", "update", seeded.id, "--session-type", "user"], { env })
    expect(plain.code, plain.stderr).toBe(0)
    expect(fieldsOf(plain.stdout)).toMatchObject({ id: seeded.id, sessionType: "USER", description: "new" })
    expect(plain.stdout).not.toContain(seeded.token)
    const before = await requestCount()
    const [nothing, hashType] = await Promise.all([
      run(["token", "update", seeded.id], { env }),
      run(["token", "update", seeded.id, "--hash-type", "SHA1"], { env })
    ])
    expectFailure(nothing, 2, "nothing to update")
    expectFailure(hashType, 2, "--hash-type")
    expect(await requestCount()).toBe(before)
  })

  it("delete: refused without --yes (nothing sent); with --yes deletes and warns that its sessions stop", async () => {
    const seeded = await runEffect(fake.seedAppToken({ hashType: "SHA256" }))
    const before = await requestCount()
    const refused = await run(["token", "delete", seeded.id], { env })
    expectFailure(refused, 2, "--yes", "INVALID_KS LOGOUT")
    expect(await requestCount()).toBe(before)
    const deletes = await count("appToken.delete")
    const deleted = await run(["token", "delete", seeded.id, "--yes"], { env })
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(deleted.stdout).toBe(`deleted ${seeded.id}\n`)
    expect(deleted.stderr).toMatch(/^kaltura-apptoken: warning: every session of App Token \S+ has stopped working/)
    expect(deleted.stderr).toContain("INVALID_KS LOGOUT")
    expect(await count("appToken.delete")).toBe(deletes + 1)
    const stored = await runEffect(fake.getAppToken(seeded.id))
    expect(stored._tag === "Some" && stored.value.status).toBe(3)
    const again = await run(["token", "delete", seeded.id, "--yes", "--json"], { env })
    expectFailure(again, 3, "APP_TOKEN_ID_NOT_FOUND", seeded.id, "token list")
    const other = await runEffect(fake.seedAppToken({ hashType: "SHA256" }))
    const json = await run(["token", "delete", "--yes", "--json", other.id], { env })
    expect(json.code, json.stderr).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ id: other.id, deleted: true })
  })

  it("a wrong admin secret: exit 3 with what to check, session.start sent once (not retried)", async () => {
    const before = await count("session.start")
    const result = await run(["token", "list"], { env: { ...env, KALTURA_ADMIN_SECRET: "f".repeat(32) } })
    expectFailure(result, 3, "START_SESSION_ERROR", "KALTURA_ADMIN_SECRET", "--admin-secret-file")
    expect(await count("session.start")).toBe(before + 1)
    const debug = await run(["token", "add", "--debug"], { env: { ...env, KALTURA_ADMIN_SECRET: "e".repeat(32) } })
    expect(debug.code, debug.stderr).toBe(3)
    expect(debug.stderr).toMatch(/^kaltura-apptoken: Kaltura refused the admin session/)
  })

  it("the admin secret: from --admin-secret-file (trimmed, winning over the variable); never a flag", async () => {
    const file = Path.join(tmp, "admin-secret")
    Fs.writeFileSync(file, `  ${fake.adminSecret}\n\n`)
    const empty = Path.join(tmp, "empty")
    Fs.writeFileSync(empty, " \n")
    const before = await requestCount()
    const [missing, flag, flagEquals, emptyFile, noFile] = await Promise.all([
      run(["token", "list"], { env: { ...env, KALTURA_ADMIN_SECRET: undefined } }),
      run(["token", "list", "--admin-secret", fake.adminSecret], { env }),
      run(["token", "add", `--admin-secret=${fake.adminSecret}`], { env }),
      run(["token", "list", "--admin-secret-file", empty], { env }),
      run(["token", "list", "--admin-secret-file", Path.join(tmp, "no-such-file")], { env })
    ])
    expectFailure(missing, 2, "KALTURA_ADMIN_SECRET", "--admin-secret-file")
    expectFailure(flag, 2, "no --admin-secret flag", "KALTURA_ADMIN_SECRET", "--admin-secret-file")
    expectFailure(flagEquals, 2, "no --admin-secret flag")
    expectFailure(emptyFile, 2, "--admin-secret-file", "empty")
    expectFailure(noFile, 2, "--admin-secret-file")
    expect(await requestCount()).toBe(before)
    const fromFile = await run(["token", "list", "--admin-secret-file", file], {
      env: { ...env, KALTURA_ADMIN_SECRET: "0".repeat(32) }
    })
    expect(fromFile.code, fromFile.stderr).toBe(0)
  })

  it(
    "exit 2 before any request: expiry or duration 0, past or not whole; bad hash or session type; partner",
    async () => {
      const past = String(Math.floor(Date.now() / 1000) - 60)
      const before = await requestCount()
      const cases: ReadonlyArray<[ReadonlyArray<string>, Record<string, string | undefined>, ...Array<string>]> = [
        [["token", "add", "--expiry", "0"], env, "--expiry", "future"],
        [["token", "add", "--expiry", past], env, "--expiry"],
        [["token", "add", "--expiry", "1.5e9"], env, "--expiry"],
        [["token", "add", "--session-duration", "0"], env, "--session-duration", "positive"],
        [["token", "add", "--session-duration", "-5"], env, "--session-duration"],
        [["token", "add", "--session-duration", "10.5"], env, "--session-duration"],
        [["token", "update", "0_abcdefgh", "--expiry", "0"], env, "--expiry"],
        [["token", "add", "--hash-type", "SHA3"], env, "--hash-type", "SHA256"],
        [["token", "add", "--session-type", "1"], env, "--session-type", "USER, ADMIN"],
        [["token", "add", "--description", " "], env, "--description"],
        [["token", "list"], { ...env, KALTURA_PARTNER_ID: undefined }, "--partner-id", "KALTURA_PARTNER_ID"],
        [["token", "list", "--partner-id", "abc"], env, "--partner-id", "KALTURA_PARTNER_ID"],
        [["token", "list", "--service-url", "http://example.com"], env, "--service-url", "https://"],
        [["token", "get"], env, "ID"]
      ]
      const results = await Promise.all(cases.map(([args, caseEnv]) => run(args, { env: caseEnv })))
      for (const [i, result] of results.entries()) {
        const [args, , ...mentions] = cases[i]!
        try {
          expectFailure(result, 2, ...mentions)
        } catch (error) {
          throw new Error(`kaltura-apptoken ${args.join(" ")}: ${(error as Error).message}`)
        }
      }
      expect(await requestCount()).toBe(before)
    },
    60_000
  )

  it("add is not sent again after a failure that may have reached Kaltura (exit 4, says to check the list)", async () => {
    await runEffect(fake.injectFault("appToken.add", FakeKalturaFault.truncatedJson))
    const tokens = (await runEffect(fake.appTokens)).length
    const adds = await count("appToken.add")
    const result = await run(["token", "add"], { env })
    expectFailure(result, 4, "not sent again", "token list")
    expect(await count("appToken.add")).toBe(adds + 1)
    expect((await runEffect(fake.appTokens)).length).toBe(tokens + 1)
  })

  it("--debug: the debug logs and full causes on stderr, still without secrets (scanned below)", async () => {
    const seeded = await runEffect(fake.seedAppToken({ hashType: "SHA256" }))
    const [list, get, missing] = await Promise.all([
      run(["token", "list", "--debug"], { env }),
      run(["token", "get", seeded.id, "--json", "--debug"], { env }),
      run(["token", "get", "0_zzzzzzzz", "--debug"], { env })
    ])
    expect(list.code, list.stderr).toBe(0)
    expect(get.code, get.stderr).toBe(0)
    expect(missing.code).toBe(3)
    expect(missing.stderr).toMatch(/^kaltura-apptoken: Kaltura has no App Token 0_zzzzzzzz/)
    expect(missing.stderr).toContain("CliFailure")
  })

  it("no output holds the admin secret or a KS; token values only where shown by design", async () => {
    const tokens = (await runEffect(fake.appTokens)).map((token) => token.token)
    const kses = new Set<string>()
    for (const entry of await runEffect(fake.requests)) {
      if (typeof entry.params.ks === "string") kses.add(entry.params.ks)
      try {
        const body = JSON.parse(entry.responseBody ?? "null")
        if (typeof body === "string" && body.startsWith("djJ8")) kses.add(body)
      } catch {
        // not JSON
      }
    }
    expect(kses.size).toBeGreaterThan(3)
    expect(recorded.length).toBeGreaterThan(30)
    for (const result of recorded) {
      const where = `kaltura-apptoken ${result.args.join(" ")}`
      for (const [stream, text] of [["stdout", result.stdout], ["stderr", result.stderr]] as const) {
        expect(text.includes(fake.adminSecret), `admin secret in ${stream} of ${where}`).toBe(false)
        for (const ks of kses) expect(text.includes(ks), `KS in ${stream} of ${where}`).toBe(false)
        expect(text, `KS-like text in ${stream} of ${where}`).not.toMatch(/djJ8[A-Za-z0-9_=-]{40,}/)
        if (stream === "stdout" && showsSecret.has(result)) continue
        for (const token of tokens) expect(text.includes(token), `token in ${stream} of ${where}`).toBe(false)
      }
    }
  })
})
