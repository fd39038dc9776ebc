/**
 * The one way a session is assembled, for `AppTokenSession` and for each key of `AppTokenSessions`: the policy
 * resolved once from the options, the acquisition on the given services, and the driver around the machine.
 *
 * Internal to the package: not part of its public API.
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as MetricLabel from "effect/MetricLabel"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type { Options } from "../AppTokenSession.js"
import type * as KalturaApi from "../KalturaApi.js"
import type { KalturaSettings } from "../KalturaConfig.js"
import * as SessionStore from "../SessionStore.js"
import type * as TokenHasher from "../TokenHasher.js"
import type * as WidgetSession from "../WidgetSession.js"
import * as Acquire from "./acquire.js"
import type * as Scheduler from "./scheduler.js"
import * as Driver from "./sessionDriver.js"
import * as Machine from "./sessionMachine.js"

/**
 * Builds one session: its acquisitions run in `scope`, its timer is one of `scheduler`'s. Its owner ends it with the
 * driver's `close` (a single session when its layer's scope closes, `AppTokenSessions` for each key it holds).
 */
export const make = (deps: {
  readonly settings: KalturaSettings
  readonly api: KalturaApi.Service
  readonly hasher: TokenHasher.Service
  readonly widgetSession: WidgetSession.Service
  readonly options: Options | undefined
  readonly scope: Scope.Scope
  readonly scheduler: Scheduler.Scheduler
  /** The shared session store; `SessionStore.none` for none. */
  readonly store: SessionStore.Service
  /** Run once an evicted session has nothing left to do. */
  readonly onRelease?: Effect.Effect<void> | undefined
  /** Labels of the session's metrics. Default: `partner_id` and `app_token_id`. */
  readonly metricLabels?: ReadonlyArray<MetricLabel.MetricLabel> | undefined
}): Effect.Effect<Driver.Driver> => {
  const { options, settings } = deps
  const store = deps.store === SessionStore.none ? undefined : deps.store
  const policy = Machine.policyOf(
    {
      partnerId: settings.partnerId,
      appTokenId: settings.appTokenId,
      widgetId: settings.widgetId,
      expiry: Option.getOrUndefined(settings.expiry)
    },
    options,
    store !== undefined
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
    scheduler: deps.scheduler,
    onRelease: deps.onRelease,
    store: store === undefined ? undefined : {
      read: store.read(settings),
      write: (session) => store.write(settings, session),
      deleteIfSame: (ks) => store.deleteIfSame(settings, ks),
      lease: (ttlMillis) => store.lease(settings, Duration.millis(ttlMillis))
    },
    metricLabels: deps.metricLabels ?? [
      MetricLabel.make("partner_id", String(settings.partnerId)),
      MetricLabel.make("app_token_id", settings.appTokenId)
    ]
  })
}
