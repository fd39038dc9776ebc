/**
 * Where each reliability test writes its figures: one JSON file per test under `results/`, read back by
 * the report script that renders `docs/reliability.md`.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

/**
 * A figure: a count, a duration, a label, or a breakdown by tag.
 *
 * @since 0.1.0
 * @category Models
 */
export type Figure = number | string | boolean | Readonly<Record<string, number>>

/**
 * What one test recorded.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Result {
  /** File name and sort key, e.g. `1-fault-soak-acquisitions`. */
  readonly id: string
  /** The part of the suite (see `report.ts`). */
  readonly part: number
  readonly title: string
  /** What the test does, one or two sentences. */
  readonly description: string
  readonly figures: Readonly<Record<string, Figure>>
  /** Names of figures that must be 0 (the report fails the run if one is not). */
  readonly mustBeZero: ReadonlyArray<string>
  /** Wall time of the test, ms. */
  readonly durationMillis: number
  /** When it was recorded, ISO 8601. */
  readonly recordedAt: string
}

/**
 * The package's root directory, found from the working directory (the package itself, or any directory of the
 * repository above it, as when vitest runs the workspace from the root).
 *
 * @since 0.1.0
 * @category Paths
 */
export const packageRoot = (): string => {
  const isOurs = (dir: string) => {
    const manifest = Path.join(dir, "package.json")
    return Fs.existsSync(manifest) && Fs.readFileSync(manifest, "utf8").includes("\"@kaltura-effect/reliability\"")
  }
  let dir = process.cwd()
  for (let i = 0; i < 8; i++) {
    if (isOurs(dir)) return dir
    const nested = Path.join(dir, "packages", "reliability")
    if (isOurs(nested)) return nested
    dir = Path.dirname(dir)
  }
  throw new Error("cannot find the @kaltura-effect/reliability package from the working directory")
}

/**
 * The directory the results are written to (`RELIABILITY_RESULTS_DIR`, or `results/` in the package).
 *
 * @since 0.1.0
 * @category Paths
 */
export const resultsDir = (): string => process.env.RELIABILITY_RESULTS_DIR ?? Path.join(packageRoot(), "results")

/**
 * Writes one test's figures to `results/<id>.json`, replacing an earlier run's.
 *
 * @since 0.1.0
 * @category Recording
 */
export const record = (result: Omit<Result, "recordedAt">): Result => {
  const full: Result = { ...result, recordedAt: new Date().toISOString() }
  const dir = resultsDir()
  Fs.mkdirSync(dir, { recursive: true })
  Fs.writeFileSync(Path.join(dir, `${result.id}.json`), JSON.stringify(full, null, 2) + "\n")
  return full
}

/**
 * Reads every recorded result, sorted by id (numbers as numbers: part 10 after part 9).
 *
 * @since 0.1.0
 * @category Reading
 */
export const readAll = (dir: string = resultsDir()): ReadonlyArray<Result> => {
  if (!Fs.existsSync(dir)) return []
  return Fs.readdirSync(dir)
    .filter((name) => name.endsWith(".json") && !name.startsWith("."))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }))
    .map((name) => JSON.parse(Fs.readFileSync(Path.join(dir, name), "utf8")) as Result)
}

/**
 * Removes the results of an earlier run.
 *
 * @since 0.1.0
 * @category Recording
 */
export const clear = (dir: string = resultsDir()): void => {
  Fs.rmSync(dir, { recursive: true, force: true })
}

/**
 * The figures that must be 0 and are not, as `id: figure = value`.
 *
 * @since 0.1.0
 * @category Reading
 */
export const violations = (results: ReadonlyArray<Result>): ReadonlyArray<string> =>
  results.flatMap((result) =>
    result.mustBeZero
      .filter((name) => result.figures[name] !== 0)
      .map((name) => `${result.id}: ${name} = ${JSON.stringify(result.figures[name])}`)
  )
