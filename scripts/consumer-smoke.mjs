// What is published, checked as published (run by .ci/run after `pnpm build`; `pnpm consumer-smoke` by hand):
//
// 1. `pnpm pack` every publishable package (pnpm applies publishConfig and rewrites `workspace:` specifiers);
// 2. `publint --strict` and `attw` (every resolution mode: node10, node16 from CJS and from ESM, bundler) on each
//    tarball;
// 3. a fresh npm project in a temporary directory outside the workspace installs the tarballs with the pinned
//    Effect 3 packages, and there:
//    - type-checks the README's usage example (extracted from the README, between `<!-- example:start -->` and
//      `<!-- example:end -->`), every public subpath and scripts/consumer/probe.ts under `nodenext`, `node16` with
//      CommonJS files (.cts), classic `commonjs` (node10) and `bundler` (with a `source` custom condition, which
//      the published packages must not answer);
//    - runs scripts/consumer/run.ts compiled as ESM and as CommonJS: the README example and a KS with explicit
//      options against the fake server of the packed @kaltura-effect/testing;
//    - runs scripts/consumer/test/*.test.ts with vitest (test layers instead of the live one);
//    - runs the CLI's bin, and checks that the bin cannot be imported;
// 4. a second fresh project installs the CLI's tarball alone (the bin is a self-contained bundle: npm must install
//    nothing else), and there runs `--version`, `fake-server` with `session` and `call` against it, and `demo`.
//
// Every check is a step; the summary goes to stdout and to test-results/consumer-smoke.json ({ passed, failed,
// steps }), which .ci/run counts. Exit code 1 if a step failed. KEEP_CONSUMER=1 keeps the temporary project.
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { clearTimeout, setTimeout } from "node:timers"

const root = path.resolve(import.meta.dirname, "..")
const templateDir = path.join(root, "scripts", "consumer")
const publishable = ["core", "node", "testing", "redis", "cli"]

// The consumer's own dependencies, pinned to the Effect 3 line (npm's `latest` is Effect 4).
const consumerDependencies = {
  "effect": "~3.22.4",
  "@effect/platform": "~0.97.2",
  "@effect/platform-node": "~0.108.2"
}
const consumerDevDependencies = {
  "@effect/vitest": "~0.30.0",
  "@types/node": "^20.19.0",
  "typescript": "~5.9.3",
  "vitest": "~3.2.4"
}

const steps = []
const started = Date.now()

const run = (name, command, args, options = {}) => {
  const t0 = Date.now()
  process.stdout.write(`\n--> ${name}\n`)
  const result = spawnSync(command, args, { stdio: "inherit", encoding: "utf8", ...options })
  const ok = result.status === 0
  const seconds = (Date.now() - t0) / 1000
  steps.push({ name, ok, seconds })
  process.stdout.write(
    `<-- ${ok ? "ok" : `FAILED (${result.error?.message ?? `exit ${result.status}`})`} ${name} (${
      seconds.toFixed(1)
    } s)\n`
  )
  return ok
}

/** Records a check's outcome and prints it. */
const recordStep = (name, ok, t0) => {
  steps.push({ name, ok, seconds: (Date.now() - t0) / 1000 })
  process.stdout.write(`<-- ${ok ? "ok" : "FAILED"} ${name}\n`)
  return ok
}

const check = (name, f) => {
  const t0 = Date.now()
  try {
    f()
    return recordStep(name, true, t0)
  } catch (error) {
    console.error(String(error?.message ?? error))
    return recordStep(name, false, t0)
  }
}

const checkAsync = async (name, f) => {
  const t0 = Date.now()
  try {
    await f()
    return recordStep(name, true, t0)
  } catch (error) {
    console.error(String(error?.message ?? error))
    return recordStep(name, false, t0)
  }
}

