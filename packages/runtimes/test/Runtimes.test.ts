/**
 * `@kaltura-effect/core` is portable by design; this proves it on the runtimes Effect users run besides Node: the
 * App Token flow (core + `FetchHttpClient` + the portable hasher, test/fixtures/flow.ts) bundled with esbuild from
 * the built packages and run under Bun and under Deno (`--allow-net=127.0.0.1` only), against the fake Kaltura
 * server this Node test starts. Bun and Deno come from npm (this package's dev dependencies).
 */
import { assert, describe, it } from "@effect/vitest"
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import { Effect, Option } from "effect"
import * as esbuild from "esbuild"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"

const packageDir = path.resolve(import.meta.dirname, "..")
const binDir = path.join(packageDir, "node_modules", ".bin")

interface Result {
  readonly runtime: string
  readonly ks: string
  readonly partnerId: number
  readonly entries: ReadonlyArray<string>
}

// A bundle in a directory of its own, away from the workspace's package.json and node_modules (Deno would
// otherwise look at them). Built from the packages' dist (no `source` condition): what is published.
const bundle = Effect.acquireRelease(
  Effect.promise(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kaltura-effect-runtimes-"))
    const outfile = path.join(dir, "flow.mjs")
    await esbuild.build({
      entryPoints: [path.join(packageDir, "test", "fixtures", "flow.ts")],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      outfile,
      logLevel: "warning"
    })
    return { dir, outfile }
  }),
  ({ dir }) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const exec = (file: string, args: ReadonlyArray<string>, cwd: string) =>
  Effect.async<{ readonly stdout: string; readonly stderr: string; readonly code: number }>((resume) => {
    const child = execFile(file, args, {
      cwd,
      timeout: 60_000,
      // no update checks or telemetry (no network but the loopback here), no permission prompt
      env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", DENO_NO_PROMPT: "1", DO_NOT_TRACK: "1", NO_COLOR: "1" }
    }, (error, stdout, stderr) => {
      resume(
        Effect.succeed({ stdout, stderr, code: error === null ? 0 : typeof error.code === "number" ? error.code : 1 })
      )
    })
    return Effect.sync(() => child.kill())
  })

const runFlow = (runtime: "bun" | "deno") =>
  Effect.gen(function*() {
    const fake = yield* FakeKaltura.FakeKaltura
    const token = yield* fake.seedAppToken({ hashType: "MD5", sessionDuration: 3600 })
    const { dir, outfile } = yield* bundle
    const settings = JSON.stringify({
      serviceUrl: fake.url,
      partnerId: fake.partnerId,
      appTokenId: token.id,
      token: token.token,
      hashType: token.hashType
    })
    const args = runtime === "bun"
      ? ["run", outfile, settings]
      : ["run", "--no-config", "--allow-net=127.0.0.1", outfile, settings]
    const { code, stderr, stdout } = yield* exec(path.join(binDir, runtime), args, dir)
    const line = stdout.split("\n").find((text) => text.startsWith("RESULT "))
    assert.strictEqual(code, 0, `${runtime} exited with ${code}:\n${stderr}\n${stdout}`)
    assert.isDefined(line, `no RESULT line from ${runtime}:\n${stdout}\n${stderr}`)
    const result: Result = JSON.parse(line!.slice("RESULT ".length))

    assert.isTrue(result.runtime.startsWith(`${runtime} `), result.runtime)
    assert.strictEqual(result.partnerId, fake.partnerId)
    assert.deepStrictEqual(result.entries, ["Fake entry 1", "Fake entry 2"])
    // the KS is the server's own, minted for this App Token
    const decoded = yield* fake.decodeKs(result.ks)
    assert.isTrue(Option.isSome(decoded))
    assert.include(Option.getOrThrow(decoded).privileges, `apptoken:${token.id}`)
    assert.strictEqual(yield* fake.callCount("session.startWidgetSession"), 1)
    assert.strictEqual(yield* fake.callCount("appToken.startSession"), 1)
    assert.strictEqual(yield* fake.callCount("baseEntry.list"), 1)
    return result
  }).pipe(Effect.scoped, Effect.provide(FakeKaltura.layer({ liveClock: true })))

describe("the App Token flow on other runtimes", () => {
  it.live("Bun", () => Effect.asVoid(runFlow("bun")), 90_000)
  it.live("Deno, with --allow-net=127.0.0.1 only", () => Effect.asVoid(runFlow("deno")), 90_000)
})
