/**
 * `fleet_cold`: 20 `kaltura-apptoken session` processes started at once on one Redis (`KALTURA_REDIS_URL`) with an
 * empty store, against one fake Kaltura server on loopback (no injected latency): the calls the fake receives (the
 * target is 1 widget session and 1 `startSession` for the whole fleet: one process refreshes under the store's lease,
 * the others read its KS), and the wall time from the first `spawn` until all 20 have printed their KS. Baseline: 20
 * official client scripts (`process_cold`'s) started at once, each paying its own two calls. A new App Token per run
 * (its own identity, so the store is empty for it); the two fleets alternate; medians.
 *
 * @since 0.2.0
 */
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import * as RedisServer from "@kaltura-effect/testing/RedisServer"
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type Benchmark, median, minMax, type Row } from "./Harness.js"
import { childEnv, cliBin, officialScript, require, scratchDirectory } from "./Processes.js"

const fleetSize = 20

/** One process of a fleet: resolves with the time (from `t0`) its first stdout line arrived, after it exited 0. */
const member = (args: ReadonlyArray<string>, env: Record<string, string>, expected: RegExp, t0: number) =>
  new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    let printedAt: number | undefined
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      if (printedAt === undefined && stdout.includes("\n")) printedAt = performance.now() - t0
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000)
    child.on("error", reject)
    child.on("close", (code, signal) => {
      clearTimeout(timer)
      if (code !== 0 || !expected.test(stdout) || printedAt === undefined) {
        // stdout may be a KS: never repeated here, only its length
        return reject(
          new Error(
            `fleet_cold: exit ${code ?? signal}, ${stdout.length} bytes on stdout, stderr: ${stderr.slice(0, 2000)}`
          )
        )
      }
      resolve(printedAt)
    })
  })

/** A fleet started at once: the time until its last member printed, ms. */
const fleet = (args: ReadonlyArray<string>, env: Record<string, string>, expected: RegExp) =>
  Effect.promise(async () => {
    const t0 = performance.now()
    const printed = await Promise.all(Array.from({ length: fleetSize }, () => member(args, env, expected, t0)))
    return Math.max(...printed)
  })

/**
 * @since 0.2.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "fleet_cold",
  description: "20 CLI processes at once on one Redis with an empty store: upstream calls and time until all printed",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const runs = quick ? 1 : 5
      const dir = yield* scratchDirectory("fleet-cold-")
      const official = Path.join(dir, "official.cjs")
      Fs.writeFileSync(official, officialScript(require.resolve("kaltura-client")))
      const bin = cliBin()
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const redis = yield* RedisServer.make()
      const walls: Array<number> = []
      const baseWalls: Array<number> = []
      const widgetCalls: Array<number> = []
      const startCalls: Array<number> = []
      const counts = Effect.all([fake.callCount("session.startWidgetSession"), fake.callCount("appToken.startSession")])
      for (let run = 0; run < runs; run++) {
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        const env = childEnv({
          KALTURA_SERVICE_URL: fake.url,
          KALTURA_PARTNER_ID: String(fake.partnerId),
          KALTURA_APP_TOKEN_ID: token.id,
          KALTURA_APP_TOKEN: token.token
        })
        const ours = Effect.gen(function*() {
          const [widget, start] = yield* counts
          walls.push(
            yield* fleet([bin, "session"], { ...env, KALTURA_CACHE: "on", KALTURA_REDIS_URL: redis.url }, /^djJ8/)
          )
          const [widgetAfter, startAfter] = yield* counts
          widgetCalls.push(widgetAfter - widget)
          startCalls.push(startAfter - start)
        })
        const theirs = Effect.map(fleet([official], env, /^ks length \d+\n$/), (wall) => {
          baseWalls.push(wall)
        })
        // alternate which fleet goes first
        yield* run % 2 === 0 ? Effect.zipRight(ours, theirs) : Effect.zipRight(theirs, ours)
      }
      const value = median(walls)
      const baseline = median(baseWalls)
      const callsRow = (name: string, what: string, calls: ReadonlyArray<number>): Row => ({
        name,
        value: median(calls),
        unit: "calls",
        target: "1 per fleet, every run",
        pass: calls.every((n) => n === 1),
        spread: minMax(calls),
        runs,
        note: `${what} received by the fake per fleet of ${fleetSize} CLI processes on one Redis with an empty ` +
          `store; runs: ${calls.join(", ")} (the official scripts make ${fleetSize} each)`
      })
      return [
        {
          name: "fleet_cold",
          value,
          unit: "ms",
          baseline,
          baselineLabel: `ms, ${fleetSize} plain Node scripts with kaltura-client 21.20.0 at once`,
          ratio: value / baseline,
          spread: minMax(walls),
          runs,
          note: `${fleetSize} kaltura-apptoken session processes (the shipped bundle, KALTURA_REDIS_URL) started at ` +
            `once, from the first spawn until the last KS printed; a new App Token per run (an empty store for it); ` +
            `fake server on loopback, no injected latency; ${runs} runs alternating with the baseline fleet, medians; ` +
            `official ${minMax(baseWalls).low.toFixed(0)}-${minMax(baseWalls).high.toFixed(0)} ms`
        },
        callsRow("fleet_cold.widget_calls", "session.startWidgetSession calls", widgetCalls),
        callsRow("fleet_cold.start_session_calls", "appToken.startSession calls", startCalls)
      ]
    }))
}
