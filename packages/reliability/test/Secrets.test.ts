/**
 * Part 4, secrets: every public value and error of the library, every log line and span captured while it ran,
 * and the CLI's output are scanned for the app token, any token hash and any whole KS; every byte the fake server
 * received is scanned for the app token, and KSs and hashes must travel in request bodies only.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession, AppTokenSessions, KalturaClient, KalturaConfig, SessionStore } from "@kaltura-effect/core"
import { NodeAppToken, NodeTokenHasher } from "@kaltura-effect/node"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Context, Effect, Layer, Metric, Option, Redacted, Schema, Stream } from "effect"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import * as Capture from "./utils/capture.js"
import * as Secrets from "./utils/secrets.js"
import { optionsFor, shortTuning } from "./utils/support.js"

const EntryList = Schema.Struct({ totalCount: Schema.Number })

const repoRoot = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
/** The CLI's shipped bin (the bundle in packages/cli/dist), as its package.json names it. */
const cliBin = Path.join(
  repoRoot,
  "packages",
  "cli",
  JSON.parse(Fs.readFileSync(Path.join(repoRoot, "packages", "cli", "package.json"), "utf8")).bin["kaltura-apptoken"]
)

interface CliRun {
  readonly args: ReadonlyArray<string>
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the built CLI asynchronously (the fake server it talks to lives in this process). */
const runCli = (
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  options?: { readonly untilFirstLine?: boolean }
) =>
  Effect.async<CliRun>((resume) => {
    const child = ChildProcess.spawn(process.execPath, [cliBin, ...args], {
      env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8")
      if (options?.untilFirstLine && stdout.includes("\n")) child.kill("SIGTERM")
    })
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8")
    })
    child.on("close", (code) => {
      clearTimeout(timer)
      resume(Effect.succeed({ args, code, stdout, stderr }))
    })
    return Effect.sync(() => child.kill("SIGKILL"))
  })

/** Any whole v2 KS, whoever minted it (the demo's own fake server), and any hex run as long as a token. */
const genericKs = /djJ8[A-Za-z0-9_=-]{40,}/g
const genericHex = /(?<![0-9a-f])[0-9a-f]{32,}(?![0-9a-f])/g

