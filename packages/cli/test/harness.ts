/**
 * Runs the shipped `kaltura-apptoken` bin (the package's `bin`, the bundle `pnpm build` writes to dist/) as a
 * subprocess, as test/cli.test.ts does, recording every output so that a test can scan them all for secrets.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { expect } from "vitest"

/** Exactly the file that is published as the bin. */
export const bin = Path.resolve(
  import.meta.dirname,
  "..",
  JSON.parse(Fs.readFileSync(Path.resolve(import.meta.dirname, "../package.json"), "utf8")).bin["kaltura-apptoken"]
)

export const assertBuilt = () => {
  if (!Fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`pnpm build\` first (the root \`pnpm test\` does)`)
}

export interface Result {
  readonly args: ReadonlyArray<string>
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** What a run's stdout may contain by design (its stderr, nothing). */
export type Allowed = "ks" | "hash" | "token"

/** A run as recorded, for the tests that scan every output for secrets. */
export interface Recorded extends Result {
  readonly allowed: ReadonlyArray<Allowed>
}

/** The environment of every run: this process's, without any KALTURA_* variable, plus `env` (`undefined`: unset). */
export const childEnv = (env: Record<string, string | undefined>) => {
  const result: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("KALTURA_") && value !== undefined) result[name] = value
  }
  result.NO_COLOR = "1"
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined) result[name] = value
  }
  return result
}

const maxConcurrent = Math.max(2, Math.min(4, Os.availableParallelism()))
let active = 0
const queue: Array<() => void> = []
const limited = async <A>(task: () => Promise<A>): Promise<A> => {
  if (active >= maxConcurrent) await new Promise<void>((resolve) => queue.push(resolve))
  active++
  try {
    return await task()
  } finally {
    active--
    queue.shift()?.()
  }
}

/** Every run so far, in the order they ended. */
export const recorded: Array<Recorded> = []

export interface RunOptions {
  readonly env?: Record<string, string | undefined>
  readonly timeout?: number
  /** What its stdout may contain by design. */
  readonly allowed?: ReadonlyArray<Allowed>
}

/** Runs the bin with `args`, a few runs at a time; kills it and fails after `timeout` ms. */
export const run = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Result> =>
  limited(() => runNow(args, options))

/** Runs the bin with `args` at once, however many other runs there are (for tests of processes starting together). */
export const runNow = (args: ReadonlyArray<string>, options: RunOptions = {}): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: childEnv(options.env ?? {}), stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`kaltura-apptoken ${args.join(" ")} did not exit within ${options.timeout ?? 15_000} ms`))
    }, options.timeout ?? 15_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      // the same object as recorded, so that a test can tell its runs apart in `recorded`
      const result: Recorded = { args, code, stdout, stderr, allowed: options.allowed ?? [] }
      recorded.push(result)
      resolve(result)
    })
  })

/** Asserts the usual shape of a failure: the exit code and exactly one clean line on stderr, nothing on stdout. */
export const expectFailure = (result: Result, code: number, ...mentions: ReadonlyArray<string | RegExp>) => {
  expect(result.code, result.stderr).toBe(code)
  expect(result.stdout).toBe("")
  const lines = result.stderr.split("\n").filter((line) => line !== "")
  expect(lines, result.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(/^kaltura-apptoken: \S/)
  expect(result.stderr).not.toMatch(/\n\s+at |Error:|\{"_id"|FiberFailure/)
  for (const mention of mentions) {
    if (typeof mention === "string") expect(lines[0]).toContain(mention)
    else expect(lines[0]).toMatch(mention)
  }
}

/** A loopback port that nothing listens on. */
export const closedPort = () =>
  new Promise<number>((resolve, reject) => {
    const server = Net.createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
