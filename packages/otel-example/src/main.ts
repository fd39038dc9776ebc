/**
 * Runs the example against a local fake Kaltura server and prints the spans and metrics with OpenTelemetry's console
 * exporters: `pnpm build && pnpm --filter @kaltura-effect/otel-example start`.
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import { ConsoleMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { ConsoleSpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import * as Effect from "effect/Effect"
import * as OtelExample from "./OtelExample.js"

const TelemetryLive = OtelExample.layerTelemetry({
  spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter()),
  // the metrics are printed once, when the layer closes
  metricReader: new PeriodicExportingMetricReader({
    exporter: new ConsoleMetricExporter(),
    exportIntervalMillis: 60_000
  })
})

OtelExample.runAgainstFake().pipe(
  Effect.tap(({ outcome }) => Effect.logInfo("done", outcome)),
  Effect.provide(TelemetryLive),
  Effect.provide(FakeKaltura.layer({ liveClock: true })),
  NodeRuntime.runMain
)
