// The example program exported through @effect/opentelemetry to in-memory exporters: the span trees of a cold start,
// a call and a background refresh, their attributes, the metrics and their labels, and no secret anywhere.
// Live time against the fake's loopback HTTP; sessions of 4 s refreshed half-way, so the test takes about 2 s.
import { assert, describe, it } from "@effect/vitest"
import { FakeKaltura } from "@kaltura-effect/testing"
import type { ResourceMetrics } from "@opentelemetry/sdk-metrics"
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  PeriodicExportingMetricReader
} from "@opentelemetry/sdk-metrics"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Logger, LogLevel } from "effect"
import { OtelExample } from "../src/index.js"

/** A span tree as names: `KalturaApi.call` spans show their service and action. */
interface Tree {
  readonly span: string
  readonly children: ReadonlyArray<Tree>
}

const label = (span: ReadableSpan): string => {
  const service = span.attributes["kaltura.service"]
  return service === undefined ? span.name : `${span.name} ${service}.${span.attributes["kaltura.action"]}`
}

const byStart = (a: ReadableSpan, b: ReadableSpan) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]

const trees = (spans: ReadonlyArray<ReadableSpan>): Array<Tree> => {
  const children = (parent: ReadableSpan | undefined): Array<Tree> =>
    spans
      .filter((span) =>
        parent === undefined
          ? span.parentSpanContext === undefined
          : span.parentSpanContext?.spanId === parent.spanContext().spanId
      )
      .sort(byStart)
      .map((span) => ({ span: label(span), children: children(span) }))
  return children(undefined)
}

const http = { span: "http.client POST", children: [] }
const apiCall = (serviceAction: string): Tree => ({ span: `KalturaApi.call ${serviceAction}`, children: [http] })
const clientCall: Tree = { span: "KalturaClient.call baseEntry.list", children: [apiCall("baseEntry.list")] }
const startSession: Tree = { span: "AppTokenSession.startSession", children: [apiCall("appToken.startSession")] }

/** The metric of that name in an export, or undefined. */
const metric = (exported: ResourceMetrics, name: string) =>
  exported.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name)

/** The `ks` and `tokenHash` values anywhere in a request's parameters or a response body. */
const secretsIn = (value: unknown, found: Set<string>): void => {
  if (Array.isArray(value)) value.forEach((item) => secretsIn(item, found))
  else if (typeof value === "object" && value !== null) {
    for (const [key, inner] of Object.entries(value)) {
      if ((key === "ks" || key === "tokenHash") && typeof inner === "string" && inner !== "") found.add(inner)
      else secretsIn(inner, found)
    }
  }
}

