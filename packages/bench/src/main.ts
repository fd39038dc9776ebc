/**
 * The `pnpm bench` entry: `node packages/bench/dist/esm/main.js [--quick] [--only NAME[,NAME]] [--readme]
 * [--out FILE]`. Prints the table, writes `packages/bench/results.json`, and with `--readme` puts the table
 * between the markers of the main README.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Report from "./Report.js"
import * as Suite from "./Suite.js"

// this file is packages/bench/dist/esm/main.js
const packageDir = Path.resolve(Path.dirname(process.argv[1] ?? "."), "..", "..")
const rootReadme = Path.resolve(packageDir, "..", "..", "README.md")

const out = (text: string) => process.stdout.write(`${text}\n`)
const err = (text: string) => process.stderr.write(`${text}\n`)

const usage = "usage: main.js [--quick] [--only NAME[,NAME...]] [--readme] [--out FILE]"

const parse = (argv: ReadonlyArray<string>) => {
  let quick = false
  let readme = false
  let output = Path.join(packageDir, "results.json")
  const only: Array<string> = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "--quick") quick = true
    else if (arg === "--readme") readme = true
    else if (arg === "--only" && argv[i + 1] !== undefined) only.push(...argv[++i]!.split(","))
    else if (arg.startsWith("--only=")) only.push(...arg.slice("--only=".length).split(","))
    else if (arg === "--out" && argv[i + 1] !== undefined) output = argv[++i]!
    else if (arg === "--help" || arg === "-h") return undefined
    else throw new Error(`unknown argument ${arg}\n${usage}`)
  }
  return { quick, readme, output, only: only.filter((name) => name !== "") }
}

const main = async () => {
  const options = parse(process.argv.slice(2))
  if (options === undefined) return out(usage)
  const machine = Report.machine()
  err(`kaltura-effect benchmarks${options.quick ? " (--quick: a smoke run, the numbers mean nothing)" : ""}`)
  err(`machine: ${Report.describeMachine(machine)}`)
  const started = performance.now()
  const outcome = await Effect.runPromise(Suite.run({
    quick: options.quick,
    only: options.only,
    onProgress: (event) => {
      if (event._tag === "Start") err(`- ${event.name} ...`)
      else if (event._tag === "Done") err(`  ${event.name}: ${(event.millis / 1000).toFixed(1)} s`)
      else err(`  ${event.name} FAILED after ${(event.millis / 1000).toFixed(1)} s:\n${event.error}`)
    }
  }))
  err(`total: ${((performance.now() - started) / 1000).toFixed(1)} s`)
  out("")
  out(Report.textTable(outcome.rows))
  out("")
  out(Report.notes(outcome.rows))
  Fs.writeFileSync(options.output, JSON.stringify(outcome.rows, null, 2) + "\n")
  err(`\nwrote ${options.output}`)
  if (options.readme) {
    const section = Report.readmeSection(outcome.rows, machine, new Date())
    if (Report.updateFile(rootReadme, section)) {
      err(`updated ${rootReadme}`)
    } else {
      err(`no ${Report.markers.start} / ${Report.markers.end} markers in ${rootReadme}: README not updated`)
    }
  }
  const misses = outcome.rows.filter((row) => row.pass === false).map((row) => row.name)
  if (misses.length > 0) err(`targets missed: ${misses.join(", ")}`)
  if (outcome.failures.length > 0) {
    err(`benchmarks failed: ${outcome.failures.map((failure) => failure.name).join(", ")}`)
    process.exitCode = 1
  }
}

main().catch((error) => {
  err(String(error instanceof Error ? error.message : error))
  process.exitCode = 1
})
