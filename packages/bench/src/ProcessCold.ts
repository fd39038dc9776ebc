/**
 * `process_cold`: whole processes, from process start to a KS, side by side in one run. Each contender is a new
 * `node` process spawned by this one against the same fake Kaltura server (started here, plain loopback, no
 * injected latency), timed from `spawn` to the child's exit (what a shell script or a cron job waits for), with
 * its peak RSS measured inside the child: a `--require` preload writes `process.resourceUsage().maxRSS` (and the
 * CPU time) to a file when the process exits, so GNU `time` is not needed.
 *
 * The contenders:
 * - official (the baseline): a plain CommonJS script with `kaltura-client` 21.20.0 (AGPL-3.0, a devDependency of
 *   this private package only): `session.startWidgetSession`, the SHA-256 hash with `node:crypto`,
 *   `appToken.startSession` with the widget KS; prints the KS's length;
 * - `process_cold.cli`: `kaltura-apptoken session`, the CLI's shipped bin (the bundle in packages/cli/dist), KS
 *   printed on stdout (read and checked here, never shown);
 * - `process_cold.library`: the README's usage program (extracted from README.md, as the consumer smoke test does),
 *   compiled to an `.mjs` and run unbundled next to a runner that imports the built `@kaltura-effect/core` and
 *   `@kaltura-effect/node` as an installed package would be imported; `main` provides `AppTokenLive` and also makes
 *   the program's `baseEntry.list` call (one more loopback round trip than the others);
 * - `process_cold.library_bundled`: the same runner bundled with esbuild into one tree-shaken, minified ESM file
 *   (platform node, `effect` and every dependency included).
 *
 * Interleaved: a warm-up round, then rounds that run every contender once each, in an order that rotates from
 * round to round. Values are medians over the rounds; the ratio is median / median against the official script.
 *
 * @since 0.1.0
 */
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import * as Effect from "effect/Effect"
import * as Esbuild from "esbuild"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { type Benchmark, median, minMax, pairedRatios, type Row } from "./Harness.js"
import {
  childEnv,
  cliBin,
  type Contender as AnyContender,
  officialScript,
  require,
  runOnce,
  type Sample,
  scratchDirectory,
  usagePreload,
  workspaceRoot
} from "./Processes.js"

type Contender = AnyContender<"official" | "cli" | "library" | "bundled">

/** The arguments of the CLI contender (its session cache is off: `KALTURA_CACHE=off` in `childEnv`). */
const cliArgs: ReadonlyArray<string> = ["session"]

/** The README's usage program, as the README has it (the block between the example markers). */
const readmeExample = (root: string): string => {
  const readme = Fs.readFileSync(Path.join(root, "README.md"), "utf8")
  const block = /<!-- example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- example:end -->/.exec(readme)
  if (block === null || !/\bexport const main\b/.test(block[1]!)) {
    throw new Error("process_cold: README.md has no usage example exporting `main` between the example markers")
  }
  return block[1]!
}

/** Runs the README's `main` as a user's program would. */
const libraryRunner = `import { Effect } from "effect"
import { main } from "./example.mjs"

const names = await Effect.runPromise(main)
process.stdout.write("entries " + names.length + "\\n")
`

