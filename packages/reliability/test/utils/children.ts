/**
 * What the tests that run the library in child processes or count the session store's errors share: a fixture
 * bundled into one runnable file, and the store's error counts by operation.
 */
import { KalturaMetrics } from "@kaltura-effect/core"
import { Effect, Metric } from "effect"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"

const fixtures = Path.join(Path.dirname(fileURLToPath(import.meta.url)), "..", "fixtures")

/**
 * Bundles `test/fixtures/<name>.ts` (the workspace's sources, dependencies included) into the ES module `outfile`,
 * so that a child process runs it with plain `node` from any directory.
 */
export const bundleFixture = (name: string, outfile: string) =>
  Effect.promise(async () => {
    const esbuild = await import("esbuild")
    await esbuild.build({
      entryPoints: [Path.join(fixtures, `${name}.ts`)],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      conditions: ["source"],
      outfile,
      logLevel: "silent",
      banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" }
    })
    return outfile
  })

/** `kaltura_session_store_errors_total` of `store`, by operation. */
export const storeErrors = (store: string) =>
  Effect.map(
    Effect.forEach(
      ["read", "write", "delete", "lease", "release", "clear", "open"],
      (operation) =>
        Effect.map(
          Metric.value(
            Metric.tagged(Metric.tagged(KalturaMetrics.sessionStoreErrors, "store", store), "operation", operation)
          ),
          (state) => [operation, state.count] as const
        )
    ),
    (entries): Record<string, number> => Object.fromEntries(entries)
  )

/** What grew between two readings of {@link storeErrors}, without the operations that did not. */
export const increase = (after: Record<string, number>, before: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0))
