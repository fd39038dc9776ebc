import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession, KalturaClient, KalturaMetrics } from "@kaltura-effect/core"
import { Effect, Logger, LogLevel, Metric, type MetricState, Schema, TestClock, Tracer } from "effect"
import * as FakeTransport from "./utils/FakeTransport.js"
import { adminKs, appTokenId, happyFake, hashVectors, stack, tokenValue, widgetKs } from "./utils/fixtures.js"

interface CapturedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
}

/** A tracer that records every span with its attributes. */
const capturingTracer = (spans: Array<CapturedSpan>) =>
  Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const attributes = new Map<string, unknown>()
      spans.push({ name, attributes })
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId: `span-${spans.length}`,
        traceId: "trace",
        parent,
        context,
        links,
        sampled: true,
        kind,
        status: { _tag: "Started", startTime },
        attributes,
        end: () => {},
        attribute: (key, value) => {
          attributes.set(key, value)
        },
        event: () => {},
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

const counterValue = (metric: Metric.Metric.Counter<number>) =>
  Effect.map(Metric.value(metric), (state: MetricState.MetricState.Counter<number>) => state.count)

describe("observability", () => {
  it.effect("spans for each Kaltura call and each session start, none on a cache hit, no secret in any", () =>
    Effect.gen(function*() {
      const spans: Array<CapturedSpan> = []
      const logs: Array<string> = []
      const logger = Logger.make(({ annotations, message }) => {
        logs.push(JSON.stringify({ message, annotations: Object.fromEntries(annotations) }))
      })
      const fake = happyFake()
      fake.setDefault("baseEntry/list", FakeTransport.json({ totalCount: 0, objects: [] }))
      yield* Effect.gen(function*() {
        const session = yield* AppTokenSession.AppTokenSession
        const client = yield* KalturaClient.KalturaClient
        yield* session.get
        const afterStart = spans.length
        for (let i = 0; i < 100; i++) yield* session.get
        assert.strictEqual(spans.length, afterStart, "a cache hit creates no span")
        yield* client.call("baseEntry", "list", {}, Schema.Struct({ totalCount: Schema.Number }))
      }).pipe(
        Effect.provide(stack(fake)),
        Effect.withTracer(capturingTracer(spans)),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
        Logger.withMinimumLogLevel(LogLevel.All)
      )
      const names = new Set(spans.map((span) => span.name))
      for (
        const expected of [
          "AppTokenSession.refresh",
          "WidgetSession.start",
          "AppTokenSession.startSession",
          "KalturaApi.call",
          "KalturaClient.call"
        ]
      ) assert.isTrue(names.has(expected), `span ${expected}`)
      const refresh = spans.find((span) => span.name === "AppTokenSession.refresh")!
      assert.strictEqual(refresh.attributes.get("kaltura.app_token_id"), appTokenId)
      const secrets = [tokenValue, widgetKs, adminKs, ...Object.values(hashVectors)]
      const everything = [
        ...logs,
        ...spans.map((span) => JSON.stringify([span.name, Array.from(span.attributes)]))
      ].join("\n")
      for (const secret of secrets) assert.notInclude(everything, secret)
      assert.isTrue(logs.some((line) => line.includes("Kaltura session obtained")))
    }))

  it.effect("metrics: sessions started, refreshed and failed, tagged by partner and token", () =>
    Effect.gen(function*() {
      const fake = happyFake()
      const tagged = (metric: Metric.Metric.Counter<number>, ...extra: ReadonlyArray<[string, string]>) =>
        extra.reduce(
          (m, [key, value]) => Metric.tagged(m, key, value),
          metric.pipe(Metric.tagged("partner_id", "12345"), Metric.tagged("app_token_id", appTokenId))
        )
      const started = tagged(KalturaMetrics.sessionsStarted)
      const refreshed = tagged(KalturaMetrics.sessionsRefreshed)
      const failed = tagged(KalturaMetrics.sessionsFailed, ["error", "KalturaApiError"], [
        "code",
        "APP_TOKEN_NOT_ACTIVE"
      ])
      const read = Effect.all({
        started: counterValue(started),
        refreshed: counterValue(refreshed),
        failed: counterValue(failed)
      })
      yield* Effect.gen(function*() {
        const session = yield* AppTokenSession.AppTokenSession
        const before = yield* read
        yield* session.get
        yield* TestClock.adjust("6 seconds")
        yield* session.refresh
        fake.enqueue("apptoken/startSession", FakeTransport.apiError("APP_TOKEN_NOT_ACTIVE", "not active"))
        yield* TestClock.adjust("6 seconds")
        assert.strictEqual((yield* Effect.flip(session.refresh))._tag, "KalturaApiError")
        const after = yield* read
        assert.deepStrictEqual(
          {
            started: after.started - before.started,
            refreshed: after.refreshed - before.refreshed,
            failed: after.failed - before.failed
          },
          { started: 1, refreshed: 1, failed: 1 }
        )
      }).pipe(Effect.provide(stack(fake)))
    }))
})
