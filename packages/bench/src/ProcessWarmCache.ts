/**
 * `process_warm_cache`: a whole `kaltura-apptoken session` process with a warm session cache against the official
 * client's script, both against one fake Kaltura server that adds 50 ms to every request (as a real network does).
 * The CLI's cache directory (the file store) is prepared by one run first; every timed CLI run then finds its KS
 * there and makes no request. The official script (the baseline of `process_cold`: widget session, SHA-256 hash,
 * `appToken.startSession`) keeps nothing, so each of its runs pays both round trips.
 *
 * Each contender is a new `node` process timed from `spawn` to its exit, as in `process_cold` (whose helpers it
 * uses); a warm-up round, then interleaved rounds in an order that alternates; medians.
 *
 * @since 0.2.0
 */
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import * as FakeKalturaFault from "@kaltura-effect/testing/FakeKalturaFault"
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type Benchmark, median, minMax, pairedRatios } from "./Harness.js"
import {
  childEnv,
  cliBin,
  type Contender as AnyContender,
  officialScript,
  require,
  runOnce,
  type Sample,
  scratchDirectory,
  usagePreload
} from "./Processes.js"

type Contender = AnyContender<"official" | "cli">

/** Added at the fake to every request, as a real network would. */
const upstreamDelay = 50

/**
 * @since 0.2.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "process_warm_cache",
  description: "a whole CLI process with a warm session cache against kaltura-client, 50 ms per request upstream",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const warmupRounds = quick ? 0 : 1
      const rounds = quick ? 2 : 15
      const bin = cliBin()
      const dir = yield* scratchDirectory("process-warm-cache-")
      const preload = Path.join(dir, "usage.cjs")
      Fs.writeFileSync(preload, usagePreload)
      const official = Path.join(dir, "official.cjs")
      Fs.writeFileSync(official, officialScript(require.resolve("kaltura-client")))
      const usageFile = Path.join(dir, "usage.json")

      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256" })
      yield* fake.injectFault("*", FakeKalturaFault.delay(`${upstreamDelay} millis`), { times: 1_000_000 })
      const env = childEnv({
        KALTURA_SERVICE_URL: fake.url,
        KALTURA_PARTNER_ID: String(fake.partnerId),
        KALTURA_APP_TOKEN_ID: token.id,
        KALTURA_APP_TOKEN: token.token
      })
      const cliEnv = { ...env, KALTURA_CACHE: "on", KALTURA_CACHE_DIR: Path.join(dir, "cache") }
      const contenders: ReadonlyArray<Contender> = [
        { key: "official", args: [official], expected: /^ks length \d+\n$/ },
        { key: "cli", args: [bin, "session"], expected: /^djJ8[A-Za-z0-9_=-]+\n$/ }
      ]
      const envOf = (contender: Contender) => contender.key === "cli" ? cliEnv : env

      // the cache, warmed by one run (which asks Kaltura)
      yield* runOnce(contenders[1]!, preload, usageFile, cliEnv)
      const samples: Record<Contender["key"], Array<Sample>> = { official: [], cli: [] }
      let cliRequests = 0
      for (let round = 0; round < warmupRounds + rounds; round++) {
        for (let i = 0; i < contenders.length; i++) {
          const contender = contenders[(round + i) % contenders.length]!
          const before = (yield* fake.requests).length
          const sample = yield* runOnce(contender, preload, usageFile, envOf(contender))
          if (contender.key === "cli") cliRequests += (yield* fake.requests).length - before
          if (round >= warmupRounds) samples[contender.key].push(sample)
        }
      }
      const of = (key: Contender["key"], field: keyof Sample) => samples[key].map((sample) => sample[field])
      const value = median(of("cli", "wall"))
      const baseline = median(of("official", "wall"))
      const ratio = value / baseline
      return [
        {
          name: "process_warm_cache.cli",
          value,
          unit: "ms",
          baseline,
          baselineLabel: "ms, a plain Node script with kaltura-client 21.20.0",
          ratio,
          target: "ratio <= 1.0 (stretch 0.8)",
          pass: ratio <= 1.0,
          spread: minMax(of("cli", "wall")),
          runs: rounds,
          note: `kaltura-apptoken session, the shipped bundle, its KS in a warm cache directory (the file store, ` +
            `prepared by one run); both against one fake server adding ${upstreamDelay} ms to every request; spawn ` +
            `to exit, ${rounds} interleaved rounds after ${warmupRounds} warm-up, medians; ratio = median / median ` +
            `(median of paired ratios ${
              median(pairedRatios(of("cli", "wall"), of("official", "wall"))).toFixed(2)
            }); ` +
            `CPU (user + system) ${median(of("cli", "cpu")).toFixed(0)} ms against ` +
            `${median(of("official", "cpu")).toFixed(0)} ms; peak RSS ${median(of("cli", "rss")).toFixed(0)} MiB ` +
            `against ${median(of("official", "rss")).toFixed(0)} MiB; official ` +
            `${minMax(of("official", "wall")).low.toFixed(0)}-${minMax(of("official", "wall")).high.toFixed(0)} ms`
        },
        {
          name: "process_warm_cache.cli.upstream_calls",
          value: cliRequests,
          unit: "calls",
          target: "0",
          pass: cliRequests === 0,
          runs: warmupRounds + rounds,
          note: "requests the fake server received during all the warm CLI runs (the official script makes 2 per run)"
        }
      ]
    }))
}
