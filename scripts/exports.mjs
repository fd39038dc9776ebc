// Writes (or with --check, verifies) the entry points of each library package's package.json from its sources:
// every `src/<Module>.ts` is the public subpath `./<Module>`, `src/index.ts` is `.`.
//
// - `exports` (the workspace): each subpath with a `source` condition first (`./src/<Module>.ts`: tsc through
//   `customConditions`, vitest through `resolve.conditions`), then the built files; plus `./internal/*` when the
//   package has `src/internal/`: a private path for the benchmarks and the reliability suite, which never leaves
//   the workspace.
// - `publishConfig.exports` (what pnpm puts in the packed package.json instead): the same subpaths without
//   `source` and without `./internal/*`. `import` gets ESM and its `.d.ts`; `default` (Node's `require`, and any
//   resolver that sets neither condition) gets CommonJS and its `.d.cts`.
// - `typesVersions`: the same list for TypeScript's `node10` resolution (`module: commonjs`), which ignores
//   `exports`.
//
// Run `pnpm exports` after adding or removing a module; `pnpm lint` runs the check.
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
const libraries = ["core", "node", "testing", "redis"]
const check = process.argv.includes("--check")

const entry = (name, withSource) => ({
  ...(withSource ? { source: `./src/${name}.ts` } : {}),
  import: { types: `./dist/dts/${name}.d.ts`, default: `./dist/esm/${name}.js` },
  default: { types: `./dist/dts/${name}.d.cts`, default: `./dist/cjs/${name}.js` }
})

const exportsOf = (modules, withSource, internal) => ({
  "./package.json": "./package.json",
  ".": entry("index", withSource),
  ...Object.fromEntries(modules.map((name) => [`./${name}`, entry(name, withSource)])),
  ...(internal ? { "./internal/*": entry("internal/*", true) } : {})
})

let stale = 0
for (const name of libraries) {
  const dir = path.join(root, "packages", name)
  const file = path.join(dir, "package.json")
  const before = fs.readFileSync(file, "utf8")
  const pkg = JSON.parse(before)
  const modules = fs.readdirSync(path.join(dir, "src"))
    .filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts") && file !== "index.ts")
    .map((file) => file.slice(0, -".ts".length))
    .sort()
  const internal = fs.existsSync(path.join(dir, "src", "internal"))
  pkg.exports = exportsOf(modules, true, internal)
  pkg.main = "./dist/cjs/index.js"
  pkg.module = "./dist/esm/index.js"
  pkg.types = "./dist/dts/index.d.ts"
  pkg.typesVersions = { "*": Object.fromEntries(modules.map((name) => [name, [`./dist/dts/${name}.d.ts`]])) }
  pkg.publishConfig = { ...pkg.publishConfig, access: "public", exports: exportsOf(modules, false, false) }
  const after = JSON.stringify(pkg, null, 2) + "\n"
  if (after === before) continue
  if (check) {
    stale++
    console.error(`packages/${name}/package.json: its entry points do not match src/ (run \`pnpm exports\`)`)
  } else {
    fs.writeFileSync(file, after)
    console.log(`packages/${name}/package.json: entry points written`)
  }
}
process.exit(stale === 0 ? 0 : 1)
