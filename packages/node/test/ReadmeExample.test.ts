import { assert, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"

// The README's usage example lives in ./readme-example.ts, where `pnpm check` type-checks it; this test
// keeps the copy in the README identical to it.
it("the README's usage example is the type-checked one", () => {
  const readme = fs.readFileSync(path.join(import.meta.dirname, "..", "..", "..", "README.md"), "utf8")
  const example = fs.readFileSync(path.join(import.meta.dirname, "readme-example.ts"), "utf8")
  const block = /<!-- example:start -->\n```ts\n([\s\S]*?)```\n<!-- example:end -->/.exec(readme)
  assert.isNotNull(block, "README.md has no example block between <!-- example:start --> and <!-- example:end -->")
  assert.strictEqual(block![1], example)
})
