/**
 * The shipped `kaltura-apptoken` bin (the package's `bin`: the bundle `pnpm build` writes to dist/), run as a
 * subprocess (`node dist/bin.js`, not through pnpm) against the fake Kaltura server started in this process. Every
 * output is recorded and scanned at the end for the token, hashes and whole KS strings outside the outputs that are
 * secret by design.
 */
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Effect, Exit, Option, Scope } from "effect"
import { spawn } from "node:child_process"
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type Allowed,
  assertBuilt,
  bin,
  childEnv,
  closedPort,
  expectFailure,
  recorded,
  type Result,
  run as runBin,
  runNow as runBinNow,
  type RunOptions
} from "./harness.js"

/** Tokens seeded by `fake-server` subprocesses: by-design output of that command only. */
const extraTokens: Array<string> = []

/** These runs are about the flow itself: no session cache unless a test asks for one (cache.test.ts does). */
const withoutCache = (options: RunOptions = {}): RunOptions => ({
  ...options,
  env: { KALTURA_CACHE: "off", ...options.env }
})
const run = (args: ReadonlyArray<string>, options?: RunOptions) => runBin(args, withoutCache(options))
const runNow = (args: ReadonlyArray<string>, options?: RunOptions) => runBinNow(args, withoutCache(options))

// ---------------------------------------------------------------------------------------------------------
// the fake server, in this process
// ---------------------------------------------------------------------------------------------------------

let scope: Scope.CloseableScope
let fake: FakeKaltura.Service
let token: FakeKaltura.AppToken
let env: Record<string, string>
let tmp: string
let unreachable: Promise<Result>

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
  tmp = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-apptoken-test-"))
  // mostly waiting on the retry back-off: started now, checked by its test, while the others use the CPU
  const port = await closedPort()
  unreachable = runNow(["session"], { env: { ...env, KALTURA_SERVICE_URL: `http://127.0.0.1:${port}` } })
  unreachable.catch(() => {}) // awaited (and reported) by its test
})

afterAll(async () => {
  if (scope !== undefined) await Effect.runPromise(Scope.close(scope, Exit.void))
  if (tmp !== undefined) Fs.rmSync(tmp, { recursive: true, force: true })
})

// ---------------------------------------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------------------------------------

