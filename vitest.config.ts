import { defineConfig } from "vitest/config"

// Global options for the whole workspace (the projects are listed in vitest.workspace.ts).
// The JSON report is what `.ci/run` counts.
export default defineConfig({
  test: {
    reporters: ["default", "json"],
    outputFile: { json: "test-results/vitest.json" }
  }
})
