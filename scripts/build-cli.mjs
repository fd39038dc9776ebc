// The shipped `kaltura-apptoken` bin: one self-contained, tree-shaken ESM bundle of the CLI, from what
// `tsc -b tsconfig.build.json` has just written to packages/cli/build/esm (run by `pnpm build`, after build-cjs).
//
// - packages/cli/dist/bin.js is the entry (the package's `bin`); packages/cli/dist/chunks/ holds the chunks it shares
//   with the commands loaded on demand: `demo` and `fake-server` import their modules with `import()`, so the fake
//   server, its HTTP server and `ws` load only for those two commands (esbuild's ESM code splitting); so do the
//   handlers of `token` and `doctor`.
// - Everything is bundled (effect, @effect/*, @kaltura-effect/*): the published package has no runtime dependency.
//   Node built-ins stay imports. Optional dependencies that bundled code `require`s inside a `try` (ws's `bufferutil`
//   and `utf-8-validate`) are left to fail at run time, as they do in a plain install without them.
// - Minified (whitespace, syntax and identifiers: measured faster to load, see packages/cli/README.md), with a linked
//   source map (no sources inside) that `--debug` turns on, so that stack traces name the original files and lines.
// - Checks: every bundled package comes from one directory (two copies of effect would break tags), and no module
//   of @effect/cluster, @effect/rpc or @effect/sql (peers of @effect/platform-node that no command uses) is bundled.
// - dist/THIRD-PARTY-LICENSES.md: the name, version, license and license text of every bundled package.
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const cliDir = path.join(root, "packages", "cli")
const entry = path.join(cliDir, "build", "esm", "bin.js")
const outdir = path.join(cliDir, "dist")

const fail = (message) => {
  console.error(`build-cli: ${message}`)
  process.exit(1)
}

if (!fs.existsSync(entry)) fail(`${path.relative(root, entry)} is missing: run \`tsc -b tsconfig.build.json\` first`)

fs.rmSync(outdir, { recursive: true, force: true })

const result = await esbuild.build({
  entryPoints: { bin: entry },
  absWorkingDir: cliDir,
  outdir,
  entryNames: "[name]",
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  treeShaking: true,
  platform: "node",
  format: "esm",
  target: "node20",
  minify: true,
  sourcemap: "linked",
  sourcesContent: false,
  legalComments: "none", // the licenses go to THIRD-PARTY-LICENSES.md
  // CommonJS dependencies bundled into ESM `require` Node built-ins: give them a real `require`
  banner: {
    js:
      "import { createRequire as __kaltura_createRequire } from \"node:module\"; const require = __kaltura_createRequire(import.meta.url);"
  },
  metafile: true,
  logLevel: "warning"
})

// -----------------------------------------------------------------------------------------------------------------
// checks on what was bundled
// -----------------------------------------------------------------------------------------------------------------

/** The package directory (the part up to the last node_modules/<name>) of a bundled input, if it is in one. */
const packageOf = (input) => {
  const parts = input.split("/")
  const at = parts.lastIndexOf("node_modules")
  if (at < 0) return undefined
  const size = parts[at + 1]?.startsWith("@") ? 2 : 1
  return {
    name: parts.slice(at + 1, at + 1 + size).join("/"),
    dir: path.resolve(cliDir, ...parts.slice(0, at + 1 + size))
  }
}

// the packages with code in the output (an input whose every export was shaken off is not counted)
const packages = new Map()
for (const output of Object.values(result.metafile.outputs)) {
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = packageOf(input)
    if (pkg === undefined || bytesInOutput === 0) continue
    if (!packages.has(pkg.name)) packages.set(pkg.name, new Set())
    packages.get(pkg.name).add(fs.realpathSync(pkg.dir))
  }
}
const duplicated = [...packages].filter(([, dirs]) => dirs.size > 1)
if (duplicated.length > 0) {
  fail(
    `bundled twice (two copies break Effect's tags): ${
      duplicated.map(([name, dirs]) => `${name} from ${[...dirs].join(" and ")}`).join("; ")
    }`
  )
}
const unwanted = [...packages.keys()].filter((name) => ["@effect/cluster", "@effect/rpc", "@effect/sql"].includes(name))
if (unwanted.length > 0) {
  fail(`${unwanted.join(", ")} bundled: no command uses them; find the import that pulls them in`)
}

