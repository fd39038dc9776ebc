import { mergeConfig, type ViteUserConfig } from "vitest/config"
import shared from "../../vitest.shared.js"

// The suite runs on live time against real loopback HTTP: generous per-test bounds, so a loaded CI machine
// slows it down instead of failing it. Each test still bounds its own waits.
const config: ViteUserConfig = {
  test: {
    testTimeout: 240_000,
    hookTimeout: 60_000
  }
}

export default mergeConfig(shared, config)