describe("kaltura-apptoken", () => {
  it("--help on the program and on every command", async () => {
    const commands = [[], ["session"], ["hash"], ["call"], ["cache", "clear"], ["fake-server"], ["demo"]]
    const results = await Promise.all(commands.map((command) => run([...command, "--help"])))
    for (const [i, result] of results.entries()) {
      expect(result.code, result.stderr).toBe(0)
      expect(result.stderr).toBe("")
      expect(result.stdout).toContain("USAGE")
      expect(result.stdout).not.toContain("\u001b[") // no colours when not a terminal
      if (commands[i]!.length > 0) expect(result.stdout).toContain(`$ ${commands[i]!.at(-1)}`)
    }
    expect(results[0]!.stdout).toMatch(/session[\s\S]*hash[\s\S]*call[\s\S]*cache[\s\S]*fake-server[\s\S]*demo/)
    expect(results[1]!.stdout).toContain("KALTURA_PARTNER_ID")
    expect(results[1]!.stdout).toContain("--token-file")
  }, 60_000)

  it("session: prints the KS and a newline, from the environment variables", async () => {
    const result = await run(["session"], { env, allowed: ["ks"] })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe("")
    expect(result.stdout).toMatch(/^djJ8[A-Za-z0-9_=-]+\n$/)
    const decoded = await runEffect(fake.decodeKs(result.stdout.trim()))
    expect(Option.isSome(decoded)).toBe(true)
  })

  it("session --json: one object with the documented fields and types; session flags are sent", async () => {
    const started = Math.floor(Date.now() / 1000)
    const result = await run(
      [
        "session",
        "--json",
        "--type",
        "ADMIN",
        "--user-id",
        "alice@example.com",
        "--expiry",
        "600",
        "--privileges",
        "view:*"
      ],
      { env, allowed: ["ks"] }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout.endsWith("\n")).toBe(true)
    expect(result.stdout.trim().split("\n")).toHaveLength(1)
    const json = JSON.parse(result.stdout)
    expect(Object.keys(json).sort()).toEqual(
      ["expiresAt", "expiry", "ks", "partnerId", "privileges", "sessionType", "source", "userId"]
    )
    expect(json.source).toBe("kaltura")
    expect(json.partnerId).toBe(fake.partnerId)
    expect(json.userId).toBe("alice@example.com")
    expect(json.sessionType).toBe(2)
    expect(typeof json.ks).toBe("string")
    expect(json.privileges).toContain(`apptoken:${token.id}`)
    expect(json.privileges).toContain("view:*")
    expect(json.expiry).toBeGreaterThanOrEqual(started + 590)
    expect(json.expiry).toBeLessThanOrEqual(started + 620)
    expect(json.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    expect(Math.abs(Date.parse(json.expiresAt) / 1000 - json.expiry)).toBeLessThan(15)
    const numeric = await run(["session", "--json", "--type", "0"], { env, allowed: ["ks"] })
    expect(JSON.parse(numeric.stdout).sessionType).toBe(0)
  })

  it("flags win over the environment variables", async () => {
    const result = await run(
      ["session", "--partner-id", String(fake.partnerId), "--hash-type", "sha256", "--service-url", fake.url],
      {
        env: {
          ...env,
          KALTURA_PARTNER_ID: "999",
          KALTURA_APP_TOKEN_HASH_TYPE: "SHA1",
          KALTURA_SERVICE_URL: "https://kaltura.invalid"
        },
        allowed: ["ks"]
      }
    )
    expect(result.code, result.stderr).toBe(0)
  })

  it("--token-file: the token read from a file (trimmed), winning over KALTURA_APP_TOKEN", async () => {
    const file = Path.join(tmp, "token")
    Fs.writeFileSync(file, `  ${token.token}\n\n`)
    const [fromFile, overEnv] = await Promise.all([
      run(["session", "--token-file", file], { env: { ...env, KALTURA_APP_TOKEN: undefined }, allowed: ["ks"] }),
      run(["session", "--token-file", file], { env: { ...env, KALTURA_APP_TOKEN: "0".repeat(32) }, allowed: ["ks"] })
    ])
    expect(fromFile.code, fromFile.stderr).toBe(0)
    expect(overEnv.code, overEnv.stderr).toBe(0)
  })

  it("exit 2: bad or missing input, naming the flag and its variable, before any request", async () => {
    const before = await requestCount()
    const missingFile = Path.join(tmp, "no-such-file")
    const cases: ReadonlyArray<[ReadonlyArray<string>, Record<string, string | undefined>, ...Array<string>]> = [
      [
        ["session"],
        { ...env, KALTURA_PARTNER_ID: undefined },
        "--partner-id",
        "KALTURA_PARTNER_ID",
        "positive integer"
      ],
      [["session", "--partner-id", "abc"], env, "--partner-id", "KALTURA_PARTNER_ID", "positive integer"],
      [["session"], { ...env, KALTURA_APP_TOKEN: undefined }, "KALTURA_APP_TOKEN", "--token-file"],
      [["session", "--token-file", missingFile], env, "--token-file"],
      [["session", "--service-url", "http://example.com"], env, "--service-url", "KALTURA_SERVICE_URL", "https://"],
      [["session", "--type", "1"], env, "--type", "KALTURA_SESSION_TYPE", "USER, ADMIN, 0 or 2"],
      [["session"], { ...env, KALTURA_SESSION_EXPIRY: "soon" }, "--expiry", "KALTURA_SESSION_EXPIRY"],
      [["session", "--partner-id"], env, "--partner-id", "KALTURA_PARTNER_ID"],
      [["session", "--no-such-flag"], env, "--no-such-flag"],
      [["session", "--token", token.token], env, "KALTURA_APP_TOKEN", "--token-file"],
      [["call", "baseEntry"], env, "ACTION"],
      [["call", "baseEntry", "list", "--param", "pager"], env, "--param", "name=value"],
      [["fake-server", "--port", "99999"], {}, "--port"]
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
  }, 60_000)

  it("--debug: the full cause, its stack trace in the original source files (the bundle's source maps)", async () => {
    const result = await run(["session", "--partner-id", "abc", "--debug"], { env })
    expect(result.code, result.stderr).toBe(2)
    expect(result.stdout).toBe("")
    expect(result.stderr).toMatch(/^kaltura-apptoken: invalid --partner-id/)
    expect(result.stderr).toContain("KalturaConfigError")
    expect(result.stderr).toMatch(/\n\s+at .*core\/src\/KalturaConfig\.ts:\d+:\d+/)
  })

  it("exit 3: a wrong hash type is INVALID_APP_TOKEN_HASH, with what to check", async () => {
    const [wrongHash, wrongId] = await Promise.all([
      run(["session", "--hash-type", "SHA1"], { env }),
      run(["session"], { env: { ...env, KALTURA_APP_TOKEN_ID: "0_zzzzzzzz" } })
    ])
    expectFailure(wrongHash, 3, "INVALID_APP_TOKEN_HASH", "--hash-type", "KALTURA_APP_TOKEN_HASH_TYPE")
    expectFailure(wrongId, 3, "APP_TOKEN_ID_NOT_FOUND", "KALTURA_APP_TOKEN_ID")
  })

  it("exit 4: Kaltura unreachable (a closed loopback port) after the retries", async () => {
    expectFailure(await unreachable, 4, "could not reach", "5 attempt", "--service-url")
  }, 20_000)

  it("hash: the lowercase hex the server expects (spec test vectors), token from env or --token-file", async () => {
    const ks =
      "djJ8MTIzNDV88V5OEYp4B7TZ2fhpMd_hJLhw_7-7BnloFOqIjtl3XGhyg-FiZfSudiQlBrcEhJvqWXZHLy9ZPJ5oyFEI8JUtEwqSz40" +
      "V5t97E214Zkck1O4="
    const vectorToken = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    const vectors: Record<string, string> = {
      MD5: "b62ab44babc1d2d373c2a5a158d52da9",
      SHA1: "d1c7c2eaf56430741fdd6fa424601d370d14b1db",
      SHA256: "ae8e79c6a26c38d58bc6ca36da420e60ff1e4de1769f281e1c731d5cc85a6511",
      SHA512:
        "dc6fec9a2fd74a331b4793e96766a207b5eaa875df60ba8075739680083116b60d86cd998542713662199e97a6e4f7151819f32cf4ae" +
        "d33d37c9c313ae942433"
    }
    const file = Path.join(tmp, "vector-token")
    Fs.writeFileSync(file, vectorToken + "\n")
    const hashEnv = { KALTURA_APP_TOKEN: vectorToken }
    const [md5, sha1, sha512, defaultFromFile, envType] = await Promise.all([
      ...["MD5", "SHA1", "SHA512"].map((type) =>
        run(["hash", "--ks", ks, "--hash-type", type], { env: hashEnv, allowed: ["hash"] })
      ),
      run(["hash", "--ks", ks, "--token-file", file], { allowed: ["hash"] }),
      run(["hash", "--ks", ks], { env: { ...hashEnv, KALTURA_APP_TOKEN_HASH_TYPE: "md5" }, allowed: ["hash"] })
    ])
    expect(md5!.stdout).toBe(vectors.MD5 + "\n")
    expect(sha1!.stdout).toBe(vectors.SHA1 + "\n")
    expect(sha512!.stdout).toBe(vectors.SHA512 + "\n")
    expect(defaultFromFile!.stdout).toBe(vectors.SHA256 + "\n")
    expect(envType!.stdout).toBe(vectors.MD5 + "\n")
    for (const result of [md5, sha1, sha512, defaultFromFile, envType]) {
      expect(result!.code, result!.stderr).toBe(0)
      expect(result!.stderr).toBe("")
    }
    const [badType, noKs, noToken] = await Promise.all([
      run(["hash", "--ks", ks, "--hash-type", "SHA3"], { env: hashEnv }),
      run(["hash"], { env: hashEnv }),
      run(["hash", "--ks", ks])
    ])
    expectFailure(badType, 2, "--hash-type", "KALTURA_APP_TOKEN_HASH_TYPE")
    expectFailure(noKs, 2, "--ks")
    expectFailure(noToken, 2, "KALTURA_APP_TOKEN", "--token-file")
  }, 60_000)

  it("call: options after the positional arguments, repeated nested --param, JSON result", async () => {
    const [after, before] = await Promise.all([
      run([
        "call",
        "baseEntry",
        "list",
        "--param",
        "pager:pageSize=2",
        "--param",
        "filter[statusEqual]=2",
        "--param",
        "filter:objectType=KalturaBaseEntryFilter",
        "--partner-id",
        String(fake.partnerId)
      ], { env: { ...env, KALTURA_PARTNER_ID: undefined } }),
      run(["call", "--param", "pager:pageSize=1", "baseEntry", "--hash-type", "SHA256", "list"], { env })
    ])
    expect(after.code, after.stderr).toBe(0)
    expect(after.stderr).toBe("")
    const json = JSON.parse(after.stdout)
    expect(json.objectType).toBe("KalturaBaseEntryListResponse")
    expect(json.objects).toHaveLength(2)
    expect(json.totalCount).toBeGreaterThanOrEqual(2)
    expect(before.code, before.stderr).toBe(0)
    expect(JSON.parse(before.stdout).objects).toHaveLength(1)
    const lists = await runEffect(
      Effect.map(
        fake.requests,
        (log) => log.filter((entry) => entry.service === "baseentry" && entry.action === "list")
      )
    )
    const sent = lists.map((entry) => entry.params as Record<string, any>)
    expect(sent).toContainEqual(expect.objectContaining({
      pager: { pageSize: "2" },
      filter: { statusEqual: "2", objectType: "KalturaBaseEntryFilter" }
    }))
    expect(sent).toContainEqual(expect.objectContaining({ pager: { pageSize: "1" } }))
  })

  it("call: refreshes and retries once when the KS is reported expired; a Kaltura error exits 3", async () => {
    await runEffect(fake.injectFault("baseEntry.list", FakeKalturaFault.ksExpired))
    const starts = await runEffect(fake.callCount("appToken.startSession"))
    const [retried, unknown] = await Promise.all([
      run(["call", "baseEntry", "list"], { env }),
      run(["call", "noSuchService", "list"], { env })
    ])
    expect(retried.code, retried.stderr).toBe(0)
    expect(JSON.parse(retried.stdout).objectType).toBe("KalturaBaseEntryListResponse")
    expect(await runEffect(fake.callCount("appToken.startSession"))).toBeGreaterThanOrEqual(starts + 3)
    expectFailure(unknown, 3, "SERVICE_DOES_NOT_EXISTS")
  })

  it("fake-server: one JSON line on start, serves the flow, exits 0 on SIGTERM", async () => {
    const child = spawn(process.execPath, [bin, "fake-server", "--partner-id", "4242", "--hash-type", "sha1"], {
      env: childEnv({}),
      stdio: "pipe"
    })
    let stdout = ""
    let stderr = ""
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const closed = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)))
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no start line within 10 s: ${stderr}`)), 10_000)
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk
          if (stdout.includes("\n")) {
            clearTimeout(timer)
            resolve(stdout.slice(0, stdout.indexOf("\n")))
          }
        })
        child.on("close", () => reject(new Error(`fake-server exited early: ${stderr}`)))
      })
      const started = JSON.parse(line)
      expect(Object.keys(started)).toEqual(["serviceUrl", "partnerId", "appTokenId", "token", "hashType"])
      expect(started.serviceUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(started.partnerId).toBe(4242)
      expect(started.appTokenId).toMatch(/^\d+_[0-9a-z]{8}$/)
      expect(started.token).toMatch(/^[0-9a-f]{32}$/)
      expect(started.hashType).toBe("SHA1")
      const session = await run(["session", "--json"], {
        env: {
          KALTURA_SERVICE_URL: started.serviceUrl,
          KALTURA_PARTNER_ID: String(started.partnerId),
          KALTURA_APP_TOKEN_ID: started.appTokenId,
          KALTURA_APP_TOKEN: started.token,
          KALTURA_APP_TOKEN_HASH_TYPE: started.hashType
        },
        allowed: ["ks"]
      })
      expect(session.code, session.stderr).toBe(0)
      expect(JSON.parse(session.stdout).partnerId).toBe(4242)
      child.kill("SIGTERM")
      const code = await Promise.race([
        closed,
        new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), 5_000))
      ])
      expect(code).toBe(0)
      expect(stdout.trim().split("\n")).toHaveLength(1)
      expect(stderr).toBe("")
      recorded.push({ args: ["fake-server"], code: 0, stdout, stderr, allowed: ["token"] })
      extraTokens.push(started.token)
    } finally {
      child.kill("SIGKILL")
    }
  })

  it("demo: runs the whole flow against its own fake server and exits 0", async () => {
    const result = await run(["demo"], { timeout: 15_000 })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toBe("")
    for (const step of ["widget session", "token hash", "app-token session", "baseEntry.list", "refresh"]) {
      expect(result.stdout).toContain(step)
    }
    expect(result.stdout).toMatch(/fp [0-9a-f]{8}/)
  }, 20_000)

  it("no output contains the token, a hash or a whole KS, except the by-design outputs", async () => {
    const log = await runEffect(fake.requests)
    const kses = new Set<string>()
    const hashes = new Set<string>()
    for (const entry of log) {
      const params = entry.params as Record<string, unknown>
      if (typeof params.ks === "string") kses.add(params.ks)
      if (typeof params.tokenHash === "string") hashes.add(params.tokenHash)
      try {
        const body = JSON.parse(entry.responseBody ?? "null")
        if (typeof body?.ks === "string") kses.add(body.ks)
      } catch {
        // not JSON
      }
    }
    // the hashes the server expects for every KS it saw, with every algorithm
    for (const ks of kses) {
      for (const algorithm of ["md5", "sha1", "sha256", "sha512"]) {
        hashes.add(createHash(algorithm).update(ks + token.token).digest("hex"))
      }
    }
    expect(kses.size).toBeGreaterThan(5)
    const tokens = [token.token, ...extraTokens]
    const outputs = recorded.flatMap((run) => [
      { stream: "stdout", args: run.args, text: run.stdout, allowed: run.allowed },
      { stream: "stderr", args: run.args, text: run.stderr, allowed: [] as ReadonlyArray<Allowed> }
    ])
    expect(outputs.length).toBeGreaterThan(40)
    for (const output of outputs) {
      const where = `${output.stream} of kaltura-apptoken ${output.args.join(" ")}`
      if (!output.allowed.includes("token")) {
        for (const secret of tokens) expect(output.text.includes(secret), `token in ${where}`).toBe(false)
      }
      if (!output.allowed.includes("hash")) {
        for (const secret of hashes) expect(output.text.includes(secret), `hash in ${where}`).toBe(false)
      }
      if (!output.allowed.includes("ks")) {
        for (const secret of kses) expect(output.text.includes(secret), `KS in ${where}`).toBe(false)
        expect(output.text, `KS-like text in ${where}`).not.toMatch(/djJ8[A-Za-z0-9_=-]{40,}/)
      }
    }
  })
})