describe("secrets", () => {
  it.live("no app token, token hash or whole KS in any log, span, error or public value; none in a URL", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const main = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 6 })
      const sha1 = yield* fake.seedAppToken({ hashType: "SHA1" })
      const disabled = yield* fake.seedAppToken({ hashType: "SHA512", status: 1 })
      const expired = yield* fake.seedAppToken({ hashType: "MD5" })
      yield* fake.expireAppToken(expired.id)
      const tokens = [main, sha1, disabled, expired]
      const values: Array<readonly [string, unknown]> = []
      const keep = (where: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.tap(
          Effect.either(effect),
          (either) => Effect.sync(() => values.push([where, either._tag === "Right" ? either.right : either.left]))
        )

      // the main flow: get, ks, refresh, invalidate, getWith, rotations, calls, a revoked KS, an expired one
      const services = yield* Layer.build(NodeAppToken.layer(optionsFor(fake, main), shortTuning()))
      const session = Context.get(services, AppTokenSession.AppTokenSession)
      const client = Context.get(services, KalturaClient.KalturaClient)
      values.push(["settings", Context.get(services, KalturaConfig.KalturaConfig)])
      values.push(["services", services])
      const rotation = yield* Effect.fork(Stream.runHead(session.rotations))
      yield* keep("get")(session.get)
      yield* keep("ks")(session.ks)
      yield* keep("getWith 1 s")(session.getWith({ minRemaining: "1 second" }))
      yield* keep("getWith 1 year")(session.getWith({ minRemaining: "365 days" }))
      yield* keep("refresh")(session.refresh)
      yield* keep("rotation")(Effect.flatten(Effect.map(rotation.await, (exit) => exit)))
      yield* keep("status")(session.status)
      yield* keep("call")(client.call("baseEntry", "list", { pager: { pageSize: 1 } }, EntryList))
      const current = yield* session.get
      yield* fake.revokeKs(Redacted.value(current.ks))
      yield* keep("call after revocation")(client.call("baseEntry", "list", {}, EntryList))
      yield* fake.injectFault("baseEntry.list", FakeKalturaFault.ksExpired, { times: 2 })
      yield* keep("call told its KS expired, twice")(client.call("baseEntry", "list", {}, EntryList))
      yield* keep("invalidate")(session.invalidate)
      yield* keep("get after invalidate")(session.get)
      yield* fake.injectFault(
        "baseEntry.list",
        FakeKalturaFault.apiError({
          code: "SERVICE_FORBIDDEN",
          message: "The access to service [baseentry->list] is forbidden"
        })
      )
      yield* keep("call forbidden")(client.call("baseEntry", "list", {}, EntryList))
      yield* keep("call unknown action")(client.call("noSuchService", "list", {}, EntryList))
      yield* fake.injectFault("baseEntry.list", FakeKalturaFault.truncatedJson, { times: 5 })
      yield* keep("call truncated")(client.call("baseEntry", "list", {}, EntryList))
      yield* fake.injectFault("baseEntry.list", FakeKalturaFault.delay("400 millis"), { times: 5 })
      yield* keep("call timed out")(client.call("baseEntry", "list", {}, EntryList))
      // the server's INVALID_KS repeats a KS it cannot verify: rotate the partner's secret under the client
      yield* fake.seedPartner({ id: fake.partnerId, adminSecrets: ["ffffffffffffffffffffffffffffffff"] })
      yield* keep("call with a KS the server cannot verify")(client.call("baseEntry", "list", {}, EntryList))
      yield* keep("refresh after the rotation")(session.refresh)
      yield* fake.seedPartner({ id: fake.partnerId, adminSecrets: [fake.adminSecret] })
      yield* keep("status after failures")(session.status)

      // permanent errors, each its own stack
      const cases: ReadonlyArray<readonly [string, KalturaConfig.Options]> = [
        ["wrong hash type", optionsFor(fake, sha1, { hashType: "SHA256" })],
        ["wrong token value", optionsFor(fake, sha1, { token: Redacted.make(main.token) })],
        ["disabled token", optionsFor(fake, disabled)],
        ["expired token", optionsFor(fake, expired)],
        ["unknown token id", optionsFor(fake, main, { appTokenId: "0_zzzzzzzz" })],
        ["unknown widget", optionsFor(fake, main, { widgetId: "_999" })],
        ["unreachable server", optionsFor(fake, main, { serviceUrl: "http://127.0.0.1:1" })]
      ]
      for (const [name, options] of cases) {
        yield* keep(name)(Effect.scoped(Effect.flatMap(
          Layer.build(NodeAppToken.layer(options, shortTuning())),
          (context) => Context.get(context, AppTokenSession.AppTokenSession).get
        )))
      }

      // the keyed sessions
      const keyed = yield* Layer.build(
        AppTokenSessions.layer().pipe(
          Layer.provide(NodeTokenHasher.layer),
          Layer.provide(NodeHttpClient.layerUndici),
          Layer.provide(SessionStore.layerNone)
        )
      )
      const sessions = Context.get(keyed, AppTokenSessions.AppTokenSessions)
      yield* keep("keyed get")(sessions.get(optionsFor(fake, main)))
      yield* keep("keyed get, bad key")(sessions.get(optionsFor(fake, main, { partnerId: -1 })))
      yield* keep("keyed session")(sessions.session(optionsFor(fake, sha1)))
      yield* keep("keyed size")(sessions.size)
      yield* keep("metrics")(Metric.snapshot)

      // what was handed out, and what crossed the wire
      const log = yield* fake.requests
      const scanner = new Secrets.Scanner()
      Secrets.learnFromLog(scanner, log, tokens)
      let inValues = 0
      for (const [where, value] of values) inValues += scanner.scanValue(where, value)
      const inCapture = scanner.scanAll(capture.texts())
      const wire = Secrets.scanWire(scanner, log)
      const errors = values.filter(([, value]) => value instanceof Error).length

      Results.record({
        id: "4a-secrets-library",
        part: 4,
        title: "Secrets in the library's logs, spans, errors and values, and on the wire",
        description:
          "One program exercises the library's public surface against the fake server with a capturing logger (all " +
          "levels, Debug included) and a capturing tracer: get, ks, getWith, refresh, invalidate, rotations, status, " +
          "KalturaClient calls (after a revocation, an expired KS twice, SERVICE_FORBIDDEN, an unknown action, " +
          "truncated bodies, timeouts, a KS the server cannot verify: its INVALID_KS message repeats the KS), " +
          "permanent errors (wrong hash type or token, disabled, expired or unknown token, unknown widget), an " +
          "unreachable server, the keyed AppTokenSessions and the metrics. Then `String`, `JSON.stringify`, " +
          "`util.inspect`, `message` and `stack` of every value and error, every log line and span attribute are " +
          "scanned for the app tokens, every token hash (sent, and recomputed for each widget KS with each token and " +
          "hash type) and every KS the fake minted; and every request the fake received for the app tokens, and " +
          "its URL and headers for any KS or hash.",
        figures: {
          "values and errors scanned": values.length,
          "of which errors": errors,
          "log lines / spans captured": `${capture.logs.length} / ${capture.spans.length}`,
          "secrets looked for (app tokens / hashes / KSs)": `${scanner.count("app token")} / ${
            scanner.count("token hash")
          } / ${scanner.count("KS")}`,
          "requests (bytes) the fake received": `${wire.requests} (${wire.bytes})`,
          "secrets in values and errors": inValues,
          "secrets in logs and spans": inCapture,
          "app token in any byte received": wire.tokenAnywhere,
          "KS or hash in a URL or header": wire.secretInUrlOrHeader,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "secrets in values and errors",
          "secrets in logs and spans",
          "app token in any byte received",
          "KS or hash in a URL or header",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })
      assert.deepStrictEqual(scanner.findings.slice(0, 10), [])
      // the scan had something to find: KSs and hashes were handed out and sent
      assert.isAtLeast(scanner.count("KS"), 10)
      assert.isAtLeast(scanner.count("token hash"), 10)
      assert.isAtLeast(errors, 12)
      assert.isAtLeast(capture.logLevels.get("DEBUG") ?? 0, 1)
      assert.isTrue(capture.spans.some((span) => span.name.startsWith("http.client")))
      // and the scanner does find a secret where there is one
      assert.strictEqual(new Secrets.Scanner().find("x").length, 0)
      assert.strictEqual(scanner.find(`{"ks":"${Redacted.value(current.ks)}"}`).length, 1)
      assert.strictEqual(scanner.find(`token=${main.token}`).length, 1)
      assert.strictEqual(Option.isSome(yield* fake.decodeKs(Redacted.value(current.ks))), true)
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })

  it.live("no secret in the CLI's output beyond its by-design outputs", () =>
    Effect.gen(function*() {
      const started = performance.now()
      assert.isTrue(Fs.existsSync(cliBin), `${cliBin} is missing: run pnpm build first`)
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256" })
      const disabled = yield* fake.seedAppToken({ hashType: "SHA256", status: 1 })
      // the CLI's session cache (on by default): its files are scanned too
      const cacheDir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-reliability-cache-"))
      const env = {
        KALTURA_SERVICE_URL: fake.url,
        KALTURA_PARTNER_ID: String(fake.partnerId),
        KALTURA_APP_TOKEN_ID: token.id,
        KALTURA_APP_TOKEN: token.token,
        KALTURA_APP_TOKEN_HASH_TYPE: "SHA256",
        KALTURA_CACHE_DIR: cacheDir
      }
      const tokenFile = Path.join(Os.tmpdir(), `kaltura-reliability-${process.pid}.token`)
      Fs.writeFileSync(tokenFile, token.token + "\n", { mode: 0o600 })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() => {
          Fs.rmSync(tokenFile, { force: true })
          Fs.rmSync(cacheDir, { recursive: true, force: true })
        })
      )

      const session = yield* runCli(["session"], env)
      const sessionJson = yield* runCli(["session", "--json"], env)
      const widget = yield* Effect.map(fake.requests, (log) =>
        log.find((entry) => entry.action === "startwidgetsession")?.responseBody ?? "")
      const widgetKs = (JSON.parse(widget) as { readonly ks: string }).ks
      const hash = yield* runCli(["hash", "--ks", widgetKs], env)
      const runs: ReadonlyArray<CliRun> = [
        yield* runCli(["call", "baseEntry", "list", "--param", "pager:pageSize=1"], env),
        yield* runCli(["call", "baseEntry", "list", "--debug"], { ...env, KALTURA_APP_TOKEN_HASH_TYPE: "MD5" }),
        yield* runCli(["session", "--debug"], {
          ...env,
          KALTURA_APP_TOKEN_ID: disabled.id,
          KALTURA_APP_TOKEN: disabled.token
        }),
        yield* runCli(["session", "--debug"], { ...env, KALTURA_SERVICE_URL: "http://127.0.0.1:1" }),
        yield* runCli(["session", "--debug"], { ...env, KALTURA_PARTNER_ID: "not-a-number" }),
        yield* runCli(["session", `--token=${token.token}`, "--debug"], env),
        yield* runCli(["session", "--token-file", tokenFile, "--json", "--debug"], { ...env, KALTURA_APP_TOKEN: "" }),
        yield* runCli(["call", "noSuchService", "list", "--debug"], env),
        yield* runCli(["demo"], {})
      ]
      const fakeServer = yield* runCli(["fake-server"], {}, { untilFirstLine: true })

      const scanner = new Secrets.Scanner()
      Secrets.learnFromLog(scanner, yield* fake.requests, [token, disabled])
      const byDesign = { session: 0, hash: 0, fakeServer: 0 }
      // by design: `session` prints one KS, `session --json` one object with it, `hash` the hash, `fake-server`
      // its seeded token; everything else they print is scanned
      if (scanner.find(session.stdout, ["KS"]).length === 1 && session.stdout.trim().split("\n").length === 1) {
        byDesign.session++
      }
      const parsed = JSON.parse(sessionJson.stdout) as Record<string, unknown>
      const { ks: _ks, ...restOfJson } = parsed
      if (scanner.find(String(_ks), ["KS"]).length === 1) {
        byDesign.session++
      }
      if (/^[0-9a-f]{64}$/.test(hash.stdout.trim())) {
        byDesign.hash++
      }
      const seeded = JSON.parse(fakeServer.stdout.split("\n")[0]!) as { readonly token: string }
      if (/^[0-9a-f]{32}$/.test(seeded.token)) {
        byDesign.fakeServer++
      }

      let found = 0
      let generic = 0
      const texts: Array<readonly [string, string]> = [
        ["session stderr", session.stderr],
        ["session --json (all but ks)", JSON.stringify(restOfJson)],
        ["session --json stderr", sessionJson.stderr],
        ["hash stderr", hash.stderr],
        ["fake-server stderr", fakeServer.stderr],
        ["fake-server output (all but its token)", fakeServer.stdout.replace(seeded.token, "")]
      ]
      const cacheFiles = Fs.readdirSync(cacheDir, { recursive: true, withFileTypes: true })
        .filter((entry) =>
          entry.isFile()
        )
        .map((entry) => Path.join(entry.parentPath, entry.name))
      assert.isAbove(cacheFiles.length, 0, "the CLI cached no session")
      // the cache holds HMAC names and tags and ciphertext by design (hex and base64): scanned for the known secrets
      let inCache = 0
      for (const file of cacheFiles) {
        inCache += scanner.scan(`cache file ${Path.basename(file)}`, Fs.readFileSync(file, "utf8"))
      }
      for (const run of runs) {
        // by design, a successful `session` prints its KS (alone, or as the `ks` of its JSON)
        const stdout = run.args[0] === "session" && run.code === 0
          ? run.stdout.replace(/"ks":"[^"]*"/, "\"ks\":\"(by design)\"")
          : run.stdout
        texts.push([`${run.args.join(" ")} stdout`, stdout])
        texts.push([`${run.args.join(" ")} stderr`, run.stderr])
      }
      for (const [where, text] of texts) {
        found += scanner.scan(where, text)
        // the demo's own fake server mints KSs this test cannot know: look for anything shaped like one
        const wholeKs = [...text.matchAll(genericKs)].length
        const longHex = [...text.matchAll(genericHex)].length
        if (wholeKs + longHex > 0) {
          generic += wholeKs + longHex
          scanner.findings.push({ kind: "KS", where: `${where} (shape)`, prefix: "" })
        }
      }
      const labels = [
        "session",
        "session --json",
        "hash --ks <widget KS>",
        "call baseEntry list",
        "call, wrong hash type, --debug",
        "session, disabled token, --debug",
        "session, unreachable server, --debug",
        "session, bad partner id, --debug",
        "session --token=<token> (refused), --debug",
        "session --token-file, --json, --debug",
        "call noSuchService list, --debug",
        "demo",
        "fake-server (SIGTERM after its first line)"
      ]
      const exitCodes = Object.fromEntries(
        [session, sessionJson, hash, ...runs, fakeServer].map((run, i) => [labels[i]!, run.code ?? -1])
      )
      Results.record({
        id: "4b-secrets-cli",
        part: 4,
        title: "Secrets in the CLI's output",
        description:
          "The built `kaltura-apptoken` runs against the fake server in the test's process: `session`, `session " +
          "--json`, `hash`, `call` (ok, wrong hash type, unknown action), `session` with a disabled token, an " +
          "unreachable server, a bad partner id, a refused `--token=` flag and `--token-file`, most with `--debug` " +
          "(full causes on stderr), plus `demo` and `fake-server`. Apart from the by-design outputs (the KS of " +
          "`session`, the hash of `hash`, the seeded token of `fake-server`), stdout and stderr are scanned for " +
          "every app token, hash and KS the fake server saw, and for anything shaped like a KS or a token; the files " +
          "of the CLI's session cache, for every app token, hash and KS the fake server saw.",
        figures: {
          "CLI runs": runs.length + 4,
          "exit codes": exitCodes,
          "by-design outputs seen (session KS, hash, seeded token)":
            `${byDesign.session} / ${byDesign.hash} / ${byDesign.fakeServer}`,
          "known secrets in other output": found,
          "known secrets in the CLI's session cache files": inCache,
          "KS- or token-shaped strings in other output": generic,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "known secrets in other output",
          "known secrets in the CLI's session cache files",
          "KS- or token-shaped strings in other output",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })
      assert.deepStrictEqual(scanner.findings, [])
      assert.deepStrictEqual(byDesign, { session: 2, hash: 1, fakeServer: 1 })
      assert.strictEqual(session.code, 0)
      assert.strictEqual(runs[0]!.code, 0)
      assert.include(runs[0]!.stdout, "totalCount")
      assert.notStrictEqual(runs[1]!.code, 0)
      assert.strictEqual(runs[8]!.code, 0) // the demo ran
    }).pipe(Effect.scoped))
})
