/**
 * The one way a session is assembled, for `AppTokenSession` and for each key of `AppTokenSessions`: the policy
 * resolved once from the options, the acquisition on the given services, and the driver around the machine.
 *
 * Internal to the package: not part of its public API.
 */
import type * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Options } from "../AppTokenSession.js"
import type * as KalturaApi from "../KalturaApi.js"
import type { KalturaSettings } from "../KalturaConfig.js"
import type * as TokenHasher from "../TokenHasher.js"
import type * as WidgetSession from "../WidgetSession.js"
import * as Acquire from "./acquire.js"
import * as Driver from "./sessionDriver.js"
import * as Machine from "./sessionMachine.js"

/** Builds one session; its acquisitions and timer run in `scope`, closing which closes the session. */
export const make = (deps: {
  readonly settings: KalturaSettings
  readonly api: KalturaApi.Service
  readonly hasher: TokenHasher.Service
  readonly widgetSession: WidgetSession.Service
  readonly options: Options | undefined
  readonly scope: Scope.Scope
  /** Run once an evicted session has nothing left to do. */
  readonly release: Effect.Effect<void>
  /** Labels of the session's metrics. Default: `partner_id` and `app_token_id`. */
  readonly metricLabels?: ReadonlyArray<MetricLabel.MetricLabel> | undefined
}): Effect.Effect<Driver.Driver> => {
  const { options, settings } = deps
  const policy = Machine.policyOf(
    { partnerId: settings.partnerId, appTokenId: settings.appTokenId, expiry: Option.getOrUndefined(settings.expiry) },
    options
  )
  return Driver.make({
    policy,
    acquire: Acquire.make({
      api: deps.api,
      hasher: deps.hasher,
      widgetSession: deps.widgetSession,
      settings,
      widgetExpiry: policy.widgetExpiry
    }),
    scope: deps.scope,
    release: deps.release,
    metricLabels: deps.metricLabels ?? [
      MetricLabel.make("partner_id", String(settings.partnerId)),
      MetricLabel.make("app_token_id", settings.appTokenId)
    ]
  })
}
