/**
 * Shared by the file store tests and their child-process worker: settings, stored sessions, the errors metric,
 * a log capture, and the secrets that must never be found at rest.
 */
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as KalturaMetrics from "@kaltura-effect/core/KalturaMetrics"
import type * as SessionStore from "@kaltura-effect/core/SessionStore"
import { Effect, Logger, LogLevel, Metric, Redacted } from "effect"
import * as Crypto from "node:crypto"

export const token = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
export const userId = "file-store-user@example.com"
export const privileges = "disableentitlement,list:secret-privilege"
export const ksOf = (n: number | string) =>
  `djJ8MTIzNDV8${Buffer.from(`a-privileged-ks-for-the-file-store-tests-number-${n}`).toString("base64")}`
export const widgetKs = `djJ8MTIzNDV8${Buffer.from("a-widget-ks-for-the-file-store-tests").toString("base64")}`

export const settingsOf = (options?: Partial<KalturaConfig.Options>): KalturaConfig.KalturaSettings =>
  Effect.runSync(KalturaConfig.make({
    serviceUrl: "https://kaltura.test",
    partnerId: 12345,
    appTokenId: "0_ab12cd34",
    token: Redacted.make(token),
    userId,
    sessionType: "ADMIN",
    sessionPrivileges: privileges,
    ...options
  }))

/** A session stored at `now` (ms) that lives `lifetime` seconds. */
export const sessionOf = (
  now: number,
  overrides?: Partial<SessionStore.StoredSession> & { readonly lifetime?: number }
): SessionStore.StoredSession => ({
  ks: Redacted.make(ksOf(0)),
  partnerId: 12345,
  userId,
  sessionType: 2,
  privileges,
  expiry: Math.floor(now / 1000) + (overrides?.lifetime ?? 3600),
  clockOffset: 0,
  obtainedAt: now,
  widget: { ks: Redacted.make(widgetKs), expiry: 86400, obtainedAt: now, validUntil: now + 85_000_000 },
  ...overrides
})

/** Everything secret or identifying that must never appear in clear at rest. */
export const secretsAtRest = (kss: ReadonlyArray<string>): ReadonlyArray<string> => [
  ...kss,
  widgetKs,
  token,
  Crypto.createHash("sha256").update(widgetKs + token).digest("hex"),
  userId,
  "secret-privilege",
  "0_ab12cd34",
  "kaltura.test"
]

export const errorCount = (store: string, operation: string) =>
  Effect.map(
    Metric.value(
      Metric.tagged(Metric.tagged(KalturaMetrics.sessionStoreErrors, "store", store), "operation", operation)
    ),
    (state) => state.count
  )

export interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

export const capturing = (lines: Array<Line>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.provide(Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ annotations, logLevel, message }) => {
        const record: Record<string, unknown> = {}
        for (const [key, value] of annotations) record[key] = value
        lines.push({
          level: logLevel.label,
          message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
          annotations: record
        })
      })
    )),
    Logger.withMinimumLogLevel(LogLevel.All)
  )
