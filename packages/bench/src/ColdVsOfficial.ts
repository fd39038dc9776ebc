/**
 * `cold_vs_official`: one full cold acquisition (widget session, hash, `startSession` sent with the widget
 * KS) over loopback HTTP against the same fake server, ours against the official `kaltura-client` npm
 * package (AGPL-3.0: a devDependency of this private package only, never shipped), interleaved.
 *
 * Two fair set-ups, each side by side:
 * - `cold_vs_official` (pooled connections, as in a long-running server): ours builds a fresh
 *   `AppTokenSession` (config, transport, hasher and lifecycle layers) per run on one shared undici
 *   `HttpClient`; the official side builds a fresh `kaltura.Client` per run on one shared keep-alive
 *   `http.Agent`. Both reuse their open connection from run to run.
 * - `cold_vs_official.fresh_connection` (a one-shot process): ours builds the whole `NodeAppToken.layer`
 *   per run (its own undici dispatcher: a new connection); the official side gets a new keep-alive
 *   `http.Agent` per run. Both open one connection per run and use it for both calls.
 *
 * - `cold_vs_official.flow_only` (where the time goes): ours runs only the bare acquisition (the same two
 *   calls and the hash, on a transport and hasher built once, no lifecycle, no layers) against the same
 *   pooled official runs.
 * - `cold_vs_official.construction`: in the pooled runs, the time from building our layers to the moment the first
 *   request leaves (config validation, transport, hasher, widget session, lifecycle, the first demand).
 *
 * The clock stops when the privileged KS is in hand; closing our layer (and the agents) is not timed.
 *
 * @since 0.1.0
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
// the bare flow is an internal of core, reached through the workspace-only internal path
import * as Acquire from "@kaltura-effect/core/internal/acquire"
import * as Widget from "@kaltura-effect/core/internal/widget"
import * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as NodeAppToken from "@kaltura-effect/node/NodeAppToken"
import * as NodeTokenHasher from "@kaltura-effect/node/NodeTokenHasher"
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"
import kaltura from "kaltura-client"
import { createHash } from "node:crypto"
import * as Http from "node:http"
import { type Benchmark, interleave, iqr, median, pairedRatios, type Row } from "./Harness.js"
import * as Stack from "./Stack.js"

const quiet = { log: () => {}, error: () => {}, debug: () => {} }

/**
 * The official client's cold acquisition, as its README and the App Token guide show it: a new client,
 * `session.startWidgetSession`, the hash with `node:crypto`, then `appToken.startSession` with the widget
 * KS set on the client (a client-level KS overrides a request-level one).
 */
const official = (options: {
  readonly url: string
  readonly agent: Http.Agent
  readonly widgetId: string
  readonly appTokenId: string
  readonly token: string
}) =>
  Effect.tryPromise({
    try: async () => {
      const config = new kaltura.Configuration()
      config.serviceUrl = options.url
      config.setLogger(quiet)
      const client = new kaltura.Client(config)
      client.axios.defaults.httpAgent = options.agent
      const widget = await kaltura.services.session.startWidgetSession(options.widgetId).execute(client)
      const tokenHash = createHash("sha256").update(widget.ks + options.token).digest("hex")
      client.setKs(widget.ks)
      const info = await kaltura.services.appToken.startSession(options.appTokenId, tokenHash).execute(client)
      if (typeof info?.ks !== "string") throw new Error("no KS")
      return info.ks as string
    },
    catch: (error) => new Error(`kaltura-client failed: ${JSON.stringify(error)}`)
  })

const timedMillis = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = performance.now()
    yield* effect
    return performance.now() - start
  })

/**
 * @since 0.1.0
 * @category Benchmarks
 */