/** The first line a child process prints on stdout; fails if it exits or stays silent for `timeout` ms first. */
const firstLine = (child, timeout) =>
  new Promise((resolve, reject) => {
    let text = ""
    const timer = setTimeout(() => reject(new Error(`no line on stdout within ${timeout} ms`)), timeout)
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      text += chunk
      if (text.includes("\n")) {
        clearTimeout(timer)
        resolve(text.slice(0, text.indexOf("\n")))
      }
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`exited (${code}) before printing a line`))
    })
  })

const finish = (work) => {
  const failed = steps.filter((step) => !step.ok)
  const total = ((Date.now() - started) / 1000).toFixed(1)
  fs.mkdirSync(path.join(root, "test-results"), { recursive: true })
  fs.writeFileSync(
    path.join(root, "test-results", "consumer-smoke.json"),
    JSON.stringify(
      { passed: steps.length - failed.length, failed: failed.length, seconds: Number(total), steps },
      null,
      2
    )
  )
  console.log(`\nconsumer smoke, ${total} s:`)
  for (const step of steps) {
    console.log(`  ${step.ok ? "ok    " : "FAILED"} ${step.name} (${step.seconds.toFixed(1)} s)`)
  }
  console.log(`consumer smoke: ${steps.length - failed.length} of ${steps.length} steps ok`)
  if (work !== undefined) {
    if (failed.length > 0 || process.env.KEEP_CONSUMER === "1") console.log(`(the project is kept in ${work})`)
    else fs.rmSync(work, { recursive: true, force: true })
  }
  process.exit(failed.length === 0 ? 0 : 1)
}

// The README's usage example, as the README has it now.
const readmeExample = () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const block = /<!-- example:start -->\s*```ts\n([\s\S]*?)```\s*<!-- example:end -->/.exec(readme)
  if (block === null) {
    throw new Error("README.md: no ```ts block between <!-- example:start --> and <!-- example:end -->")
  }
  if (!/\bexport const main\b/.test(block[1])) throw new Error("README.md: the usage example no longer exports `main`")
  return block[1]
}

// 1. Pack
const work = fs.mkdtempSync(path.join(os.tmpdir(), "kaltura-effect-consumer-"))
if (!path.relative(root, work).startsWith("..")) throw new Error(`${work} is inside the workspace`)
const tarballDir = path.join(work, "tarballs")
fs.mkdirSync(tarballDir)
const tarballs = {}
for (const name of publishable) {
  const dir = path.join(root, "packages", name)
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"))
  const file = path.join(tarballDir, `${pkg.name.replace("@", "").replace("/", "-")}-${pkg.version}.tgz`)
  if (
    run(`pack ${pkg.name}`, "pnpm", ["pack", "--pack-destination", tarballDir], {
      cwd: dir,
      stdio: ["ignore", "ignore", "inherit"]
    })
  ) {
    tarballs[pkg.name] = { file, pkg }
  }
}
if (Object.keys(tarballs).length !== publishable.length) finish(work)

// 2. publint --strict and attw on each tarball
const bin = (name) => path.join(root, "node_modules", ".bin", name)
for (const { file, pkg } of Object.values(tarballs)) {
  run(`publint --strict ${pkg.name}`, bin("publint"), ["run", file, "--strict"])
  // --profile strict: node10, node16 (from CJS and from ESM) and bundler; no @types lookup on the registry
  run(`attw ${pkg.name}`, bin("attw"), [
    file,
    "--profile",
    "strict",
    "--no-definitely-typed",
    "--format",
    "table-flipped"
  ])
}

