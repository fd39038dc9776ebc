/**
 * A session driven by a scripted acquisition instead of a transport, for lifecycle tests under `TestClock`.
 */
import type { Duration } from "effect"
import { Effect, MetricLabel, Option, TestClock } from "effect"
import type * as AppTokenSession from "../../src/AppTokenSession.js"
import type { Acquire } from "../../src/internal/acquire.js"
import * as Scheduler from "../../src/internal/scheduler.js"
import * as Driver from "../../src/internal/sessionDriver.js"
import * as Machine from "../../src/internal/sessionMachine.js"

export const partnerId = 12345
export const appTokenId = "0_abcd1234"

/** A session (and its eviction handle) around `acquire`, in the current scope, closed with it. */
export const makeDriver = (
  acquire: Acquire,
  options?: AppTokenSession.Options,
  settings?: { readonly expiry?: number | undefined }
) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const driver = yield* Driver.make({
      policy: Machine.policyOf({ partnerId, appTokenId, expiry: settings?.expiry }, options),
      acquire,
      scope,
      scheduler: yield* Scheduler.make(scope),
      metricLabels: [MetricLabel.make("test", "scripted")]
    })
    yield* Effect.addFinalizer(() => driver.close)
    return driver
  })

/** `Option.none()`, typed for a `Response`'s `serverDate`. */
export const noDate = Option.none<number>()

const yieldMany = Effect.forEach(Array.from({ length: 50 }), () => Effect.yieldNow(), { discard: true })
const macrotask = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 0)))

/**
 * Lets the session's own fibers (its timer, its acquisitions), which `TestClock.adjust` does not wait for, run to
 * their next sleep: a few rounds of a macrotask and many yields, so that a loaded machine cannot reorder them.
 */
export const settle = Effect.forEach(Array.from({ length: 4 }), () => Effect.zipRight(macrotask, yieldMany), {
  discard: true
})

/** `TestClock.adjust`, then {@link settle}. */
export const advance = (duration: Duration.DurationInput) => Effect.zipRight(TestClock.adjust(duration), settle)
