/**
 * Rendering the results: a terminal table, a Markdown table, the machine description, and the replacement
 * of the main README's section between `<!-- bench:start -->` and `<!-- bench:end -->`.
 *
 * @since 0.1.0
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import type { Row } from "./Harness.js"

/**
 * @since 0.1.0
 * @category Formatting
 */
export const formatNumber = (value: number | undefined): string => {
  if (value === undefined) return ""
  if (!Number.isFinite(value)) return String(value)
  const abs = Math.abs(value)
  if (abs >= 10_000) return Math.round(value).toLocaleString("en-US")
  if (abs >= 100) return value.toFixed(0)
  if (abs >= 10) return value.toFixed(1)
  if (abs >= 1 || abs === 0) return value.toFixed(2)
  return value.toPrecision(2)
}

const status = (row: Row) => row.pass === undefined ? "-" : row.pass ? "pass" : "MISS"

const spreadText = (row: Row) =>
  row.spread === undefined
    ? ""
    : `${formatNumber(row.spread.low)}–${formatNumber(row.spread.high)} (${row.spread.kind})`

const columns = ["name", "value", "unit", "spread", "target", "baseline", "ratio", "pass/miss"] as const

const cells = (row: Row): Array<string> => [
  row.name,
  formatNumber(row.value),
  row.unit,
  spreadText(row),
  row.target ?? "",
  formatNumber(row.baseline),
  row.ratio === undefined ? "" : row.ratio.toFixed(2),
  status(row)
]

/**
 * A plain-text table for the terminal.
 *
 * @since 0.1.0
 * @category Formatting
 */
export const textTable = (rows: ReadonlyArray<Row>): string => {
  const lines = [[...columns], ...rows.map(cells)]
  const widths = columns.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)))
  const render = (line: ReadonlyArray<string>) => line.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd()
  return [render(lines[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...lines.slice(1).map(render)].join("\n")
}

/**
 * A Markdown table, with what each baseline is under it.
 *
 * @since 0.1.0
 * @category Formatting
 */
export const markdownTable = (rows: ReadonlyArray<Row>): string => {
  const escape = (cell: string) => cell.replace(/\|/g, "\\|")
  const header = `| ${columns.join(" | ")} |`
  const rule = `|${columns.map(() => "---").join("|")}|`
  const body = rows.map((row) => `| ${cells(row).map(escape).join(" | ")} |`)
  return [header, rule, ...body].join("\n")
}

/**
 * The notes of each row: what the value and the baseline are.
 *
 * @since 0.1.0
 * @category Formatting
 */
export const notes = (rows: ReadonlyArray<Row>): string =>
  rows.map((row) =>
    `- \`${row.name}\`${row.baselineLabel ? ` (baseline: ${row.baselineLabel})` : ""}${row.note ? `: ${row.note}` : ""}`
  ).join("\n")

/**
 * @since 0.1.0
 * @category Machine
 */
export interface Machine {
  readonly cpus: number
  readonly model: string
  readonly node: string
  readonly platform: string
  readonly memoryGiB: number
}

/**
 * The machine: `nproc`-like CPU count, the CPU model from `/proc/cpuinfo` (or `os.cpus()`), node's version.
 *
 * @since 0.1.0
 * @category Machine
 */
export const machine = (): Machine => {
  let model = Os.cpus()[0]?.model ?? "unknown"
  try {
    const line = Fs.readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"))
    if (line !== undefined) model = line.split(":").slice(1).join(":").trim()
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    cpus: Os.availableParallelism(),
    model,
    node: process.version,
    platform: `${Os.platform()} ${Os.release()} ${Os.arch()}`,
    memoryGiB: Math.round(Os.totalmem() / 1024 ** 3)
  }
}

/**
 * @since 0.1.0
 * @category Machine
 */
export const describeMachine = (m: Machine): string =>
  `${m.cpus} CPUs (nproc), ${m.model}, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`

/**
 * The README section: the machine, the date, the table and the notes.
 *
 * @since 0.1.0
 * @category Formatting
 */
export const readmeSection = (rows: ReadonlyArray<Row>, m: Machine, date: Date): string =>
  [
    `Latest \`pnpm bench\` run, ${date.toISOString().slice(0, 10)}, on ${describeMachine(m)}. ` +
    "`ratio` = value / baseline; medians over repeated interleaved runs, spread as shown. " +
    "See [packages/bench/README.md](packages/bench/README.md) for what each row measures.",
    "",
    markdownTable(rows),
    "",
    "<details><summary>What each row and baseline is</summary>",
    "",
    notes(rows),
    "",
    "</details>"
  ].join("\n")

/**
 * The markers of the README section.
 *
 * @since 0.1.0
 * @category Readme
 */
export const markers = { start: "<!-- bench:start -->", end: "<!-- bench:end -->" } as const

/**
 * Replaces what is between the markers in `text`; `undefined` when the markers are missing.
 *
 * @since 0.1.0
 * @category Readme
 */
export const replaceSection = (text: string, section: string): string | undefined => {
  const start = text.indexOf(markers.start)
  const end = text.indexOf(markers.end)
  if (start < 0 || end < start) return undefined
  return `${text.slice(0, start + markers.start.length)}\n${section}\n${text.slice(end)}`
}

/**
 * Writes `section` between the markers of the file at `path`; `false` when the markers are missing.
 *
 * @since 0.1.0
 * @category Readme
 */
export const updateFile = (path: string, section: string): boolean => {
  const updated = replaceSection(Fs.readFileSync(path, "utf8"), section)
  if (updated === undefined) return false
  Fs.writeFileSync(path, updated)
  return true
}
