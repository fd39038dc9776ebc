/**
 * kaltura-effect's spans and metrics exported with OpenTelemetry: the telemetry layer a user adds
 * (`NodeSdk.layer` from `@effect/opentelemetry`, the Effect 3 line), and a small program against the fake Kaltura
 * server that makes a cold start, a call and, half-way through the session, a background refresh.
 *
 * @since 0.1.0
 */
import * as NodeSdk from "@effect/opentelemetry/NodeSdk"
import type * as Resource from "@effect/opentelemetry/Resource"
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as KalturaClient from "@kaltura-effect/core/KalturaClient"
import type * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as NodeAppToken from "@kaltura-effect/node/NodeAppToken"
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import type { MetricReader } from "@opentelemetry/sdk-metrics"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

/**
 * Where the telemetry goes.
 *
 * @since 0.1.0
 * @category Models
 */
export interface TelemetryOptions {
  /** The `service.name` resource attribute. Default `kaltura-otel-example`. */
  readonly serviceName?: string | undefined
  /** E.g. `new BatchSpanProcessor(new OTLPTraceExporter())`; the test uses an in-memory exporter. */
  readonly spanProcessor: SpanProcessor
  /** E.g. `new PeriodicExportingMetricReader({ exporter })`; Effect's metrics are read from its registry. */
  readonly metricReader: MetricReader
}

/**
 * The lines a user adds: OpenTelemetry's Node SDK as an Effect layer. Provide it outside the Kaltura layer (or
 * `AppTokenLive`), so the session's background fibers run with its tracer.
 *
 * @example
 * ```ts
 * import { OtelExample } from "@kaltura-effect/otel-example"
 * import { AppTokenLive } from "@kaltura-effect/node"
 * import { ConsoleMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
 * import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
 * import { Effect } from "effect"
 *
 * const TelemetryLive = OtelExample.layerTelemetry({
 *   serviceName: "my-service",
 *   spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter()),
 *   metricReader: new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter() })
 * })
 * const main = OtelExample.program.pipe(Effect.provide(AppTokenLive), Effect.provide(TelemetryLive))
 * ```
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerTelemetry = (options: TelemetryOptions): Layer.Layer<Resource.Resource> =>
  NodeSdk.layer(() => ({
    resource: { serviceName: options.serviceName ?? "kaltura-otel-example" },
    spanProcessor: options.spanProcessor,
    metricReader: options.metricReader
  }))

/**
 * The Kaltura stack (`NodeAppToken.layer`, the same stack as `AppTokenLive`) tuned for a short demo: each session is
 * refreshed in the background half-way through its lifetime.
 *
 * @since 0.1.0
 * @category Layers
 */
export const layerKaltura = (
  options: KalturaConfig.Options
): Layer.Layer<NodeAppToken.Services, KalturaConfig.KalturaConfigError> =>
  NodeAppToken.layer(options, {
    session: { refreshWindow: { min: 0.5, max: 0.5 }, minRefreshInterval: "100 millis" }
  })

const EntryList = Schema.Struct({
  totalCount: Schema.Number,
  objects: Schema.Array(Schema.Struct({ id: Schema.String }))
})

/**
 * What {@link program} saw.
 *
 * @since 0.1.0
 * @category Models
 */
export interface Outcome {
  /** Entries listed by each call. */
  readonly totals: readonly [number, number]
  /** The session generation of the cold start and of the background refresh. */
  readonly generations: readonly [number, number]
}

/**
 * A cold start (the first call waits for the first session), a call, the background refresh, and a second call
 * served with the refreshed KS. The whole program is one span, `OtelExample.program`.
 *
 * @since 0.1.0
 * @category Programs
 */
export const program = Effect.gen(function*() {
  const client = yield* KalturaClient.KalturaClient
  const session = yield* AppTokenSession.AppTokenSession
  const first = yield* client.call("baseEntry", "list", { pager: { pageSize: 2 } }, EntryList)
  const cold = yield* session.get
  const refreshed = yield* session.rotations.pipe(
    Stream.filter((rotated) => rotated.generation > cold.generation),
    Stream.runHead,
    Effect.flatten,
    Effect.timeout("30 seconds")
  )
  const second = yield* client.call("baseEntry", "list", { pager: { pageSize: 2 } }, EntryList)
  return { totals: [first.totalCount, second.totalCount], generations: [cold.generation, refreshed.generation] }
}).pipe(Effect.withSpan("OtelExample.program"))

/**
 * Runs {@link program} against the fake Kaltura server in context, with a freshly seeded App Token whose sessions
 * last `sessionDuration` seconds (default 4). Returns the outcome, the token (for the test's secret scan) and what
 * `whileOpen` returned.
 *
 * @since 0.1.0
 * @category Programs
 */
export const runAgainstFake = <A = void>(options?: {
  readonly sessionDuration?: number | undefined
  /** Run after the program, while the session is still open (e.g. to export the metrics of a live session). */
  readonly whileOpen?: Effect.Effect<A> | undefined
}) =>
  Effect.gen(function*() {
    const fake = yield* FakeKaltura.FakeKaltura
    const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: options?.sessionDuration ?? 4 })
    const [outcome, whileOpen] = yield* program.pipe(
      Effect.zip(options?.whileOpen ?? Effect.void),
      Effect.provide(layerKaltura({
        serviceUrl: fake.url,
        partnerId: fake.partnerId,
        appTokenId: token.id,
        token: Redacted.make(token.token),
        hashType: "SHA256"
      }))
    )
    return { outcome, token, whileOpen: whileOpen as A }
  })
