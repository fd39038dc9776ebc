/**
 * `hash`: App Token hashes per second for each algorithm, the Node hasher (`node:crypto`) against the
 * portable one (Web Crypto for SHA-1/256/512, `@noble/hashes` for MD5), in interleaved rounds, on a
 * realistic input (a ~200-character widget KS and a 32-character token).
 *
 * @since 0.1.0
 */
import type * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as TokenHasher from "@kaltura-effect/core/TokenHasher"
import * as NodeTokenHasher from "@kaltura-effect/node/NodeTokenHasher"
import * as Effect from "effect/Effect"
import * as Redacted from "effect/Redacted"
import { type Benchmark, interleave, loop, median, minMax, pairedRatios, type Row } from "./Harness.js"
import * as InMemoryKaltura from "./InMemoryKaltura.js"

const algorithms: ReadonlyArray<KalturaConfig.HashType> = ["MD5", "SHA1", "SHA256", "SHA512"]

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "hash",
  description: "hashes/s per algorithm, NodeTokenHasher against the portable TokenHasher",
  run: ({ quick }) =>
    Effect.gen(function*() {
      // node:crypto is ~20x faster than Web Crypto here: more iterations for it, so both rounds last long enough
      const nodeIterations = quick ? 500 : 20_000
      const portableIterations = quick ? 200 : 2_000
      const rounds = quick ? 2 : 7
      const node = yield* NodeTokenHasher.make
      const portable = yield* TokenHasher.make
      const widgetKs = Redacted.make(Buffer.from("v2|12345|".padEnd(150, "w")).toString("base64url"))
      const token = Redacted.make(InMemoryKaltura.token)
      const rows: Array<Row> = []
      for (const algorithm of algorithms) {
        // both must agree before they are timed
        const [a, b] = [yield* node.hash(algorithm, widgetKs, token), yield* portable.hash(algorithm, widgetKs, token)]
        if (Redacted.value(a) !== Redacted.value(b)) return yield* Effect.dieMessage(`${algorithm}: hashers disagree`)
        const contenders = {
          node: loop(nodeIterations, node.hash(algorithm, widgetKs, token)),
          portable: loop(portableIterations, portable.hash(algorithm, widgetKs, token))
        }
        yield* interleave(1, contenders) // warm-up
        const results = yield* interleave(rounds, contenders)
        const nodeRate = results.node.map((millis) => (nodeIterations / millis) * 1000)
        const portableRate = results.portable.map((millis) => (portableIterations / millis) * 1000)
        rows.push({
          name: `hash.${algorithm}`,
          value: median(nodeRate),
          unit: "hashes/s",
          baseline: median(portableRate),
          baselineLabel: `hashes/s, portable TokenHasher (${algorithm === "MD5" ? "@noble/hashes" : "Web Crypto"})`,
          ratio: median(pairedRatios(nodeRate, portableRate)),
          spread: minMax(nodeRate),
          runs: rounds,
          note: `NodeTokenHasher; ${rounds} interleaved rounds of ${nodeIterations} (node) and ${portableIterations} ` +
            `(portable) hashes; ` +
            "ratio = median of paired per-round ratios (> 1: node:crypto is faster)"
        })
      }
      return rows
    })
}
