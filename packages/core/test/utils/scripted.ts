/**
 * A session driven by a scripted acquisition instead of a transport, for lifecycle tests under `TestClock`.
 */
import { Duration, Effect, MetricLabel, Option, Redacted, TestClock } from "effect"
import type * as AppTokenSession from "../../src/AppTokenSession.js"
import type { Acquire } from "../../src/internal/acquire.js"
import * as Scheduler from "../../src/internal/scheduler.js"
import * as Driver from "../../src/internal/sessionDriver.js"
import * as Machine from "../../src/internal/sessionMachine.js"
import * as KalturaConfig from "../../src/KalturaConfig.js"
import type * as SessionStore from "../../src/SessionStore.js"

export const partnerId = 12345
export const appTokenId = "0_abcd1234"

/** The settings the scripted sessions stand for (the store needs them: they name and encrypt its entries). */
export const settings = Effect.runSync(
  KalturaConfig.make({ partnerId, appTokenId, token: Redacted.make("a1b2c3d4e5f60718293a4b5c6d7e8f90") })
)

/** A session (and its eviction handle) around `acquire`, in the current scope, closed with it. */
export const makeDriver = (
  acquire: Acquire,
  options?: AppTokenSession.Options,
  extra?: { readonly expiry?: number | undefined; readonly store?: SessionStore.Service | undefined }
) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const store = extra?.store
    const driver = yield* Driver.make({
      policy: Machine.policyOf({ partnerId, appTokenId, expiry: extra?.expiry }, options, store !== undefined),
      acquire,
      scope,
      scheduler: yield* Scheduler.make(scope),
      metricLabels: [MetricLabel.make("test", "scripted")],
      store: store === undefined ? undefined : {
        read: store.read(settings),
        write: (session) => store.write(settings, session),
        deleteIfSame: (ks) => store.deleteIfSame(settings, ks),
        lease: (ttl) => store.lease(settings, Duration.millis(ttl))
      }
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
