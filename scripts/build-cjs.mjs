// The CommonJS half of each package's build, from what `tsc -b tsconfig.build.json` has just written:
// - dist/cjs/**/*.js from dist/esm/**/*.js: esbuild changes the module format only, file by file;
// - dist/dts/**/*.d.cts beside each dist/dts/**/*.d.ts: the same declarations as CommonJS ones, their relative
//   imports pointed at the .d.cts files (`./X.js` becomes `./X.cjs`), so that TypeScript under `node16`/`nodenext`
//   sees CommonJS types for the CommonJS files (`.d.ts` in a `"type": "module"` package are ESM types).
//
// esbuild's transform (not build) is used on purpose: build treats every file of a `"type": "module"` package as
// Node-mode ESM and gives each `import * as X` namespace a stray `default` member (`__toESM(require(...), 1)`);
// transform converts like TypeScript's own CommonJS output, which our `__esModule`-marked modules need.
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"

const packagesDir = path.resolve(import.meta.dirname, "..", "packages")

const listFiles = (dir, suffix) =>
  fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(suffix))
    .map((entry) => path.join(entry.parentPath, entry.name))

const buildCjs = async (esmDir, cjsDir) => {
  fs.rmSync(cjsDir, { recursive: true, force: true })
  for (const esmFile of listFiles(esmDir, ".js")) {
    const cjsFile = path.join(cjsDir, path.relative(esmDir, esmFile))
    const source = fs.readFileSync(esmFile, "utf8").replace(/\n\/\/# sourceMappingURL=.*\s*$/, "\n")
    const result = await esbuild.transform(source, {
      format: "cjs",
      platform: "node",
      target: "node20",
      loader: "js",
      sourcemap: "external",
      sourcesContent: false,
      sourcefile: path.relative(path.dirname(cjsFile), esmFile).split(path.sep).join("/"),
      logLevel: "warning"
    })
    fs.mkdirSync(path.dirname(cjsFile), { recursive: true })
    fs.writeFileSync(cjsFile, `${result.code}//# sourceMappingURL=${path.basename(cjsFile)}.map\n`)
    fs.writeFileSync(`${cjsFile}.map`, result.map)
  }
  fs.writeFileSync(path.join(cjsDir, "package.json"), JSON.stringify({ type: "commonjs" }) + "\n")
}

// `from "./X.js"`, `import("./X.js")` and `import "./X.js"` with a relative specifier
const relativeJsSpecifier = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])(\.{1,2}\/[^"']*?)\.js\2/g

const buildCts = (dtsDir) => {
  for (const file of listFiles(dtsDir, ".d.cts").concat(listFiles(dtsDir, ".d.cts.map"))) fs.rmSync(file)
  for (const dtsFile of listFiles(dtsDir, ".d.ts")) {
    const ctsFile = dtsFile.slice(0, -".d.ts".length) + ".d.cts"
    const mapFile = `${dtsFile}.map`
    let text = fs.readFileSync(dtsFile, "utf8").replace(relativeJsSpecifier, "$1$2$3.cjs$2")
    if (fs.existsSync(mapFile)) {
      text = text.replace(/\/\/# sourceMappingURL=.*$/, `//# sourceMappingURL=${path.basename(ctsFile)}.map`)
      const map = JSON.parse(fs.readFileSync(mapFile, "utf8"))
      map.file = path.basename(ctsFile)
      fs.writeFileSync(`${ctsFile}.map`, JSON.stringify(map))
    }
    fs.writeFileSync(ctsFile, text)
  }
}

for (const name of fs.readdirSync(packagesDir)) {
  const manifest = path.join(packagesDir, name, "package.json")
  // private packages (bench, reliability, ...) are run from dist/esm only: no CommonJS for them
  if (!fs.existsSync(manifest) || JSON.parse(fs.readFileSync(manifest, "utf8")).private === true) continue
  const distDir = path.join(packagesDir, name, "dist")
  if (fs.existsSync(path.join(distDir, "esm"))) await buildCjs(path.join(distDir, "esm"), path.join(distDir, "cjs"))
  if (fs.existsSync(path.join(distDir, "dts"))) buildCts(path.join(distDir, "dts"))
}
