/**
 * The benchmark harness: result rows, statistics, timers and heap measurement.
 *
 * Conventions for every row:
 * - `value` is ours, `baseline` is what it is compared with, measured in the same process run, interleaved;
 * - `ratio` is always `value / baseline` (or the median of paired per-round ratios, see each benchmark);
 * - `spread` is the spread of `value` over the repeated runs (`min-max` or `IQR`, as `kind` says);
 * - `target` is the target in words, `pass` whether it was met (absent when there is no target).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as v8 from "node:v8"
import * as vm from "node:vm"

/**
 * @since 0.1.0
 * @category Models
 */
export interface Spread {
  readonly kind: "min-max" | "IQR"
  readonly low: number
  readonly high: number
}

/**
 * One row of the results.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Row {
  readonly name: string
  readonly value: number
  readonly unit: string
  readonly baseline?: number | undefined
  /** What the baseline is. */
  readonly baselineLabel?: string | undefined
  readonly ratio?: number | undefined
  readonly target?: string | undefined
  readonly pass?: boolean | undefined
  readonly spread?: Spread | undefined
  /** How many repeated runs (or samples) the value is a median of. */
  readonly runs?: number | undefined
  readonly note?: string | undefined
}

/**
 * @since 0.1.0
 * @category Models
 */
export interface RunOptions {
  /** Tiny iteration counts: checks that the code works, measures nothing meaningful. */
  readonly quick: boolean
}

/**
 * A benchmark produces one or more rows.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Benchmark {
  readonly name: string
  readonly description: string
  readonly run: (options: RunOptions) => Effect.Effect<ReadonlyArray<Row>, unknown>
}

// ---------------------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------------------

const sorted = (xs: ReadonlyArray<number>): Array<number> => [...xs].sort((a, b) => a - b)

/**
 * The `q` quantile (0..1) with linear interpolation; `NaN` for no samples.
 *
 * @since 0.1.0
 * @category Statistics
 */
export const quantile = (xs: ReadonlyArray<number>, q: number): number => {
  if (xs.length === 0) return Number.NaN
  const s = sorted(xs)
  const position = (s.length - 1) * q
  const lower = Math.floor(position)
  const upper = Math.ceil(position)
  return s[lower]! + (s[upper]! - s[lower]!) * (position - lower)
}

/**
 * @since 0.1.0
 * @category Statistics
 */
export const median = (xs: ReadonlyArray<number>): number => quantile(xs, 0.5)

/**
 * @since 0.1.0
 * @category Statistics
 */
export const minMax = (xs: ReadonlyArray<number>): Spread => ({
  kind: "min-max",
  low: Math.min(...xs),
  high: Math.max(...xs)
})

/**
 * @since 0.1.0
 * @category Statistics
 */
export const iqr = (xs: ReadonlyArray<number>): Spread => ({
  kind: "IQR",
  low: quantile(xs, 0.25),
  high: quantile(xs, 0.75)
})

// ---------------------------------------------------------------------------------------------------------
// Timing
// ---------------------------------------------------------------------------------------------------------

/**
 * Milliseconds from a monotonic clock.
 *
 * @since 0.1.0
 * @category Timing
 */
export const now: Effect.Effect<number> = Effect.sync(() => performance.now())

/**
 * Runs `effect` and returns how long it took, in milliseconds, with its result.
 *
 * @since 0.1.0
 * @category Timing
 */
export const timed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<readonly [number, A], E, R> =>
  Effect.gen(function*() {
    const start = performance.now()
    const result = yield* effect
    return [performance.now() - start, result] as const
  })

/**
 * Runs `effect` `n` times in one fiber, in a plain loop of `yield*`s, and returns the elapsed milliseconds.
 *
 * @since 0.1.0
 * @category Timing
 */
export const loop = <A, E, R>(n: number, effect: Effect.Effect<A, E, R>): Effect.Effect<number, E, R> =>
  Effect.gen(function*() {
    const start = performance.now()
    for (let i = 0; i < n; i++) {
      yield* effect
    }
    return performance.now() - start
  })

/**
 * Interleaved rounds of several contenders: round `r` runs every contender once, in an order that rotates
 * from round to round, so drift and ordering effects hit each contender alike. Returns, per contender, the
 * measurement of each round.
 *
 * @since 0.1.0
 * @category Timing
 */
export const interleave = <K extends string, E, R>(
  rounds: number,
  contenders: Readonly<Record<K, Effect.Effect<number, E, R>>>
): Effect.Effect<Record<K, Array<number>>, E, R> =>
  Effect.gen(function*() {
    const keys = Object.keys(contenders) as Array<K>
    const results = Object.fromEntries(keys.map((key) => [key, [] as Array<number>])) as Record<K, Array<number>>
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < keys.length; i++) {
        const key = keys[(round + i) % keys.length]!
        results[key].push(yield* contenders[key])
      }
    }
    return results
  })

/**
 * The per-round ratios `a[i] / b[i]`.
 *
 * @since 0.1.0
 * @category Statistics
 */
export const pairedRatios = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): Array<number> =>
  a.map((x, i) => x / b[i]!)

// ---------------------------------------------------------------------------------------------------------
// Heap
// ---------------------------------------------------------------------------------------------------------

let gcFunction: (() => void) | undefined

/**
 * The V8 garbage collector: `globalThis.gc` when node runs with `--expose-gc`, otherwise exposed at run time
 * (`v8.setFlagsFromString("--expose-gc")`, then read from a fresh context).
 *
 * @since 0.1.0
 * @category Heap
 */
export const collectGarbage = (): void => {
  if (gcFunction === undefined) {
    const global = (globalThis as { gc?: () => void }).gc
    if (typeof global === "function") {
      gcFunction = global
    } else {
      v8.setFlagsFromString("--expose-gc")
      gcFunction = vm.runInNewContext("gc") as () => void
    }
  }
  gcFunction()
}

/**
 * `heapUsed` in bytes after full garbage collections (and a turn of the event loop, so that finalizers and
 * pending timers settle).
 *
 * @since 0.1.0
 * @category Heap
 */
export const heapAfterGc: Effect.Effect<number> = Effect.gen(function*() {
  yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
  for (let i = 0; i < 3; i++) collectGarbage()
  return process.memoryUsage().heapUsed
})

/**
 * @since 0.1.0
 * @category Heap
 */
export const MiB = 1024 * 1024
