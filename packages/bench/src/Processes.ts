/**
 * What the benchmarks of whole processes share (`process_cold`, `process_warm_cache`, `fleet_cold`): the CLI's shipped
 * bin, the official client's script (the baseline), a child's environment, and one timed child process with its peak
 * RSS measured inside it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import { createRequire } from "node:module"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

/** `require` for this ES module. */
export const require = createRequire(import.meta.url)

/** The workspace root: the nearest directory above this module with a `pnpm-workspace.yaml`. */
export const workspaceRoot = (): string => {
  let dir = Path.dirname(fileURLToPath(import.meta.url))
  while (!Fs.existsSync(Path.join(dir, "pnpm-workspace.yaml"))) {
    const parent = Path.dirname(dir)
    if (parent === dir) throw new Error("bench: no pnpm-workspace.yaml above the bench package")
    dir = parent
  }
  return dir
}

/**
 * A new directory under packages/bench/build, removed with the scope: there the benchmarks write their scripts, and a
 * program in it resolves the built `@kaltura-effect/*` packages and `effect` through packages/bench/node_modules, as
 * from an installed project's node_modules.
 */
export const scratchDirectory = (prefix: string) => {
  const buildDir = Path.join(workspaceRoot(), "packages", "bench", "build")
  return Effect.acquireRelease(
    Effect.sync(() => {
      Fs.mkdirSync(buildDir, { recursive: true })
      return Fs.mkdtempSync(Path.join(buildDir, prefix))
    }),
    (dir) => Effect.sync(() => Fs.rmSync(dir, { recursive: true, force: true }))
  )
}

/** The CLI's shipped bin, as its package.json names it. */
export const cliBin = (): string => {
  const manifest = require.resolve("@kaltura-effect/cli/package.json")
  const bin = JSON.parse(Fs.readFileSync(manifest, "utf8")).bin["kaltura-apptoken"] as string
  const file = Path.resolve(Path.dirname(manifest), bin)
  if (!Fs.existsSync(file)) throw new Error(`bench: ${file} is missing: run \`pnpm build\` first`)
  return file
}

/** Writes `process.resourceUsage()`'s peak RSS (KiB) and CPU time (µs) to `$KALTURA_BENCH_USAGE` at exit. */
export const usagePreload = `"use strict"
const file = process.env.KALTURA_BENCH_USAGE
if (file) {
  process.on("exit", () => {
    const usage = process.resourceUsage()
    require("node:fs").writeFileSync(file, JSON.stringify({ maxRSS: usage.maxRSS, cpu: usage.userCPUTime + usage.systemCPUTime }))
  })
}
`

/** The official client's whole program, as its App Token guide shows it. */
export const officialScript = (kalturaClient: string) =>
  `"use strict"
const kaltura = require(${JSON.stringify(kalturaClient)})
const { createHash } = require("node:crypto")

const main = async () => {
  const config = new kaltura.Configuration()
  config.serviceUrl = process.env.KALTURA_SERVICE_URL
  config.setLogger({ log() {}, error() {}, debug() {} }) // it logs every request on stdout by default
  const client = new kaltura.Client(config)
  const widget = await kaltura.services.session.startWidgetSession("_" + process.env.KALTURA_PARTNER_ID).execute(client)
  const tokenHash = createHash("sha256").update(widget.ks + process.env.KALTURA_APP_TOKEN).digest("hex")
  client.setKs(widget.ks)
  const session = await kaltura.services.appToken.startSession(process.env.KALTURA_APP_TOKEN_ID, tokenHash).execute(client)
  process.stdout.write("ks length " + session.ks.length + "\\n")
}
main().catch((error) => {
  process.stderr.write("kaltura-client failed: " + (error && error.message) + "\\n")
  process.exitCode = 1
})
`

export interface Sample {
  readonly wall: number
  readonly rss: number
  readonly cpu: number
}

export interface Contender<K extends string = string> {
  readonly key: K
  readonly args: ReadonlyArray<string>
  /** What a good run prints on stdout. */
  readonly expected: RegExp
}

/**
 * The child's environment: this process's without any KALTURA_* variable, the CLI's session cache off (a cold process;
 * `env` may turn it on with `KALTURA_CACHE: "on"`), plus `env`.
 */
export const childEnv = (env: Record<string, string>): Record<string, string> => {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("KALTURA_") && value !== undefined) result[name] = value
  }
  // a cold process: the CLI's session cache off (it would serve every run after the first)
  return { ...result, NO_COLOR: "1", KALTURA_CACHE: "off", ...env }
}

export const runOnce = (contender: Contender, preload: string, usageFile: string, env: Record<string, string>) =>
  Effect.async<Sample, Error>((resume) => {
    Fs.rmSync(usageFile, { force: true })
    const start = performance.now()
    const child = spawn(process.execPath, ["--require", preload, ...contender.args], {
      env: { ...env, KALTURA_BENCH_USAGE: usageFile },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000)
    child.on("error", (error) => {
      clearTimeout(timer)
      resume(Effect.fail(error))
    })
    child.on("exit", (code, signal) => {
      const wall = performance.now() - start
      clearTimeout(timer)
      // the output is read once the streams end; the clock stopped at the exit
      child.on("close", () => {
        if (code !== 0 || !contender.expected.test(stdout) || !Fs.existsSync(usageFile)) {
          // stdout may be a KS: never repeated here, only its length
          return resume(Effect.fail(
            new Error(
              `${contender.key}: exit ${code ?? signal}, ${stdout.length} bytes on stdout, ` +
                `stderr: ${stderr.slice(0, 2000)}`
            )
          ))
        }
        const usage = JSON.parse(Fs.readFileSync(usageFile, "utf8")) as { maxRSS: number; cpu: number }
        resume(Effect.succeed({ wall, rss: usage.maxRSS / 1024, cpu: usage.cpu / 1000 }))
      })
    })
  })
