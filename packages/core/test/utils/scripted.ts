/**
 * A session driven by a scripted acquisition instead of a transport, for lifecycle tests under `TestClock`.
 */
import { Effect, MetricLabel, Option } from "effect"
import type * as AppTokenSession from "../../src/AppTokenSession.js"
import type { Acquire } from "../../src/internal/acquire.js"
import * as Driver from "../../src/internal/sessionDriver.js"
import * as Machine from "../../src/internal/sessionMachine.js"

export const partnerId = 12345
export const appTokenId = "0_abcd1234"

/** A session (and its eviction handle) around `acquire`, in the current scope. */
export const makeDriver = (
  acquire: Acquire,
  options?: AppTokenSession.Options,
  settings?: { readonly expiry?: number | undefined }
) =>
  Effect.flatMap(Effect.scope, (scope) =>
    Driver.make({
      policy: Machine.policyOf({ partnerId, appTokenId, expiry: settings?.expiry }, options),
      acquire,
      scope,
      release: Effect.void,
      metricLabels: [MetricLabel.make("test", "scripted")]
    }))

/** `Option.none()`, typed for a `Response`'s `serverDate`. */
export const noDate = Option.none<number>()