// 3. The consumer project
const project = path.join(work, "project")
fs.cpSync(templateDir, project, { recursive: true })
const example = readmeExample()
const dialects = {
  ts: { example: "example.ts", probe: "probe.ts", run: "run.ts", entrypoints: "entrypoints.ts", js: ".js" },
  cts: { example: "example.cts", probe: "probe.cts", run: "run.cts", entrypoints: "entrypoints.cts", js: ".cjs" }
}
const entrypoints = Object.values(tarballs).flatMap(({ pkg }) =>
  Object.keys(pkg.publishConfig?.exports ?? {})
    .filter((subpath) => subpath !== "./package.json")
    .map((subpath) => pkg.name + subpath.slice(1))
)
for (const dialect of Object.values(dialects)) {
  fs.writeFileSync(path.join(project, dialect.example), `// extracted from README.md\n${example}`)
  fs.writeFileSync(
    path.join(project, dialect.entrypoints),
    "// every public subpath of every package, written by scripts/consumer-smoke.mjs\n" +
      entrypoints.map((specifier, i) => `import * as Entry${i} from "${specifier}"\n`).join("") +
      `export const entries = [${entrypoints.map((_, i) => `Entry${i}`).join(", ")}]\n`
  )
  if (dialect.probe !== "probe.ts") fs.copyFileSync(path.join(project, "probe.ts"), path.join(project, dialect.probe))
  if (dialect.run !== "run.ts") {
    const runSource = fs.readFileSync(path.join(project, "run.ts"), "utf8")
    fs.writeFileSync(
      path.join(project, dialect.run),
      runSource.replace(`from "./example.js"`, `from "./example${dialect.js}"`)
    )
  }
}
for (const config of fs.readdirSync(project).filter((file) => /^tsconfig\.\w.*\.json$/.test(file))) {
  const tsconfig = JSON.parse(fs.readFileSync(path.join(project, config), "utf8"))
  if (tsconfig.files !== undefined) {
    tsconfig.files.push(tsconfig.files.some((file) => file.endsWith(".cts")) ? "entrypoints.cts" : "entrypoints.ts")
    fs.writeFileSync(path.join(project, config), JSON.stringify(tsconfig, null, 2))
  }
}
fs.writeFileSync(
  path.join(project, "package.json"),
  JSON.stringify(
    {
      name: "kaltura-effect-consumer-smoke",
      private: true,
      type: "module",
      dependencies: {
        ...Object.fromEntries(Object.values(tarballs).map(({ file, pkg }) => [pkg.name, `file:${file}`])),
        ...consumerDependencies
      },
      devDependencies: consumerDevDependencies
    },
    null,
    2
  )
)

const npmInstall = run("npm install (the tarballs and the pinned Effect 3 packages)", "npm", [
  "install",
  "--no-audit",
  "--no-fund",
  "--prefer-offline",
  "--loglevel=error"
], { cwd: project })
if (!npmInstall) finish(work)

check("the project sees no workspace node_modules", () => {
  const resolved = spawnSync("node", ["-p", "require.resolve('effect')"], { cwd: project, encoding: "utf8" }).stdout
    .trim()
  if (!resolved.startsWith(project)) throw new Error(`effect resolves to ${resolved}`)
})

const tsc = path.join(project, "node_modules", ".bin", "tsc")
run(
  "tsc: nodenext (ESM), README example + every entry point + probe + the test",
  tsc,
  ["-p", "tsconfig.nodenext.json"],
  {
    cwd: project
  }
)
run("tsc: node16 from CommonJS (.cts)", tsc, ["-p", "tsconfig.node16-cjs.json"], { cwd: project })
run("tsc: classic commonjs (node10 resolution)", tsc, ["-p", "tsconfig.commonjs.json"], { cwd: project })
run("tsc: bundler, with a `source` custom condition", tsc, ["-p", "tsconfig.bundler.json"], { cwd: project })

run("node: ESM program (README example + a KS) against the fake server", "node", ["out/esm/run.js"], { cwd: project })
run("node: CommonJS program (README example + a KS) against the fake server", "node", ["out/cjs/run.cjs"], {
  cwd: project
})
run("vitest: a consumer test with test layers", path.join(project, "node_modules", ".bin", "vitest"), ["run"], {
  cwd: project
})

