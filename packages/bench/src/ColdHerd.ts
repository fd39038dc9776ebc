/**
 * `cold_herd`: 10,000 concurrent callers on a cold session, against the fake Kaltura server over loopback
 * HTTP, with the whole Node stack (`NodeAppToken.layer`). Counts the widget and `startSession` calls at the
 * fake, and times until every caller has its KS; the baseline is one caller on a cold session, in the same
 * run, interleaved.
 *
 * @since 0.1.0
 */
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as NodeAppToken from "@kaltura-effect/node/NodeAppToken"
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type Benchmark, interleave, median, minMax, pairedRatios, type Row } from "./Harness.js"

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "cold_herd",
  description: "10,000 concurrent callers on a cold session against the fake server over loopback",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const callers = 10_000
      const rounds = quick ? 1 : 7
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })
      const layer = NodeAppToken.layer({
        serviceUrl: fake.url,
        partnerId: fake.partnerId,
        appTokenId: token.id,
        token: Redacted.make(token.token),
        hashType: "SHA256"
      })
      const widgetCalls: Array<number> = []
      const startSessionCalls: Array<number> = []
      const herd = Array.from({ length: callers })
      const warm: Array<number> = []

      // One cold session (a fresh layer: nothing cached), `n` callers at once; the clock starts once the
      // layer is built (building it sends nothing) and stops when the last caller has its KS. Then the same
      // herd again on the now warm session: the cost of 10,000 fibers alone, the baseline.
      const run = (n: number, record: boolean) =>
        Effect.scoped(Effect.gen(function*() {
          const session = Context.get(yield* Layer.build(layer), AppTokenSession.AppTokenSession)
          const widgetBefore = yield* fake.callCount("session.startWidgetSession")
          const startBefore = yield* fake.callCount("appToken.startSession")
          const all = herd.slice(0, n)
          const start = performance.now()
          const results = yield* Effect.forEach(all, () => session.ks, { concurrency: "unbounded" })
          const elapsed = performance.now() - start
          if (results.length !== n) return yield* Effect.dieMessage("not every caller was served")
          if (record) {
            widgetCalls.push((yield* fake.callCount("session.startWidgetSession")) - widgetBefore)
            startSessionCalls.push((yield* fake.callCount("appToken.startSession")) - startBefore)
            const warmStart = performance.now()
            yield* Effect.forEach(all, () => session.ks, { concurrency: "unbounded" })
            warm.push(performance.now() - warmStart)
          }
          return elapsed
        }))

      yield* run(1, false) // warm-up: JIT, the first connection, the fake's own first requests
      yield* run(callers, false)
      const results = yield* interleave(rounds, { herd: run(callers, true), single: run(1, false) })
      const ratio = median(pairedRatios(results.herd, warm))
      const rows: Array<Row> = [
        {
          name: "cold_herd",
          value: median(results.herd),
          unit: "ms",
          baseline: median(warm),
          baselineLabel: `ms for the same ${callers} callers on the warm session`,
          ratio,
          spread: minMax(results.herd),
          runs: rounds,
          note:
            `time until all ${callers} callers on a cold session are served (one cold caller alone: ${
              median(results.single).toFixed(1)
            } ms); baseline: the same herd right after, on the warm session (the cost of ${callers} fibers); ` +
            "ratio = median of paired per-round ratios"
        },
        {
          name: "cold_herd.widget_calls",
          value: Math.max(...widgetCalls),
          unit: "calls",
          target: "exactly 1",
          pass: widgetCalls.every((count) => count === 1),
          spread: minMax(widgetCalls),
          runs: rounds,
          note: `session.startWidgetSession calls counted at the fake per herd of ${callers} (max over runs)`
        },
        {
          name: "cold_herd.start_session_calls",
          value: Math.max(...startSessionCalls),
          unit: "calls",
          target: "exactly 1",
          pass: startSessionCalls.every((count) => count === 1),
          spread: minMax(startSessionCalls),
          runs: rounds,
          note: `appToken.startSession calls counted at the fake per herd of ${callers} (max over runs)`
        }
      ]
      return rows
    }))
}
