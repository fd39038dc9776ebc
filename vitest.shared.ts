import type { ViteUserConfig } from "vitest/config"

/**
 * Shared by every package's `vitest.config.ts`: the workspace packages are resolved from
 * their TypeScript sources through the `source` export condition, so tests need no build.
 */
const config: ViteUserConfig = {
  resolve: {
    conditions: ["source"]
  },
  ssr: {
    resolve: {
      conditions: ["source"],
      externalConditions: ["source"]
    }
  },
  test: {
    include: ["test/**/*.test.ts"],
    fakeTimers: { toFake: undefined },
    testTimeout: 30_000,
    hookTimeout: 30_000
  }
}

export default config