describe("kaltura-effect with OpenTelemetry", () => {
  it.live("span trees, attributes and metrics of a cold start, a call and a background refresh; no secret", () =>
    Effect.gen(function*() {
      const spanExporter = new InMemorySpanExporter()
      const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
      const metricReader = new PeriodicExportingMetricReader({
        exporter: metricExporter,
        exportIntervalMillis: 3_600_000
      })
      const exportMetrics = Effect.promise(async () => {
        await metricReader.forceFlush()
        const exports = metricExporter.getMetrics()
        return exports[exports.length - 1]!
      })

      const run = Effect.gen(function*() {
        const fake = yield* FakeKaltura.FakeKaltura
        const { outcome, token, whileOpen: live } = yield* OtelExample.runAgainstFake({
          sessionDuration: 4,
          whileOpen: exportMetrics
        })
        // the Kaltura layer is closed; the telemetry layer (which clears the span exporter on shutdown) is not
        const closed = yield* exportMetrics
        return { outcome, token, live, closed, spans: spanExporter.getFinishedSpans(), log: yield* fake.requests }
      })
      const { closed, live, log, outcome, spans, token } = yield* run.pipe(
        Effect.provide(OtelExample.layerTelemetry({
          serviceName: "otel-example-test",
          spanProcessor: new SimpleSpanProcessor(spanExporter),
          metricReader
        })),
        // the fake is built first, outside the telemetry layer: its own HTTP server spans are not exported
        Effect.provide(FakeKaltura.layer({ liveClock: true })),
        // debug logs become span events (the tracer logger), so the event scan below has something to scan
        Logger.withMinimumLogLevel(LogLevel.Debug),
        Effect.provide(Logger.remove(Logger.defaultLogger))
      )

      assert.deepStrictEqual(outcome, { totals: [3, 3], generations: [1, 2] })

      // --- span trees: the caller's trace, then one root span per acquisition
      assert.deepStrictEqual(trees(spans), [
        { span: "OtelExample.program", children: [clientCall, clientCall] },
        {
          span: "AppTokenSession.refresh",
          children: [
            { span: "WidgetSession.start", children: [apiCall("session.startWidgetSession")] },
            startSession
          ]
        },
        { span: "AppTokenSession.refresh", children: [startSession] }
      ])
      assert.strictEqual(new Set(spans.map((span) => span.spanContext().traceId)).size, 3)
      for (const span of spans) {
        assert.notStrictEqual(span.status.code, 2, `${span.name} failed: ${span.status.message}`)
        assert.strictEqual(span.resource.attributes["service.name"], "otel-example-test")
      }

      // --- attributes
      const kaltura = (span: ReadableSpan) =>
        Object.fromEntries(Object.entries(span.attributes).filter(([key]) => key.startsWith("kaltura.")))
      const tokenAttributes = { "kaltura.partner_id": 12345, "kaltura.app_token_id": token.id }
      for (const span of spans) {
        switch (span.name) {
          case "AppTokenSession.refresh":
          case "AppTokenSession.startSession":
            assert.deepStrictEqual(kaltura(span), tokenAttributes, span.name)
            break
          case "WidgetSession.start":
            assert.deepStrictEqual(kaltura(span), { "kaltura.partner_id": 12345, "kaltura.widget_id": "_12345" })
            break
          case "KalturaClient.call":
            assert.deepStrictEqual(kaltura(span), { "kaltura.service": "baseEntry", "kaltura.action": "list" })
            break
          case "KalturaApi.call":
            assert.hasAllKeys(kaltura(span), ["kaltura.service", "kaltura.action"])
            break
          default:
            assert.deepStrictEqual(kaltura(span), {}, span.name)
        }
      }

      // --- metrics, labelled by partner and token, while the session is open and once it is closed
      const labels = { partner_id: "12345", app_token_id: token.id }
      const point = (exported: ResourceMetrics, name: string, type: DataPointType) => {
        const found = metric(exported, name)
        assert.isDefined(found, name)
        assert.strictEqual(found!.dataPointType, type, name)
        assert.strictEqual(found!.dataPoints.length, 1, name)
        return found!.dataPoints[0]!
      }
      for (const exported of [live, closed]) {
        const started = point(exported, "kaltura_sessions_started_total", DataPointType.SUM)
        assert.deepStrictEqual([started.attributes, started.value], [labels, 1])
        const refreshed = point(exported, "kaltura_sessions_refreshed_total", DataPointType.SUM)
        assert.deepStrictEqual([refreshed.attributes, refreshed.value], [labels, 1])
        const duration = point(exported, "kaltura_session_refresh_duration", DataPointType.HISTOGRAM)
        assert.deepStrictEqual(duration.attributes, { ...labels, time_unit: "milliseconds" })
        assert.strictEqual((duration.value as { count: number }).count, 2)
        const timeToExpiry = point(exported, "kaltura_session_time_to_expiry_seconds", DataPointType.GAUGE)
        assert.deepStrictEqual(timeToExpiry.attributes, labels)
        assert.isAbove(timeToExpiry.value as number, 0)
        assert.isAtMost(timeToExpiry.value as number, 4)
        assert.isUndefined(metric(exported, "kaltura_sessions_failed_total"), "no attempt failed")
      }
      // 0 Fresh while open; a closed session reads 4 Expired
      const status = (exported: ResourceMetrics) => point(exported, "kaltura_session_status", DataPointType.GAUGE)
      assert.deepStrictEqual([status(live).attributes, status(live).value], [labels, 0])
      assert.strictEqual(status(closed).value, 4)

      // --- no secret: the token, every KS and token hash that crossed the wire, in no span, event or metric label
      const found = new Set<string>([token.token])
      for (const entry of log) {
        secretsIn(entry.params, found)
        if (entry.responseBody !== undefined) secretsIn(JSON.parse(entry.responseBody), found)
      }
      const secrets = Array.from(found)
      // the token, the widget KS, the token hash (one: the refresh reuses the widget KS) and two App Token KSs
      assert.strictEqual(secrets.length, 5, JSON.stringify(log.map((entry) => entry.url)))
      const events = spans.flatMap((span) => span.events)
      assert.isTrue(events.some((event) => event.name === "Kaltura session obtained"), "debug logs are span events")
      const exported = JSON.stringify([
        spans.map((span) => ({
          name: span.name,
          attributes: span.attributes,
          events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
          links: span.links,
          status: span.status,
          resource: span.resource.attributes
        })),
        [live, closed].map((exported) =>
          exported.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => ({
            descriptor: m.descriptor,
            attributes: m.dataPoints.map((dataPoint) => dataPoint.attributes)
          }))
        )
      ])
      assert.isTrue(exported.includes(`"kaltura.app_token_id":"${token.id}"`), "the scan covers span attributes")
      for (const secret of secrets) {
        assert.isFalse(exported.includes(secret), `a secret (${secret.length} characters) was exported`)
      }
    }))
})
