import { defineConfig } from "vitest/config"

// the consumer's own tests only (not tsc's copies in out/)
export default defineConfig({ test: { include: ["test/**/*.test.ts"] } })
