/**
 * Helpers for the session store tests: settings, stored sessions, a log capture, the errors metric, and backends
 * that fail, hang or let a test tamper with what is stored.
 */
import { Effect, Logger, LogLevel, Metric, Option, Redacted } from "effect"
import * as KalturaConfig from "../../src/KalturaConfig.js"
import * as KalturaMetrics from "../../src/KalturaMetrics.js"
import * as SessionStore from "../../src/SessionStore.js"

export const token = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
export const ks = "djJ8MTIzNDV8c3RvcmVkLWtzLWZvci10aGUtc2Vzc2lvbi1zdG9yZS10ZXN0cy1vbmx5LW5vdC1yZWFs"
export const widgetKs = "djJ8MTIzNDV8d2lkZ2V0LWtzLWZvci10aGUtc2Vzc2lvbi1zdG9yZS10ZXN0cy1vbmx5LW5vdC1yZWFs"

export const settingsOf = (options?: Partial<KalturaConfig.Options>): KalturaConfig.KalturaSettings =>
  Effect.runSync(KalturaConfig.make({
    serviceUrl: "https://kaltura.test",
    partnerId: 12345,
    appTokenId: "0_ab12cd34",
    token: Redacted.make(token),
    hashType: "SHA256",
    userId: "store-user@example.com",
    sessionType: "ADMIN",
    sessionPrivileges: "disableentitlement,list:secret-privilege",
    ...options
  }))

/** A session that expires `lifetime` seconds after `now` (ms), as a writer with `clockOffset` stored it. */
export const sessionOf = (
  now: number,
  overrides?: Partial<SessionStore.StoredSession> & { readonly lifetime?: number }
): SessionStore.StoredSession => ({
  ks: Redacted.make(ks),
  partnerId: 12345,
  userId: "store-user@example.com",
  sessionType: 2,
  privileges: "disableentitlement,list:secret-privilege",
  expiry: Math.floor(now / 1000) + (overrides?.lifetime ?? 3600),
  clockOffset: 0,
  obtainedAt: now,
  widget: { ks: Redacted.make(widgetKs), expiry: 86400, obtainedAt: now, validUntil: now + 85_000_000 },
  ...overrides
})

export interface Line {
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** Runs `effect` with every log line (all levels) captured into `lines`. */
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

/** The count of `kaltura_session_store_errors_total{store, operation}`. */
export const errorCount = (store: string, operation: string) =>
  Effect.map(
    Metric.value(
      Metric.tagged(Metric.tagged(KalturaMetrics.sessionStoreErrors, "store", store), "operation", operation)
    ),
    (state) => state.count
  )

/** A memory backend under another name, with its records exposed for tampering. */
export const inspectable = (store: string) =>
  Effect.map(SessionStore.memoryBackend, (inner) => {
    const records = new Map<string, string>()
    const backend: SessionStore.Backend = {
      ...inner,
      store,
      put: (name, entry) => Effect.tap(inner.put(name, entry), (ok) => ok ? records.set(name, entry.record) : void 0),
      replace: (name, entry, expected) =>
        Effect.tap(inner.replace(name, entry, expected), (ok) => ok ? records.set(name, entry.record) : void 0),
      remove: (name, tag) => Effect.tap(inner.remove(name, tag), (ok) => ok ? records.delete(name) : void 0)
    }
    /** Replaces a stored record with `f(record)`, bypassing every check. */
    const tamper = (name: string, f: (record: string) => string) =>
      Effect.gen(function*() {
        const current = Option.getOrThrow(yield* inner.get(name))
        const changed = f(current)
        // force it in: clear, then put with an expiry that wins
        yield* inner.clear("")
        const entry = { record: changed, expiry: Number.MAX_SAFE_INTEGER, tag: "", expiresAt: Number.MAX_SAFE_INTEGER }
        yield* inner.put(name, entry)
        records.set(name, changed)
      })
    return { backend, records, tamper }
  })

/** A backend whose every operation fails with `error` (or dies, or never answers). */
export const broken = (
  store: string,
  mode: "fail" | "die" | "hang",
  error = new SessionStore.SessionStoreError({ reason: "Unavailable", detail: "connection refused" })
): SessionStore.Backend => {
  const op = mode === "fail" ? Effect.fail(error) : mode === "die" ? Effect.die(new Error("boom")) : Effect.never
  return {
    store,
    get: () => op,
    put: () => op,
    replace: () => op,
    remove: () => op,
    acquire: () => op,
    release: () => op,
    clear: () => op
  }
}