// -----------------------------------------------------------------------------------------------------------------
// what `session` loads: not the fake server, nor the demo
// -----------------------------------------------------------------------------------------------------------------

const kib = (bytes) => `${(bytes / 1024).toFixed(0)} KiB`
const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith(".js"))
/** What `session` loads: the bin, what it imports (statically or not), and their static imports. */
const loadedBy = (file) => {
  const seen = new Set()
  const visit = (f, dynamic) => {
    if (seen.has(f)) return
    seen.add(f)
    for (const imported of result.metafile.outputs[f]?.imports ?? []) {
      if (!imported.external && (dynamic || imported.kind === "import-statement")) visit(imported.path, false)
    }
  }
  visit(file, true)
  return seen
}
const bytes = (files) => [...files].reduce((sum, f) => sum + result.metafile.outputs[f].bytes, 0)
fs.writeFileSync(path.join(cliDir, "build", "bundle-meta.json"), JSON.stringify(result.metafile))
const bin = outputs.find(([file]) => file === "dist/bin.js")
if (bin === undefined) fail(`no dist/bin.js among ${outputs.map(([file]) => file).join(", ")}`)

// `session`, `hash` and `call` must not load the fake server (packages/testing, its HTTP server, ws), the demo, the
// Redis store (packages/redis, ioredis), or the handlers of `token` and `doctor` (with AppTokenAdmin): those load on
// demand, through the `import()`s of Cli.ts, internal/cache.ts, internal/tokenCommand.ts and internal/doctorCommand.ts
const loadedFiles = loadedBy(bin[0])
const onDemandOnly = [...loadedFiles].flatMap((file) =>
  Object.keys(result.metafile.outputs[file].inputs).filter((input) =>
    /(^|\/)(testing|redis)\/dist\/|\/internal\/(demo|token|doctor|doctorRun|nodeHttp)\.js$|\/AppTokenAdmin\.js$|\/node_modules\/(ws|ioredis)\//
      .test(input)
  )
)
if (onDemandOnly.length > 0) {
  fail(`every command loads ${onDemandOnly.slice(0, 5).join(", ")}: import it with import() where it is used`)
}

// -----------------------------------------------------------------------------------------------------------------
// third-party licenses
// -----------------------------------------------------------------------------------------------------------------

const licenseText = (dir) => {
  const file = fs.readdirSync(dir).find((name) => /^(licen[cs]e|copying)(\.md|\.txt)?$/i.test(name))
  return file === undefined ? undefined : fs.readFileSync(path.join(dir, file), "utf8").trim()
}
const sections = [...packages].sort(([a], [b]) => a.localeCompare(b)).map(([name, dirs]) => {
  const dir = [...dirs][0]
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
  const text = licenseText(dir)
  return `## ${name}@${pkg.version}\n\nLicense: ${pkg.license ?? "see below"}\n\n` +
    (text === undefined ? "(no license file in the package)\n" : "```\n" + text + "\n```\n")
})
fs.writeFileSync(
  path.join(outdir, "THIRD-PARTY-LICENSES.md"),
  "# Third-party software in this bundle\n\n" +
    "`dist/bin.js` and `dist/chunks/` bundle the following packages (and @kaltura-effect/core, node, redis and testing, " +
    "MIT, see LICENSE).\n\n" + sections.join("\n")
)

// -----------------------------------------------------------------------------------------------------------------
// sizes
// -----------------------------------------------------------------------------------------------------------------

console.log(
  `build-cli: packages/cli/dist: ${outputs.length} files, ${kib(outputs.reduce((sum, [, o]) => sum + o.bytes, 0))}; ` +
    `loaded by session: ${kib(bytes(loadedFiles))}; ${packages.size} bundled packages`
)
