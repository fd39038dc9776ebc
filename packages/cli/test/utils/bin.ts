/**
 * Runs the shipped `kaltura-apptoken` bin (the bundle `pnpm build` writes to dist/, as the package's `bin` names it)
 * as a subprocess with a clean environment.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"

/** Exactly the file that is published as the bin. */
export const bin = Path.resolve(
  import.meta.dirname,
  "../..",
  JSON.parse(Fs.readFileSync(Path.resolve(import.meta.dirname, "../../package.json"), "utf8")).bin["kaltura-apptoken"]
)

export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** This process's environment without any `KALTURA_*` variable, plus `env` (an `undefined` value unsets). */
export const cleanEnv = (env: Record<string, string | undefined>): Record<string, string> => {
  const result: Record<string, string> = { NO_COLOR: "1" }
  for (const [name, value] of Object.entries({ ...process.env, ...env })) {
    if (value !== undefined && (!name.startsWith("KALTURA_") || name in env)) result[name] = value
  }
  return result
}

/** Runs the bin with `env` (see {@link cleanEnv}); kills it and rejects after `timeout` ms. */
export const runBin = (
  args: ReadonlyArray<string>,
  env: Record<string, string | undefined>,
  timeout = 30_000
): Promise<Result> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: cleanEnv(env), stdio: "pipe" })
    let stdout = ""
    let stderr = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`kaltura-apptoken ${args.join(" ")} did not exit within ${timeout} ms`))
    }, timeout)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