const labels: Record<Contender["key"], string> = {
  official: "a plain Node script with kaltura-client 21.20.0",
  cli: `kaltura-apptoken ${cliArgs.join(" ")}, the shipped bundle`,
  library: "the README's program, unbundled",
  bundled: "the README's program, bundled with esbuild"
}

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "process_cold",
  description: "whole processes from start to KS: the CLI and the README's program against kaltura-client",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const warmupRounds = quick ? 0 : 1
      const rounds = quick ? 2 : 15
      const root = workspaceRoot()
      const bin = cliBin()
      const kalturaClient = require.resolve("kaltura-client")

      // the programs, in a directory of this package (so that the runner resolves the built @kaltura-effect/*
      // packages and effect as from an installed project's node_modules)
      const dir = yield* scratchDirectory("process-cold-")
      const file = (name: string, text: string) => {
        Fs.writeFileSync(Path.join(dir, name), text)
        return Path.join(dir, name)
      }
      const preload = file("usage.cjs", usagePreload)
      const official = file("official.cjs", officialScript(kalturaClient))
      const example = yield* Effect.promise(() =>
        Esbuild.transform(readmeExample(root), { loader: "ts", format: "esm", target: "node20" })
      )
      file("example.mjs", example.code)
      const library = file("library.mjs", libraryRunner)
      const bundled = Path.join(dir, "library.bundle.mjs")
      yield* Effect.promise(() =>
        Esbuild.build({
          entryPoints: [library],
          outfile: bundled,
          bundle: true,
          platform: "node",
          format: "esm",
          target: "node20",
          minify: true,
          logLevel: "error"
        })
      )

      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256" })
      const env = childEnv({
        KALTURA_SERVICE_URL: fake.url,
        KALTURA_PARTNER_ID: String(fake.partnerId),
        KALTURA_APP_TOKEN_ID: token.id,
        KALTURA_APP_TOKEN: token.token
      })

      const contenders: ReadonlyArray<Contender> = [
        { key: "official", args: [official], expected: /^ks length \d+\n$/ },
        { key: "cli", args: [bin, ...cliArgs], expected: /^djJ8[A-Za-z0-9_=-]+\n$/ },
        { key: "library", args: [library], expected: /entries \d+\n$/ },
        { key: "bundled", args: [bundled], expected: /entries \d+\n$/ }
      ]
      const samples = Object.fromEntries(contenders.map((c) => [c.key, [] as Array<Sample>])) as Record<
        Contender["key"],
        Array<Sample>
      >
      const usageFile = Path.join(dir, "usage.json")
      for (let round = 0; round < warmupRounds + rounds; round++) {
        for (let i = 0; i < contenders.length; i++) {
          const contender = contenders[(round + i) % contenders.length]!
          const sample = yield* runOnce(contender, preload, usageFile, env)
          if (round >= warmupRounds) samples[contender.key].push(sample)
        }
      }

      const of = (key: Contender["key"], field: keyof Sample) => samples[key].map((sample) => sample[field])
      const baseWall = median(of("official", "wall"))
      const baseRss = median(of("official", "rss"))
      const baseCpu = median(of("official", "cpu"))
      const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`
      const sizeOf = (path: string) => kib(Fs.statSync(path).size)
      const binDir = Path.dirname(bin)
      const cliJs = Fs.readdirSync(binDir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js"))
      const cliSize = kib(cliJs.reduce((sum, f) => sum + Fs.statSync(Path.join(binDir, f)).size, 0))
      const how = `spawn to exit, ${rounds} interleaved rounds after ${warmupRounds} warm-up, medians; against the ` +
        `same fake server on loopback`
      const wallRow = (
        name: string,
        key: Contender["key"],
        target: { readonly text: string; readonly max: number } | undefined,
        detail: string
      ): Row => {
        const value = median(of(key, "wall"))
        const ratio = value / baseWall
        return {
          name,
          value,
          unit: "ms",
          baseline: baseWall,
          baselineLabel: `ms, ${labels.official}`,
          ratio,
          target: target?.text,
          pass: target === undefined ? undefined : ratio <= target.max,
          spread: minMax(of(key, "wall")),
          runs: rounds,
          note: `${labels[key]}${detail}; ${how}; ratio = median / median (median of paired ratios ` +
            `${median(pairedRatios(of(key, "wall"), of("official", "wall"))).toFixed(2)}); CPU (user + system) ` +
            `${median(of(key, "cpu")).toFixed(0)} ms against ${baseCpu.toFixed(0)} ms; official ` +
            `${minMax(of("official", "wall")).low.toFixed(0)}-${minMax(of("official", "wall")).high.toFixed(0)} ms`
        }
      }
      const rssRow = (name: string, key: Contender["key"], max: number | undefined): Row => {
        const value = median(of(key, "rss"))
        return {
          name,
          value,
          unit: "MiB",
          baseline: baseRss,
          baselineLabel: `MiB, ${labels.official}`,
          ratio: value / baseRss,
          target: max === undefined ? undefined : `<= ${max} MiB`,
          pass: max === undefined ? undefined : value <= max,
          spread: minMax(of(key, "rss")),
          runs: rounds,
          note: `${labels[key]}: peak RSS (process.resourceUsage().maxRSS at exit, read inside the child); ${rounds} ` +
            `interleaved rounds, medians`
        }
      }
      const target = { text: "ratio <= 1.5 (stretch 1.2)", max: 1.5 }
      return [
        wallRow("process_cold.cli", "cli", target, ` (${cliSize} of JavaScript in ${cliJs.length} files)`),
        rssRow("process_cold.cli.peak_rss", "cli", 100),
        wallRow(
          "process_cold.library",
          "library",
          undefined,
          "; loads the built @kaltura-effect/core and node, effect, @effect/platform(-node) from node_modules; " +
            "makes one more call (baseEntry.list)"
        ),
        rssRow("process_cold.library.peak_rss", "library", undefined),
        wallRow(
          "process_cold.library_bundled",
          "bundled",
          target,
          ` (esbuild: one minified ESM file, ${sizeOf(bundled)}); makes one more call (baseEntry.list)`
        ),
        rssRow("process_cold.library_bundled.peak_rss", "bundled", undefined)
      ]
    }))
}
