/**
 * Every benchmark, in the order they run, and the runner.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ColdHerd from "./ColdHerd.js"
import * as ColdVsOfficial from "./ColdVsOfficial.js"
import * as FleetCold from "./FleetCold.js"
import type { Benchmark, Row } from "./Harness.js"
import * as Hash from "./Hash.js"
import * as HotKs from "./HotKs.js"
import * as KeyedMemory from "./KeyedMemory.js"
import * as ProcessCold from "./ProcessCold.js"
import * as ProcessWarmCache from "./ProcessWarmCache.js"
import * as Refresh from "./Refresh.js"
import * as SoakHeap from "./SoakHeap.js"

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmarks: ReadonlyArray<Benchmark> = [
  HotKs.benchmark,
  ColdHerd.benchmark,
  Refresh.benchmark,
  ColdVsOfficial.benchmark,
  ProcessCold.benchmark,
  ProcessWarmCache.benchmark,
  FleetCold.benchmark,
  KeyedMemory.benchmark,
  SoakHeap.benchmark,
  Hash.benchmark
]

/**
 * @since 0.1.0
 * @category Models
 */
export interface Options {
  readonly quick: boolean
  /** Run only these benchmarks (by name); all when empty or absent. */
  readonly only?: ReadonlyArray<string> | undefined
  /** Called when a benchmark starts and when it is done. */
  readonly onProgress?: ((event: Progress) => void) | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export type Progress =
  | { readonly _tag: "Start"; readonly name: string }
  | { readonly _tag: "Done"; readonly name: string; readonly millis: number; readonly rows: ReadonlyArray<Row> }
  | { readonly _tag: "Failed"; readonly name: string; readonly millis: number; readonly error: string }

/**
 * @since 0.1.0
 * @category Models
 */
export interface Outcome {
  readonly rows: ReadonlyArray<Row>
  readonly failures: ReadonlyArray<{ readonly name: string; readonly error: string }>
}

/**
 * Runs the selected benchmarks one after the other (never concurrently), with logging off. A benchmark that
 * fails is reported in `failures` and the others still run.
 *
 * @since 0.1.0
 * @category Runner
 */
export const run = (options: Options): Effect.Effect<Outcome> =>
  Effect.gen(function*() {
    const unknown = (options.only ?? []).filter((name) => !benchmarks.some((benchmark) => benchmark.name === name))
    const rows: Array<Row> = []
    const failures: Array<{ name: string; error: string }> = unknown.map((name) => ({
      name,
      error: `no such benchmark (known: ${benchmarks.map((benchmark) => benchmark.name).join(", ")})`
    }))
    const selected = options.only === undefined || options.only.length === 0
      ? benchmarks
      : benchmarks.filter((benchmark) => options.only!.includes(benchmark.name))
    for (const benchmark of selected) {
      options.onProgress?.({ _tag: "Start", name: benchmark.name })
      const start = performance.now()
      const exit = yield* Effect.exit(benchmark.run({ quick: options.quick }))
      const millis = performance.now() - start
      if (Exit.isSuccess(exit)) {
        rows.push(...exit.value)
        options.onProgress?.({ _tag: "Done", name: benchmark.name, millis, rows: exit.value })
      } else {
        const error = Cause.pretty(exit.cause)
        failures.push({ name: benchmark.name, error })
        options.onProgress?.({ _tag: "Failed", name: benchmark.name, millis, error })
      }
    }
    return { rows, failures }
  }).pipe(Logger.withMinimumLogLevel(LogLevel.None))
