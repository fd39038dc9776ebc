/**
 * Part 1, fault soak: cold session acquisitions and KalturaClient calls against the fake server over real
 * loopback HTTP, with seeded random faults on every action, on live time with short timeouts.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import {
  AppTokenSession,
  KalturaApi,
  KalturaClient,
  KalturaConfig,
  SessionStore,
  TokenHasher,
  WidgetSession
} from "@kaltura-effect/core"
import { NodeAppToken, NodeTokenHasher } from "@kaltura-effect/node"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Context, Effect, Layer, Option, Redacted, Ref, Schema } from "effect"
import * as Capture from "./utils/capture.js"
import * as Secrets from "./utils/secrets.js"
import { classify, optionsFor, prng, shortRetrySchedule, shortTuning, tally } from "./utils/support.js"

const SEED = 20_240_601
const ACQUISITIONS = 1_000
const CALLS = 10_000
const CONCURRENCY = 25
/** Longer than any acquisition or call can take within its retry budget (5 attempts of at most 200 ms + backoff). */
const STUCK_AFTER = "15 seconds"

type FaultName = "503" | "502 HTML" | "connection reset" | "delay past timeout" | "truncated JSON" | "KS expired"

const faults: Record<FaultName, FakeKalturaFault.FakeKalturaFault> = {
  "503": FakeKalturaFault.serviceUnavailable,
  "502 HTML": FakeKalturaFault.badGateway,
  "connection reset": FakeKalturaFault.connectionReset,
  "delay past timeout": FakeKalturaFault.delay("300 millis"),
  "truncated JSON": FakeKalturaFault.truncatedJson,
  "KS expired": FakeKalturaFault.ksExpired
}
const transportFaults: ReadonlyArray<FaultName> = [
  "503",
  "502 HTML",
  "connection reset",
  "delay past timeout",
  "truncated JSON"
]
const callFaults: ReadonlyArray<FaultName> = [...transportFaults, "KS expired"]

const EntryList = Schema.Struct({ totalCount: Schema.Number, objects: Schema.Array(Schema.Unknown) })

class Stuck extends Schema.TaggedError<Stuck>()("Stuck", {}) {}