export const benchmark: Benchmark = {
  name: "cold_vs_official",
  description: "one full cold acquisition over loopback, ours against the official kaltura-client",
  run: ({ quick }) =>
    Effect.scoped(Effect.gen(function*() {
      const runs = quick ? 10 : 200
      const warmup = quick ? 2 : 20
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })
      const config = {
        serviceUrl: fake.url,
        partnerId: fake.partnerId,
        appTokenId: token.id,
        token: Redacted.make(token.token),
        hashType: "SHA256" as const
      }
      const officialOptions = {
        url: fake.url,
        widgetId: fake.widgetId,
        appTokenId: token.id,
        token: token.token
      }

      // Pooled: one undici client for all our runs, one keep-alive agent for all official runs. The client notes
      // when the first request of a run leaves, for the construction row.
      const sharedHttp = yield* Layer.build(NodeHttpClient.layerUndici)
      let firstRequestAt: number | undefined
      const recordingHttp = HttpClient.tapRequest(Context.get(sharedHttp, HttpClient.HttpClient), () =>
        Effect.sync(() => {
          firstRequestAt ??= performance.now()
        }))
      const sessionLayer = Stack.session(config).pipe(
        Layer.provide(Layer.succeed(HttpClient.HttpClient, recordingHttp))
      )
      const sharedAgent = new Http.Agent({ keepAlive: true })
      yield* Effect.addFinalizer(() =>
        Effect.sync(() =>
          sharedAgent.destroy()
        )
      )
      const construction: Array<number> = []
      const oursPooled = Effect.scoped(Effect.gen(function*() {
        firstRequestAt = undefined
        const start = performance.now()
        const context = yield* Layer.build(sessionLayer)
        yield* Context.get(context, AppTokenSession.AppTokenSession).ks
        const end = performance.now()
        construction.push(firstRequestAt! - start)
        return end - start
      }))
      const officialPooled = timedMillis(official({ ...officialOptions, agent: sharedAgent }))

      // Flow only: the two calls and the hash, on a transport and hasher built once.
      const settings = yield* KalturaConfig.make(config)
      const api = yield* KalturaApi.make({ serviceUrl: settings.serviceUrl, clientTag: settings.clientTag }).pipe(
        Effect.provide(sharedHttp)
      )
      const acquire = Acquire.make({
        api,
        hasher: yield* NodeTokenHasher.make,
        widgetSession: Widget.service(api, {
          partnerId: settings.partnerId,
          widgetId: settings.widgetId,
          expiry: AppTokenSession.defaults.widgetExpiry
        }),
        settings,
        widgetExpiry: AppTokenSession.defaults.widgetExpiry
      })
      const oursFlow = timedMillis(acquire(undefined))

      // Fresh: our whole Node stack per run; a new agent per run for the official client.
      const nodeLayer = NodeAppToken.layer(config)
      const oursFresh = Effect.scoped(Effect.gen(function*() {
        const start = performance.now()
        const context = yield* Layer.build(nodeLayer)
        yield* Context.get(context, AppTokenSession.AppTokenSession).ks
        return performance.now() - start
      }))
      const officialFresh = Effect.acquireUseRelease(
        Effect.sync(() => new Http.Agent({ keepAlive: true })),
        (agent) => timedMillis(official({ ...officialOptions, agent })),
        (agent) => Effect.sync(() => agent.destroy())
      )

      yield* interleave(warmup, { oursPooled, officialPooled, oursFlow, oursFresh, officialFresh })
      construction.length = 0
      const pooled = yield* interleave(runs, { ours: oursPooled, official: officialPooled, flow: oursFlow })
      const fresh = yield* interleave(runs, { ours: oursFresh, official: officialFresh })

      const row = (
        name: string,
        results: { readonly ours: Array<number>; readonly official: Array<number> },
        setup: string,
        withTarget = true
      ): Row => {
        const value = median(results.ours)
        const baseline = median(results.official)
        const ratio = value / baseline
        return {
          name,
          value,
          unit: "ms",
          baseline,
          baselineLabel: "ms, kaltura-client 21.20.0",
          ratio,
          target: withTarget ? "ratio <= 1.0 (ours not slower)" : undefined,
          pass: withTarget ? ratio <= 1 : undefined,
          spread: iqr(results.ours),
          runs,
          note: `${setup}; medians of ${runs} runs each, interleaved; ratio = median ours / median official ` +
            `(median of paired ratios ${median(pairedRatios(results.ours, results.official)).toFixed(2)}); ` +
            `official IQR ${iqr(results.official).low.toFixed(2)}-${iqr(results.official).high.toFixed(2)} ms`
        }
      }
      return [
        row("cold_vs_official", pooled, "pooled keep-alive connections reused across runs"),
        row("cold_vs_official.fresh_connection", fresh, "a new connection per run for both"),
        {
          name: "cold_vs_official.construction",
          value: median(construction),
          unit: "ms",
          target: "<= 0.3 ms",
          pass: median(construction) <= 0.3,
          spread: iqr(construction),
          runs,
          note:
            "in the pooled runs: from Layer.build of config, transport, hasher, widget session and session to the " +
            "first request leaving (the lifecycle built and the first demand made); median of " + `${runs} runs`
        },
        row(
          "cold_vs_official.flow_only",
          { ours: pooled.flow, official: pooled.official },
          "ours: the bare acquisition alone (no layers, no lifecycle), pooled; official as in cold_vs_official",
          false
        )
      ]
    }))
}
