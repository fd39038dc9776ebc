/**
 * `hot_ks`: a cached `AppTokenSession.ks` against a bare `Ref.get`, both in a loop of `yield*`s inside one
 * Effect, in interleaved rounds.
 *
 * @since 0.1.0
 */
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import * as Ref from "effect/Ref"
import { type Benchmark, interleave, loop, median, minMax, pairedRatios, type Row } from "./Harness.js"
import * as InMemoryKaltura from "./InMemoryKaltura.js"
import * as Stack from "./Stack.js"

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "hot_ks",
  description: "cached AppTokenSession.ks ops/s against a bare Ref.get in the same run",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const iterations = quick ? 2_000 : 300_000
      const rounds = quick ? 2 : 9
      const transport = InMemoryKaltura.make()
      const context = yield* Layer.build(
        Stack.session({
          serviceUrl: InMemoryKaltura.serviceUrl,
          partnerId: InMemoryKaltura.partnerId,
          appTokenId: "0_hotks",
          token: Redacted.make(InMemoryKaltura.token)
        }).pipe(Layer.provide(transport.layer))
      )
      const session = Context.get(context, AppTokenSession.AppTokenSession)
      yield* session.ks // the cold acquisition: from here on, every `ks` is a cache hit
      const callsBefore = transport.counts.widget + transport.counts.startSession
      const ref = yield* Ref.make(Redacted.make("ks"))

      // warm-up (JIT) for both loops, not recorded
      yield* loop(Math.ceil(iterations / 5), session.ks)
      yield* loop(Math.ceil(iterations / 5), Ref.get(ref))

      const results = yield* interleave(rounds, {
        ks: loop(iterations, session.ks),
        ref: loop(iterations, Ref.get(ref))
      })
      const opsPerSecond = (millis: number) => (iterations / millis) * 1000
      const ks = results.ks.map(opsPerSecond)
      const ref_ = results.ref.map(opsPerSecond)
      const ratio = median(pairedRatios(ks, ref_))
      const upstream = transport.counts.widget + transport.counts.startSession - callsBefore
      const rows: Array<Row> = [
        {
          name: "hot_ks",
          value: median(ks),
          unit: "ops/s",
          baseline: median(ref_),
          baselineLabel: "Ref.get ops/s",
          ratio,
          target: "ratio >= 0.33 (within 3x of Ref.get)",
          pass: ratio >= 1 / 3,
          spread: minMax(ks),
          runs: rounds,
          note: `${rounds} interleaved rounds of ${iterations} yield*s each; ratio = median of paired per-round ratios`
        },
        {
          name: "hot_ks.upstream_calls",
          value: upstream,
          unit: "calls",
          target: "0 (a cached KS costs no round trip)",
          pass: upstream === 0,
          runs: rounds,
          note: `upstream calls made during ${(rounds + 0.4) * iterations} cached ks reads`
        }
      ]
      return rows
    }))
}
