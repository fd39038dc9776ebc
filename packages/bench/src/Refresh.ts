/**
 * `refresh`: real proactive refreshes against the fake Kaltura server over loopback HTTP. The token's
 * sessions live 3 s (2 s after the `Date` header's one-second rounding), the refresh point is 30% of the
 * lifetime and every `startSession` takes 50 ms more at the fake (a realistic upstream latency), so a
 * refresh starts about every 0.65 s and is in flight for about 50 ms.
 *
 * Meanwhile, 16 callers each read `ks` once per millisecond and record how long the read took. Reads that
 * start while a refresh is in flight (status `Refreshing` until `Fresh`) are "during"; the others "outside".
 * The fake counts the upstream calls the refreshes made.
 *
 * @since 0.1.0
 */
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as NodeAppToken from "@kaltura-effect/node/NodeAppToken"
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import * as FakeKalturaFault from "@kaltura-effect/testing/FakeKalturaFault"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { type Benchmark, minMax, quantile, type Row } from "./Harness.js"

interface Window {
  readonly start: number
  readonly end: number
}

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "refresh",
  description: "upstream calls per proactive refresh, and caller latency during a refresh against outside one",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const refreshes = quick ? 1 : 6
      const callers = 16
      const upstreamDelay = 50
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3 })
      yield* fake.injectFault("appToken.startSession", FakeKalturaFault.delay(`${upstreamDelay} millis`), {
        times: 1_000
      })
      const layer = NodeAppToken.layer({
        serviceUrl: fake.url,
        partnerId: fake.partnerId,
        appTokenId: token.id,
        token: Redacted.make(token.token),
        hashType: "SHA256"
      }, { session: { refreshWindow: { min: 0.3, max: 0.3 }, minRefreshInterval: "100 millis" } })
      const session = Context.get(yield* Layer.build(layer), AppTokenSession.AppTokenSession)

      // When each refresh was in flight
      const windows: Array<Window> = []
      let openedAt: number | undefined
      yield* session.statusChanges.pipe(
        Stream.runForEach((status) =>
          Effect.sync(() => {
            const at = performance.now()
            if (status === "Refreshing") {
              openedAt = at
            } else if (status === "Fresh" && openedAt !== undefined) {
              windows.push({ start: openedAt, end: at })
              openedAt = undefined
            }
          })
        ),
        Effect.forkScoped
      )

      const first = yield* session.get // the cold start: not a refresh
      const widgetBefore = yield* fake.callCount("session.startWidgetSession")
      const startBefore = yield* fake.callCount("appToken.startSession")

      const starts: Array<number> = []
      const durations: Array<number> = []
      let stop = false
      const caller = Effect.gen(function*() {
        while (!stop) {
          const start = performance.now()
          yield* session.ks
          const end = performance.now()
          starts.push(start)
          durations.push((end - start) * 1000)
          yield* Effect.sleep("1 millis")
        }
      })
      yield* Effect.forEach(Array.from({ length: callers }), () => caller, {
        concurrency: "unbounded",
        discard: true
      }).pipe(Effect.forkScoped)

      // Bounded: each refresh comes about 0.65 s after the previous one.
      const deadline = performance.now() + 5_000 + refreshes * 2_000
      while ((yield* session.get).generation < first.generation + refreshes && performance.now() < deadline) {
        yield* Effect.sleep("20 millis")
      }
      const generations = (yield* session.get).generation - first.generation
      const widgetCalls = (yield* fake.callCount("session.startWidgetSession")) - widgetBefore
      const startCalls = (yield* fake.callCount("appToken.startSession")) - startBefore
      stop = true
      const closed = windows.slice(0, generations)

      const during: Array<number> = []
      const outside: Array<number> = []
      const perWindow: Array<Array<number>> = closed.map(() => [])
      const lastEnd = closed.length > 0 ? closed[closed.length - 1]!.end : Number.POSITIVE_INFINITY
      for (let i = 0; i < starts.length; i++) {
        const start = starts[i]!
        if (start > lastEnd) continue
        const index = closed.findIndex((window) => start >= window.start && start <= window.end)
        if (index >= 0) {
          during.push(durations[i]!)
          perWindow[index]!.push(durations[i]!)
        } else {
          outside.push(durations[i]!)
        }
      }
      const perRefresh = generations > 0 ? (widgetCalls + startCalls) / generations : Number.NaN
      const latencyRow = (q: number, label: string): Row => {
        const value = quantile(during, q)
        const baseline = quantile(outside, q)
        const ratio = value / baseline
        return {
          name: `refresh.caller_${label}`,
          value,
          unit: "µs",
          baseline,
          baselineLabel: `${label} µs outside a refresh`,
          ratio,
          target: "ratio < 1.5",
          pass: ratio < 1.5,
          spread: minMax(perWindow.filter((xs) => xs.length > 0).map((xs) => quantile(xs, q))),
          runs: generations,
          note: `${during.length} reads during ${generations} refreshes (in flight ${
            (closed.reduce((sum, window) => sum + window.end - window.start, 0) / Math.max(1, closed.length)).toFixed(0)
          } ms each on average), ${outside.length} outside; spread: the ${label} of each refresh window`
        }
      }
      const rows: Array<Row> = [
        {
          name: "refresh.upstream_calls",
          value: perRefresh,
          unit: "calls/refresh",
          target: "1 (the widget KS is reused)",
          pass: perRefresh === 1,
          runs: generations,
          note: `${generations} proactive refreshes made ${widgetCalls} widget and ${startCalls} startSession calls`
        },
        latencyRow(0.5, "p50"),
        latencyRow(0.99, "p99")
      ]
      return rows
    }))
}
