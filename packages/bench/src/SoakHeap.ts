/**
 * `soak_heap`: 100,000 refresh cycles (`AppTokenSession.refresh` with `minRefreshInterval: 0`, so each one
 * is a real flight: `appToken.startSession` with the reused widget KS, decoding, the lifecycle's
 * bookkeeping, timer rescheduling, metrics and the rotations hub) on the in-memory transport. `heapUsed` is
 * read after full GCs once the first cycles have warmed up, at checkpoints, and at the end.
 *
 * @since 0.1.0
 */
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type Benchmark, heapAfterGc, MiB, minMax, type Row } from "./Harness.js"
import * as InMemoryKaltura from "./InMemoryKaltura.js"
import * as Stack from "./Stack.js"

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "soak_heap",
  description: "heap growth over 100,000 refresh cycles on an in-memory transport",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const cycles = quick ? 300 : 100_000
      const checkpoints = quick ? 3 : 10
      const warmup = quick ? 100 : 5_000
      const transport = InMemoryKaltura.make()
      const session = Context.get(
        yield* Layer.build(
          Stack.session({
            serviceUrl: InMemoryKaltura.serviceUrl,
            partnerId: InMemoryKaltura.partnerId,
            appTokenId: "0_soak",
            token: Redacted.make(InMemoryKaltura.token)
          }, { session: { minRefreshInterval: 0 } }).pipe(Layer.provide(transport.layer))
        ),
        AppTokenSession.AppTokenSession
      )
      const first = yield* session.get
      for (let i = 0; i < warmup; i++) yield* session.refresh
      const start = yield* heapAfterGc
      const callsBefore = transport.counts.widget + transport.counts.startSession
      const samples: Array<number> = []
      const startedAt = performance.now()
      const perCheckpoint = Math.ceil(cycles / checkpoints)
      for (let done = 0; done < cycles;) {
        const batch = Math.min(perCheckpoint, cycles - done)
        for (let i = 0; i < batch; i++) yield* session.refresh
        done += batch
        samples.push(((yield* heapAfterGc) - start) / MiB)
      }
      const elapsed = performance.now() - startedAt
      const last = yield* session.get
      const generations = last.generation - first.generation - warmup
      const calls = transport.counts.widget + transport.counts.startSession - callsBefore
      if (generations !== cycles) return yield* Effect.dieMessage(`${generations} sessions for ${cycles} refreshes`)
      const growth = samples[samples.length - 1]!
      const rows: Array<Row> = [
        {
          name: "soak_heap",
          value: growth,
          unit: "MiB",
          target: "flat, < 5 MiB after GC",
          pass: growth < 5,
          spread: minMax(samples),
          runs: cycles,
          note: `heapUsed after GC at ${checkpoints} checkpoints over ${cycles} refreshes, relative to after ` +
            `${warmup} warm-up refreshes: ${samples.map((x) => x.toFixed(2)).join(", ")} MiB; ${calls} upstream ` +
            `calls; ${(elapsed * 1000 / cycles).toFixed(0)} µs per refresh cycle`
        }
      ]
      return rows
    }))
}
