/**
 * Metrics of the session lifecycle and its store, prefixed `kaltura_`. The lifecycle's are tagged with
 * `partner_id` and `app_token_id` by the session that updates them; none is updated on the cache-hit path.
 *
 * @since 0.1.0
 */
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"

/**
 * Sessions obtained when none was held (a cold start, or after expiry).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const sessionsStarted = Metric.counter("kaltura_sessions_started_total", {
  description: "App Token sessions obtained when none was held",
  incremental: true
})

/**
 * Sessions obtained to replace one still held (proactive or forced refreshes).
 *
 * @since 0.1.0
 * @category Metrics
 */
export const sessionsRefreshed = Metric.counter("kaltura_sessions_refreshed_total", {
  description: "App Token sessions obtained to replace a held one",
  incremental: true
})

/**
 * Attempts to obtain a session that failed, tagged with `error` (the error tag) and `code`.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const sessionsFailed = Metric.counter("kaltura_sessions_failed_total", {
  description: "Failed attempts to obtain an App Token session",
  incremental: true
})

/**
 * How long one attempt to obtain a session took, in milliseconds.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const refreshDuration = Metric.timerWithBoundaries(
  "kaltura_session_refresh_duration",
  MetricBoundaries.exponential({ start: 5, factor: 2, count: 14 }).values,
  "Time to obtain an App Token session, in milliseconds"
)

/**
 * Seconds until the held session's local deadline, set whenever a session is obtained.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const timeToExpiry = Metric.gauge("kaltura_session_time_to_expiry_seconds", {
  description: "Seconds until the held session expires, when it was obtained"
})

/**
 * The session status as a number: 0 Fresh, 1 Refreshing, 2 Degraded, 3 Failed, 4 Expired.
 *
 * @since 0.1.0
 * @category Metrics
 */
export const status = Metric.gauge("kaltura_session_status", {
  description: "Session status: 0 Fresh, 1 Refreshing, 2 Degraded, 3 Failed, 4 Expired"
})

/**
 * Session store operations that failed and were degraded (a miss, `false`, or a lease granted without a store):
 * timeouts, a store that is down or unwritable, entries that are corrupt or fail authentication. Tagged with
 * `store` (`memory`, `file`, `redis`, …) and `operation` (`read`, `write`, `delete`, `lease`, `release`, `clear`,
 * `open`: a directory that cannot be used, a Redis not reachable when the layer is built). A caller never sees these
 * errors.
 *
 * @since 0.2.0
 * @category Metrics
 */
export const sessionStoreErrors = Metric.counter("kaltura_session_store_errors_total", {
  description: "Session store operations that failed and were degraded to a miss",
  incremental: true
})