describe("fault soak", () => {
  it.live("1,000 cold acquisitions and 10,000 KalturaClient calls under seeded random faults", () =>
    Effect.gen(function*() {
      const started = performance.now()
      const rng = prng(SEED)
      const capture = Capture.make()
      const watch = Capture.watchProcess()
      yield* Effect.addFinalizer(() => Effect.sync(watch.stop))
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const scanner = new Secrets.Scanner()
      const injected = tally()
      const inject = (action: string, name: FaultName, times = 1) =>
        Effect.zipRight(
          fake.injectFault(action, faults[name], { times }),
          Effect.sync(() => injected.add(`${name} on ${action}`, times))
        )
      const expiredChecks = { checked: 0, expiredLocally: 0, expiredOnServer: 0, otherPartner: 0 }
      const ksExpiry = new Map<string, number>()
      const checkSession = (session: AppTokenSession.Session) =>
        Effect.gen(function*() {
          const now = Date.now()
          const ks = Redacted.value(session.ks)
          expiredChecks.checked++
          if (!(session.expiresAt > now)) expiredChecks.expiredLocally++
          let validUntil = ksExpiry.get(ks)
          if (validUntil === undefined) {
            const decoded = yield* fake.decodeKs(ks)
            if (Option.isNone(decoded)) return yield* Effect.dieMessage("a KS the fake cannot decode")
            if (decoded.value.partnerId !== fake.partnerId) expiredChecks.otherPartner++
            validUntil = decoded.value.validUntil
            ksExpiry.set(ks, validUntil)
          }
          // the server treats valid_until <= now (unix seconds) as expired
          if (!(validUntil > Math.floor(now / 1000))) expiredChecks.expiredOnServer++
          scanner.scanValue("session", session)
        })

      // ---------------------------------------------------------------------------------------------------
      // 1. cold acquisitions: a new lifecycle each time, on one transport
      // ---------------------------------------------------------------------------------------------------
      const coldToken = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })
      const settings = yield* KalturaConfig.make(optionsFor(fake, coldToken))
      const tuning = shortTuning()
      const httpClient = yield* Layer.build(NodeHttpClient.layerUndici)
      const context = yield* Effect.gen(function*() {
        const api = yield* KalturaApi.make({
          serviceUrl: settings.serviceUrl,
          clientTag: settings.clientTag,
          timeout: "200 millis",
          retrySchedule: shortRetrySchedule
        })
        const hasher = yield* NodeTokenHasher.make
        const widgetSession = yield* WidgetSession.make.pipe(
          Effect.provideService(KalturaApi.KalturaApi, api),
          Effect.provideService(KalturaConfig.KalturaConfig, settings)
        )
        return Context.make(KalturaConfig.KalturaConfig, settings).pipe(
          Context.add(KalturaApi.KalturaApi, api),
          Context.add(TokenHasher.TokenHasher, hasher),
          Context.add(WidgetSession.WidgetSession, widgetSession),
          Context.add(SessionStore.SessionStore, SessionStore.none)
        )
      }).pipe(Effect.provide(httpClient))
      const phase1Start = performance.now()

      const acquisitions = tally()
      const acquisitionDurations: Array<number> = []
      const acquireOnce = (i: number) =>
        Effect.gen(function*() {
          // seeded faults on both actions of the flow; now and then a burst that outlasts the retry budget
          for (const action of ["session.startWidgetSession", "appToken.startSession"]) {
            if (rng.chance(0.3)) yield* inject(action, rng.pick(transportFaults))
            if (rng.chance(0.015)) yield* inject(action, rng.pick(transportFaults), 5)
          }
          const t0 = performance.now()
          const exit = yield* Effect.scoped(
            Effect.flatMap(AppTokenSession.make(tuning.session), (session) => session.get)
          ).pipe(
            Effect.provide(context),
            Effect.timeoutFail({ duration: STUCK_AFTER, onTimeout: () => new Stuck() }),
            Effect.exit
          )
          acquisitionDurations.push(performance.now() - t0)
          const outcome = classify(exit)
          acquisitions.add(outcome._tag === "Failure" ? `failure ${outcome.tag}` : outcome._tag.toLowerCase())
          if (exit._tag === "Success") yield* checkSession(exit.value)
          if (outcome._tag === "Failure") scanner.scanValue(`acquisition ${i} error`, outcome.error)
        })
      yield* Effect.forEach(Array.from({ length: ACQUISITIONS }, (_, i) => i), acquireOnce, {
        concurrency: CONCURRENCY,
        discard: true
      }).pipe(Effect.provide(capture.layer))
      yield* fake.clearFaults
      const acquisitionLog = yield* fake.requests
      yield* fake.clearRequests

      // ---------------------------------------------------------------------------------------------------
      // 2. 10,000 KalturaClient calls on one long-lived stack whose KS lives 5 s (so it is refreshed during
      //    the run), with faults on every action and the current KS revoked now and then
      // ---------------------------------------------------------------------------------------------------
      const phase1Millis = performance.now() - phase1Start
      const phase2Start = performance.now()
      const callToken = yield* fake.seedAppToken({ hashType: "SHA1", sessionDuration: 5 })
      const services = yield* Layer.build(NodeAppToken.layer(optionsFor(fake, callToken), tuning))
      const client = Context.get(services, KalturaClient.KalturaClient)
      const session = Context.get(services, AppTokenSession.AppTokenSession)
      const calls = tally()
      const revocations = yield* Ref.make(0)
      const callOnce = (i: number) =>
        Effect.gen(function*() {
          if (rng.chance(0.2)) yield* inject("baseEntry.list", rng.pick(callFaults))
          if (rng.chance(0.01)) {
            yield* inject(rng.pick(["session.startWidgetSession", "appToken.startSession"]), rng.pick(transportFaults))
          }
          if (i % 500 === 250) {
            // revoke the KS in use: the calls holding it get INVALID_KS LOGOUT, refresh once and retry
            const current = yield* Effect.either(session.get)
            if (current._tag === "Right") {
              yield* fake.revokeKs(Redacted.value(current.right.ks))
              yield* Ref.update(revocations, (n) => n + 1)
            }
          }
          const exit = yield* client.call("baseEntry", "list", { pager: { pageSize: 1 } }, EntryList).pipe(
            Effect.timeoutFail({ duration: STUCK_AFTER, onTimeout: () => new Stuck() }),
            Effect.exit
          )
          const outcome = classify(exit)
          calls.add(outcome._tag === "Failure" ? `failure ${outcome.tag}` : outcome._tag.toLowerCase())
          if (outcome._tag === "Failure") scanner.scanValue(`call ${i} error`, outcome.error)
          const held = yield* Effect.exit(session.get)
          if (held._tag === "Success") yield* checkSession(held.value)
        })
      yield* Effect.forEach(Array.from({ length: CALLS }, (_, i) => i), callOnce, {
        concurrency: CONCURRENCY,
        discard: true
      }).pipe(Effect.provide(capture.layer))
      const phase2Millis = performance.now() - phase2Start
      const pendingAtEnd = (yield* fake.pendingFaults).reduce((n, fault) => n + fault.remaining, 0)
      yield* fake.clearFaults
      const callLog = yield* fake.requests
      const log = [...acquisitionLog, ...callLog]

      // ---------------------------------------------------------------------------------------------------
      // the secret scan over everything captured, and the wire
      // ---------------------------------------------------------------------------------------------------
      Secrets.learnFromLog(scanner, log, [coldToken, callToken])
      scanner.scanValue("settings", settings)
      scanner.scanValue("session status", yield* session.status)
      const inValues = scanner.findings.length
      const inCapture = scanner.scanAll(capture.texts())
      const wire = Secrets.scanWire(scanner, log)
      const secretsFound = scanner.findings.length

      const faultsApplied = tally()
      for (const entry of log) if (entry.fault !== undefined) faultsApplied.add(entry.fault)
      const totalInjected = Object.values(injected.counts).reduce((a, b) => a + b, 0)
      const defects = (acquisitions.counts.defect ?? 0) + (calls.counts.defect ?? 0)
      const stuck = (acquisitions.counts["failure Stuck"] ?? 0) + (calls.counts["failure Stuck"] ?? 0)
      const sorted = [...acquisitionDurations].sort((a, b) => a - b)
      const typedFailures = (counts: Record<string, number>) =>
        Object.fromEntries(
          Object.entries(counts).filter(([key]) => key.startsWith("failure ")).map(([k, v]) => [k.slice(8), v])
        )

      Results.record({
        id: "1-fault-soak",
        part: 1,
        title: "Fault soak: 1,000 cold acquisitions and 10,000 KalturaClient calls",
        description:
          `Live time, real loopback HTTP to the fake server, seed ${SEED}, ${CONCURRENCY} at a time. Transport: 200 ms ` +
          "per attempt, 4 retries from 5 ms (jittered). Each cold acquisition builds a new AppTokenSession and calls " +
          "`get`; before it, each of its two actions gets a random fault with probability 0.3 (503, 502 with HTML, " +
          "connection reset, a 300 ms delay past the timeout, truncated JSON) and a 5-fault burst that outlasts the " +
          "retry budget with probability 0.015. The calls run `baseEntry.list` through one long-lived KalturaClient " +
          "whose KS lives 5 s; each call has a fault with probability 0.2 (the same kinds plus `INVALID_KS EXPIRED`), " +
          "refreshes get faults too, and the KS in use is revoked every 500 calls. Every session handed out is " +
          "checked against the local clock and against its real expiry (decoded from the KS by the fake).",
        figures: {
          "requests the fake received": log.length,
          "faults injected": totalInjected,
          "faults injected, by kind and action": injected.counts,
          "faults applied (from the fake's log; a delay whose client gave up is not logged)": faultsApplied.counts,
          "faults injected but not reached by the end": pendingAtEnd,
          "cold acquisitions": ACQUISITIONS,
          "acquisitions that succeeded within the retry budget": acquisitions.counts.success ?? 0,
          "acquisition typed failures, by tag": typedFailures(acquisitions.counts),
          "acquisition p50 / p99 / max, ms": `${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} / ${
            sorted[Math.floor(sorted.length * 0.99)]!.toFixed(0)
          } / ${sorted[sorted.length - 1]!.toFixed(0)}`,
          "acquisition phase wall time, s": phase1Millis / 1000,
          "KalturaClient calls": CALLS,
          "call phase wall time, s": phase2Millis / 1000,
          "calls that succeeded": calls.counts.success ?? 0,
          "call typed failures, by tag": typedFailures(calls.counts),
          "KS revocations mid-run": yield* Ref.get(revocations),
          "appToken.startSession requests during the calls (refreshes and retries)": callLog.filter((e) =>
            e.action === "startsession"
          ).length,
          "sessions handed out and checked": expiredChecks.checked,
          defects,
          "stuck (no outcome within 15 s)": stuck,
          "expired KS ever returned (local deadline)": expiredChecks.expiredLocally,
          "expired KS ever returned (real expiry in the KS)": expiredChecks.expiredOnServer,
          "session for another partner returned": expiredChecks.otherPartner,
          "unhandled rejections / uncaught exceptions": watch.counts.unhandledRejections +
            watch.counts.uncaughtExceptions,
          "log lines / spans captured": `${capture.logs.length} / ${capture.spans.length}`,
          "secrets scanned for (tokens, hashes, KSs)": scanner.count(),
          "secrets found in sessions, settings and errors (String, JSON, inspect, message)": inValues,
          "secrets found in logs and spans": inCapture,
          "app token in any byte received": wire.tokenAnywhere,
          "KS or hash in a URL or header": wire.secretInUrlOrHeader,
          "secrets found": secretsFound
        },
        mustBeZero: [
          "defects",
          "stuck (no outcome within 15 s)",
          "expired KS ever returned (local deadline)",
          "expired KS ever returned (real expiry in the KS)",
          "session for another partner returned",
          "unhandled rejections / uncaught exceptions",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })

      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
      assert.strictEqual(defects, 0)
      assert.strictEqual(stuck, 0)
      assert.strictEqual(expiredChecks.expiredLocally, 0)
      assert.strictEqual(expiredChecks.expiredOnServer, 0)
      assert.strictEqual(expiredChecks.otherPartner, 0)
      assert.strictEqual(watch.counts.unhandledRejections + watch.counts.uncaughtExceptions, 0)
      // the soak really happened: enough faults, enough successes, enough secrets to look for
      assert.isAtLeast(totalInjected, 1_000)
      assert.isAtLeast(acquisitions.counts.success ?? 0, ACQUISITIONS * 0.5)
      assert.isAtLeast(calls.counts.success ?? 0, CALLS * 0.5)
      assert.isAtLeast(scanner.count("KS"), ACQUISITIONS)
      assert.isAtLeast(capture.logLevels.get("DEBUG") ?? 0, 1)
      assert.isAtLeast(capture.spans.length, CALLS)
      assert.isAtLeast(log.length, ACQUISITIONS * 2 + CALLS)
    }).pipe(Effect.scoped))
})
