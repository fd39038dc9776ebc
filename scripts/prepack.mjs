// `prepack` of every publishable package (npm and pnpm both run it for `pack` and `publish`).
//
// 1. Only pnpm may pack: it replaces `workspace:` specifiers with real versions and applies `publishConfig`
//    (the published `exports`, without the workspace-only `source` condition and `./internal/*`). `npm pack` or
//    `npm publish` in a package directory would ship the workspace manifest as it is. See CONTRIBUTING.md,
//    "Releasing". (`npm publish <file>.tgz` of a tarball that pnpm packed runs no script and is fine.)
// 2. Nothing unbuilt: every file the published `exports` and `bin` point at must exist (`pnpm build` first).
// 3. Nothing stale: every dist/esm/**/*.js must still have its src/**/*.ts (a removed module's old output would be
//    packed: `pnpm clean && pnpm build`); the CLI's bundle must have every chunk it loads and be newer than the
//    sources it was built from.
import * as fs from "node:fs"
import * as path from "node:path"

const fail = (message) => {
  console.error(`prepack: ${message}`)
  process.exit(1)
}

const agent = process.env.npm_config_user_agent ?? ""
if (!agent.startsWith("pnpm/")) {
  fail(
    `pack and publish with pnpm (\`pnpm pack\`, \`pnpm publish\`), not "${agent.split(" ")[0] || "unknown"}": ` +
      "only pnpm rewrites `workspace:` specifiers and applies `publishConfig`. See CONTRIBUTING.md, \"Releasing\"."
  )
}

const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"))
const targets = (value) =>
  typeof value === "string"
    ? [value]
    : value === null || value === undefined
    ? []
    : Object.values(value).flatMap(targets)
const missing = [...targets(pkg.publishConfig?.exports ?? pkg.exports), ...targets(pkg.bin)]
  .filter((target) => !target.includes("*") && !fs.existsSync(path.resolve(target)))
if (missing.length > 0) fail(`${pkg.name}: missing ${missing.join(", ")}: run \`pnpm build\` first`)

const esmDir = path.resolve("dist", "esm")
if (fs.existsSync(esmDir)) {
  const stale = fs.readdirSync(esmDir, { recursive: true })
    .filter((file) => file.endsWith(".js"))
    .filter((file) => !fs.existsSync(path.resolve("src", file.slice(0, -".js".length) + ".ts")))
  if (stale.length > 0) {
    fail(`${pkg.name}: dist/esm has output of no source (${stale.join(", ")}): run \`pnpm clean && pnpm build\``)
  }
}

// The CLI's bin is a bundle (scripts/build-cli.mjs): every chunk it loads must be there, and it must be newer than
// every source file it was built from (its own and those of the workspace packages it bundles).
const bundleMeta = path.resolve("build", "bundle-meta.json")
if (fs.existsSync(bundleMeta)) {
  const meta = JSON.parse(fs.readFileSync(bundleMeta, "utf8"))
  const missingChunks = Object.keys(meta.outputs).filter((file) => !fs.existsSync(path.resolve(file)))
  if (missingChunks.length > 0) fail(`${pkg.name}: missing ${missingChunks.join(", ")}: run \`pnpm build\``)
  const bundledAt = Math.min(...Object.keys(meta.outputs).map((file) => fs.statSync(path.resolve(file)).mtimeMs))
  const sourceDirs = new Set([path.resolve("src")])
  for (const input of Object.keys(meta.inputs)) {
    const workspacePackage = /^\.\.\/([^/.][^/]*)\/dist\//.exec(input)
    if (workspacePackage !== null) sourceDirs.add(path.resolve("..", workspacePackage[1], "src"))
  }
  const newer = [...sourceDirs].flatMap((dir) =>
    fs.readdirSync(dir, { recursive: true })
      .map((file) => path.join(dir, file))
      .filter((file) => file.endsWith(".ts") && fs.statSync(file).mtimeMs > bundledAt)
  )
  if (newer.length > 0) {
    fail(`${pkg.name}: the bundle is older than ${newer.slice(0, 3).join(", ")}: run \`pnpm build\``)
  }
}
