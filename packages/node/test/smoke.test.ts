import { assert, it } from "@effect/vitest"
import { Effect } from "effect"
import * as Core from "@kaltura-effect/core"

it.effect("resolves core from source", () => Effect.sync(() => assert.strictEqual(Core.marker, "from-source")))
