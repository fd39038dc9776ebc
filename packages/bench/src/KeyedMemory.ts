/**
 * `keyed_memory`: 10,000 keys (one App Token id each) in `AppTokenSessions` on the in-memory transport:
 * the heap each held key costs (`heapUsed` after full GCs, before and after creating them, each with its session),
 * how long creating a key's lifecycle takes (`session(key)`, no round trip), and how long a `get` on a warm key
 * takes, against `AppTokenSession.get` on a single warm session in the same run.
 *
 * @since 0.1.0
 */
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as AppTokenSessions from "@kaltura-effect/core/AppTokenSessions"
import type * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as SessionStore from "@kaltura-effect/core/SessionStore"
import * as NodeTokenHasher from "@kaltura-effect/node/NodeTokenHasher"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import { type Benchmark, heapAfterGc, interleave, loop, median, minMax, pairedRatios, type Row } from "./Harness.js"
import * as InMemoryKaltura from "./InMemoryKaltura.js"
import * as Stack from "./Stack.js"

const keyFor = (appTokenId: string): KalturaConfig.Options => ({
  serviceUrl: InMemoryKaltura.serviceUrl,
  partnerId: InMemoryKaltura.partnerId,
  appTokenId,
  token: Redacted.make(InMemoryKaltura.token)
})

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "keyed_memory",
  description: "10,000 keys in AppTokenSessions: heap per key and get latency on a warm key",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const keys = quick ? 300 : 10_000
      const warmupKeys = 50
      const iterations = quick ? 200 : 5_000
      const rounds = quick ? 2 : 7
      const transport = InMemoryKaltura.make()
      const context = yield* Layer.build(
        AppTokenSessions.layer({ capacity: keys + warmupKeys }).pipe(
          Layer.provide(transport.layer),
          Layer.provide(NodeTokenHasher.layer),
          Layer.provide(SessionStore.layerNone)
        )
      )
      const sessions = Context.get(context, AppTokenSessions.AppTokenSessions)
      for (let i = 0; i < warmupKeys; i++) {
        yield* sessions.get(keyFor(`0_warm${i}`)) // JIT and first-use allocations, not counted
      }

      // Creating a key's lifecycle alone (no acquisition, so no round trip), on a separate instance.
      const creation = Context.get(
        yield* Layer.build(
          AppTokenSessions.layer({ capacity: keys }).pipe(
            Layer.provide(transport.layer),
            Layer.provide(NodeTokenHasher.layer),
            Layer.provide(SessionStore.layerNone),
            Layer.provide(SessionStore.layerNone)
          )
        ),
        AppTokenSessions.AppTokenSessions
      )
      const lifecycleKeys = Array.from({ length: keys }, (_, i) => keyFor(`0_life${i}`))
      const lifecycleStart = performance.now()
      for (const key of lifecycleKeys) yield* creation.session(key)
      const createMicros = ((performance.now() - lifecycleStart) * 1000) / keys

      const before = yield* heapAfterGc
      const createStart = performance.now()
      for (let i = 0; i < keys; i++) {
        yield* sessions.get(keyFor(`0_key${i}`))
      }
      const createMillis = performance.now() - createStart
      const after = yield* heapAfterGc
      const held = yield* sessions.size
      if (held !== keys + warmupKeys) return yield* Effect.dieMessage(`${held} keys held, not ${keys + warmupKeys}`)
      const perKey = (after - before) / keys / 1024

      // A warm key: the caller holds its key object, as a server would per tenant.
      const warmKey = keyFor("0_key0")
      const single = Context.get(
        yield* Layer.build(Stack.session(keyFor("0_single")).pipe(Layer.provide(transport.layer))),
        AppTokenSession.AppTokenSession
      )
      yield* single.get
      const callsBefore = transport.counts.widget + transport.counts.startSession
      yield* loop(iterations, sessions.get(warmKey))
      yield* loop(iterations, single.get)
      const results = yield* interleave(rounds, {
        keyed: loop(iterations, sessions.get(warmKey)),
        single: loop(iterations, single.get)
      })
      const upstream = transport.counts.widget + transport.counts.startSession - callsBefore
      const micros = (millis: number) => (millis * 1000) / iterations
      const keyed = results.keyed.map(micros)
      const singleGet = results.single.map(micros)
      const rows: Array<Row> = [
        {
          name: "keyed_memory.heap_per_key",
          value: perKey,
          unit: "KiB/key",
          runs: 1,
          target: "<= 10 KiB (stretch <= 4 KiB)",
          pass: perKey <= 10,
          note: `heapUsed after GC grew ${((after - before) / 1024 / 1024).toFixed(1)} MiB for ${keys} keys ` +
            `(each a lifecycle with its session and its entry in the shared timer); creating them took ${
              createMillis.toFixed(0)
            } ms (${(createMillis * 1000 / keys).toFixed(0)} µs per cold key on the in-memory transport)`
        },
        {
          name: "keyed_memory.create",
          value: createMicros,
          unit: "µs/key",
          runs: 1,
          note: `AppTokenSessions.session(key) for ${keys} new keys: validating the key, building its lifecycle (no ` +
            "request is sent)"
        },
        {
          name: "keyed_memory.warm_get",
          value: median(keyed),
          unit: "µs/get",
          baseline: median(singleGet),
          baselineLabel: "µs/get, AppTokenSession.get on one warm session",
          ratio: median(pairedRatios(keyed, singleGet)),
          target: "ratio <= 3 (within 3x of a single warm get)",
          pass: median(pairedRatios(keyed, singleGet)) <= 3,
          spread: minMax(keyed),
          runs: rounds,
          note: `${rounds} interleaved rounds of ${iterations} gets with ${held} keys held; ` +
            `${upstream} upstream calls; ratio = median of paired per-round ratios`
        }
      ]
      return rows
    }))
}
