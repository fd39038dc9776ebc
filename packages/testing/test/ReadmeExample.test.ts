import { assert, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

// The README's example is the test in ./readme/example.test.ts, which vitest runs; this keeps the two identical.
it("the README's example is the tested one", () => {
  const readme = fs.readFileSync(path.join(import.meta.dirname, "..", "README.md"), "utf8")
  const example = fs.readFileSync(path.join(import.meta.dirname, "readme", "example.test.ts"), "utf8")
  const block = /<!-- example:start -->\n```ts\n([\s\S]*?)```\n<!-- example:end -->/.exec(readme)
  assert.isNotNull(block, "README.md has no example block between <!-- example:start --> and <!-- example:end -->")
  assert.strictEqual(block![1], example)
})
