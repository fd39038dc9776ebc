import * as effectEslint from "@effect/eslint-plugin"
import js from "@eslint/js"
import tseslint from "typescript-eslint"

export default tseslint.config(
  {
    ignores: ["**/dist/**", "**/build/**", "**/node_modules/**", "**/test-results/**", "**/*.md"]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...effectEslint.configs.dprint,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module"
    },
    rules: {
      "no-fallthrough": "off",
      "require-yield": "off",
      "object-shorthand": "error",
      "@typescript-eslint/array-type": ["warn", { default: "generic", readonly: "generic" }],
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-empty-object-type": "off",
      "@typescript-eslint/no-namespace": "off",
      "@typescript-eslint/consistent-type-imports": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@effect/dprint": [
        "error",
        {
          config: {
            indentWidth: 2,
            lineWidth: 120,
            semiColons: "asi",
            quoteStyle: "alwaysDouble",
            trailingCommas: "never",
            operatorPosition: "maintain",
            "arrowFunction.useParentheses": "force"
          }
        }
      ]
    }
  },
  {
    files: ["packages/*/src/**/*.ts"],
    rules: { "no-console": "error" }
  },
  {
    // the published packages: ./internal/* of another package resolves only inside the workspace (CONTRIBUTING.md)
    files: ["packages/{core,node,testing,redis,cli}/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        patterns: [{
          group: ["@kaltura-effect/*/internal/*"],
          message: "a package's internal path exists only in the workspace: published code cannot import it."
        }]
      }]
    }
  },
  {
    files: ["packages/core/src/**/*.ts"],
    rules: {
      "@effect/no-import-from-barrel-package": ["error", { packageNames: ["effect", "@effect/platform"] }],
      "no-restricted-imports": ["error", {
        patterns: [
          { group: ["node:*"], message: "@kaltura-effect/core is platform-agnostic: no node: imports." },
          { group: ["@effect/platform-node*"], message: "@kaltura-effect/core must not depend on platform-node." }
        ]
      }]
    }
  },
  {
    files: ["**/*.mjs", "**/*.cjs", "scripts/**"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } }
  }
)
