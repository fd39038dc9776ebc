// Removes every build output and TypeScript build cache in the workspace.
import * as fs from "node:fs"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..")
for (const name of fs.readdirSync(path.join(root, "packages"))) {
  for (const dir of ["dist", "build", ".tsbuildinfo"]) {
    fs.rmSync(path.join(root, "packages", name, dir), { recursive: true, force: true })
  }
}
fs.rmSync(path.join(root, "test-results"), { recursive: true, force: true })