run("cli: the installed kaltura-apptoken bin runs", path.join(project, "node_modules", ".bin", "kaltura-apptoken"), [
  "--version"
], { cwd: project })
check("cli: the bin cannot be imported", () => {
  for (const specifier of ["@kaltura-effect/cli", "@kaltura-effect/cli/bin", "@kaltura-effect/cli/dist/bin.js"]) {
    const result = spawnSync("node", ["--input-type=module", "-e", `await import(${JSON.stringify(specifier)})`], {
      cwd: project,
      encoding: "utf8",
      timeout: 20_000
    })
    if (result.status === 0 || !/ERR_PACKAGE_PATH_NOT_EXPORTED/.test(result.stderr)) {
      throw new Error(`import("${specifier}") did not fail with ERR_PACKAGE_PATH_NOT_EXPORTED: ${result.stderr}`)
    }
  }
})

// 4. The CLI alone: a fresh project with nothing but the CLI's tarball, so that its bin can use nothing but its own
//    bundle (no effect, no @kaltura-effect/* package installed beside it)
const cliProject = path.join(work, "cli-only")
fs.mkdirSync(cliProject)
fs.writeFileSync(
  path.join(cliProject, "package.json"),
  JSON.stringify(
    {
      name: "kaltura-effect-cli-smoke",
      private: true,
      dependencies: { "@kaltura-effect/cli": `file:${tarballs["@kaltura-effect/cli"].file}` }
    },
    null,
    2
  )
)
const cliBin = path.join(cliProject, "node_modules", ".bin", "kaltura-apptoken")
if (
  run("npm install (the CLI's tarball alone)", "npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: cliProject
  })
) {
  check("cli (alone): npm installed no other package", () => {
    const installed = JSON.parse(fs.readFileSync(path.join(cliProject, "node_modules", ".package-lock.json"), "utf8"))
    const others = Object.keys(installed.packages).filter((key) => key !== "node_modules/@kaltura-effect/cli")
    if (others.length > 0) throw new Error(`installed beside the CLI: ${others.join(", ")}`)
  })
  run("cli (alone): kaltura-apptoken --version", cliBin, ["--version"], { cwd: cliProject })
  await checkAsync("cli (alone): fake-server, then session and call against it", async () => {
    const server = spawn(cliBin, ["fake-server"], { cwd: cliProject, stdio: ["ignore", "pipe", "inherit"] })
    try {
      const fake = JSON.parse(await firstLine(server, 30_000))
      const env = {
        ...process.env,
        KALTURA_SERVICE_URL: fake.serviceUrl,
        KALTURA_PARTNER_ID: String(fake.partnerId),
        KALTURA_APP_TOKEN_ID: fake.appTokenId,
        KALTURA_APP_TOKEN: fake.token,
        // the session cache in the project, not the user's cache directory
        KALTURA_CACHE_DIR: path.join(cliProject, "cache")
      }
      // stdout is the KS: checked, never printed
      const session = spawnSync(cliBin, ["session"], { cwd: cliProject, env, encoding: "utf8", timeout: 30_000 })
      if (session.status !== 0 || !/^djJ8[A-Za-z0-9_=-]+\n$/.test(session.stdout)) {
        throw new Error(`session: exit ${session.status}, ${session.stdout.length} bytes out, ${session.stderr}`)
      }
      const call = spawnSync(cliBin, ["call", "baseEntry", "list", "--param", "pager:pageSize=1"], {
        cwd: cliProject,
        env,
        encoding: "utf8",
        timeout: 30_000
      })
      if (call.status !== 0 || JSON.parse(call.stdout).objects?.length !== 1) {
        throw new Error(`call: exit ${call.status}, ${call.stderr}`)
      }
    } finally {
      server.kill("SIGTERM")
    }
  })
  run("cli (alone): kaltura-apptoken demo", cliBin, ["demo"], { cwd: cliProject })
}

finish(work)
