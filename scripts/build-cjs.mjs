// Emits each package's CommonJS build (dist/cjs) from its ESM build (dist/esm), which `tsc -b
// tsconfig.build.json` has just written. esbuild only changes the module format, file by file.
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"

const packagesDir = path.resolve(import.meta.dirname, "..", "packages")

const listJs = (dir) =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".js"))
    .map((entry) => path.join(entry.parentPath, entry.name))

for (const name of fs.readdirSync(packagesDir)) {
  const esmDir = path.join(packagesDir, name, "dist", "esm")
  if (!fs.existsSync(esmDir)) continue
  const cjsDir = path.join(packagesDir, name, "dist", "cjs")
  fs.rmSync(cjsDir, { recursive: true, force: true })
  await esbuild.build({
    entryPoints: listJs(esmDir),
    outdir: cjsDir,
    outbase: esmDir,
    format: "cjs",
    platform: "node",
    target: "node20",
    sourcemap: true,
    logLevel: "warning"
  })
  fs.writeFileSync(path.join(cjsDir, "package.json"), JSON.stringify({ type: "commonjs" }) + "\n")
}
