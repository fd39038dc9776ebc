/**
 * Part 2, outage: the fake server goes down for the last half of a KS lifetime and comes back after its expiry.
 */
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura } from "@kaltura-effect/testing"
import { Context, Effect, Fiber, Layer, Redacted, Stream } from "effect"
import * as Capture from "./utils/capture.js"
import * as Secrets from "./utils/secrets.js"
import { classify, optionsFor, shortTuning, tally } from "./utils/support.js"

const CALLERS = 20
const POLL_MILLIS = 20
/** Every `get` must complete within this, whatever the server does. */
const BOUND_MILLIS = 2_000

interface Poll {
  readonly caller: number
  readonly start: number
  readonly end: number
  readonly outcome: ReturnType<typeof classify>
  readonly ks: string | undefined
  readonly expiresAt: number | undefined
}

describe("outage", () => {
  it.live("down for the last half of a KS lifetime, back after expiry", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const watch = Capture.watchProcess()
      yield* Effect.addFinalizer(() => Effect.sync(watch.stop))
      const fake = yield* FakeKaltura.make({ liveClock: true })
      // a 4-second KS: with the Date header's one-second resolution the client counts on 3 s
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 4 })
      const services = yield* Layer.build(NodeAppToken.layer(optionsFor(fake, token), shortTuning()))
      const session = Context.get(services, AppTokenSession.AppTokenSession)
      const statusSequence: Array<AppTokenSession.Status> = []
      const statuses = yield* Stream.runForEach(
        session.statusChanges,
        (status) => Effect.sync(() => statusSequence.push(status))
      ).pipe(Effect.fork)

      const first = yield* session.get
      const lifetime = first.expiresAt - first.obtainedAt
      const hardMargin = Math.min(60_000, lifetime * 0.1)
      const hardAt = first.expiresAt - hardMargin
      const downAt = first.obtainedAt + lifetime / 2
      const upAt = first.expiresAt + 500

      // the callers: each polls `get` until well after the deadline, every call bounded
      const polls: Array<Poll> = []
      const caller = (n: number) =>
        Effect.gen(function*() {
          while (Date.now() < upAt) {
            const start = Date.now()
            const exit = yield* Effect.exit(Effect.timeout(session.get, BOUND_MILLIS))
            const end = Date.now()
            polls.push({
              caller: n,
              start,
              end,
              outcome: classify(exit),
              ks: exit._tag === "Success" ? Redacted.value(exit.value.ks) : undefined,
              expiresAt: exit._tag === "Success" ? exit.value.expiresAt : undefined
            })
            if (exit._tag === "Failure") capture.logs.push(String(exit.cause))
            yield* Effect.sleep(POLL_MILLIS)
          }
        })
      const callers = yield* Effect.fork(
        Effect.forEach(Array.from({ length: CALLERS }, (_, n) => n), caller, { concurrency: "unbounded" })
      )
      yield* Effect.sleep(Math.max(0, downAt - Date.now()))
      yield* fake.outage()
      const downSince = Date.now()
      yield* Fiber.join(callers)
      const statusAtDeadline = yield* session.status
      yield* fake.restore
      const restoredAt = Date.now()
      // recovery on the next demand
      const recoveryExit = yield* Effect.exit(Effect.timeout(session.get, BOUND_MILLIS))
      const recoveredAt = Date.now()
      const recovered = recoveryExit._tag === "Success" ? recoveryExit.value : undefined
      yield* Effect.sleep(50)
      const statusAfter = yield* session.status
      yield* Fiber.interrupt(statuses)

      // classify every poll by when it started
      const firstKs = Redacted.value(first.ks)
      const outcomes = tally()
      let errorsBeforeDeadline = 0
      let otherKsBeforeDeadline = 0
      let expiredServed = 0
      let stuck = 0
      let defects = 0
      let typedAfterDeadline = 0
      let lastServed = Number.NEGATIVE_INFINITY
      let firstErrorAt = Number.POSITIVE_INFINITY
      for (const poll of polls) {
        const phase = poll.start < downSince
          ? "server up"
          : poll.start < hardAt
          ? "down, before the hard margin"
          : poll.start < first.expiresAt
          ? "down, inside the hard margin"
          : "down, after the deadline"
        const label = poll.outcome._tag === "Failure" ? `error ${poll.outcome.tag}` : poll.outcome._tag.toLowerCase()
        outcomes.add(`${phase}: ${label}`)
        if (poll.end - poll.start >= BOUND_MILLIS) stuck++
        if (poll.outcome._tag === "Defect") defects++
        if (poll.outcome._tag === "Failure" && poll.outcome.tag === "TimeoutException") stuck++
        if (poll.outcome._tag === "Success") {
          lastServed = Math.max(lastServed, poll.end)
          if (poll.ks !== firstKs) otherKsBeforeDeadline++
          // a call that began at or after the deadline must not get a KS (one that began before it and
          // returned just after may have been answered in time: its answer was decided before the deadline)
          if (poll.start >= poll.expiresAt!) expiredServed++
        } else {
          firstErrorAt = Math.min(firstErrorAt, poll.start)
          // decided before the deadline (it ended before it): the valid KS should have been served
          if (poll.end < first.expiresAt) errorsBeforeDeadline++
          if (poll.start >= first.expiresAt && poll.outcome._tag === "Failure") typedAfterDeadline++
        }
      }
      const afterDeadline = polls.filter((poll) => poll.start >= first.expiresAt).length

      // the secret scan
      const scanner = new Secrets.Scanner()
      const log = yield* fake.requests
      Secrets.learnFromLog(scanner, log, [token])
      for (const poll of polls) if (poll.outcome._tag === "Failure") scanner.scanValue("error", poll.outcome.error)
      scanner.scanValue("session", first)
      if (recovered) scanner.scanValue("session", recovered)
      scanner.scanAll(capture.texts())
      Secrets.scanWire(scanner, log)

      Results.record({
        id: "2-outage",
        part: 2,
        title: "Outage for the last half of a KS lifetime",
        description:
          `A KS of 4 s (the client counts on ${
            (lifetime / 1000).toFixed(1)
          } s after the Date header's rounding, hard ` +
          `margin ${hardMargin.toFixed(0)} ms). ${CALLERS} callers poll \`get\` every ${POLL_MILLIS} ms, each call ` +
          `bounded by ${BOUND_MILLIS} ms. The server goes down (listener and connections closed: connection refused) ` +
          "at half the lifetime and comes back 500 ms after the deadline; then one more `get`. Before the hard margin " +
          "callers get the KS at once; inside it they wait for a refresh, which fails (connection refused), and get " +
          "the KS in hand until its deadline; after the deadline, the typed error.",
        figures: {
          "polls": polls.length,
          "outcomes by phase": outcomes.counts,
          "errors before the deadline": errorsBeforeDeadline,
          "a KS other than the valid one served during the outage": otherKsBeforeDeadline,
          "KS served to a call made at or after its deadline": expiredServed,
          "last KS served, ms before the deadline": lastServed === Number.NEGATIVE_INFINITY
            ? "none"
            : (first.expiresAt - lastServed).toFixed(0),
          "first error, ms before the deadline": firstErrorAt === Number.POSITIVE_INFINITY
            ? "none"
            : (first.expiresAt - firstErrorAt).toFixed(0),
          "polls after the deadline / typed errors among them": `${afterDeadline} / ${typedAfterDeadline}`,
          "stuck waiters (no answer within 2 s)": stuck,
          defects,
          "unhandled rejections / uncaught exceptions": watch.counts.unhandledRejections +
            watch.counts.uncaughtExceptions,
          "status at the deadline": statusAtDeadline,
          "status changes": statusSequence.join(" → "),
          "recovered on the next demand after the restore": recovered !== undefined &&
            Redacted.value(recovered.ks) !== firstKs,
          "recovery time after the restore, ms": recoveredAt - restoredAt,
          "status after recovery": statusAfter,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "errors before the deadline",
          "a KS other than the valid one served during the outage",
          "KS served to a call made at or after its deadline",
          "stuck waiters (no answer within 2 s)",
          "defects",
          "unhandled rejections / uncaught exceptions",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })

      assert.deepStrictEqual(scanner.findings.slice(0, 5), [])
      assert.strictEqual(errorsBeforeDeadline, 0)
      assert.strictEqual(otherKsBeforeDeadline, 0)
      assert.strictEqual(expiredServed, 0)
      assert.strictEqual(stuck, 0)
      assert.strictEqual(defects, 0)
      assert.strictEqual(watch.counts.unhandledRejections + watch.counts.uncaughtExceptions, 0)
      // the callers really did keep the KS through the outage, inside the hard margin too, then got typed errors
      assert.isTrue(polls.some((poll) => poll.start >= downSince && poll.outcome._tag === "Success"))
      assert.isTrue(polls.some((poll) => poll.start >= hardAt && poll.outcome._tag === "Success"))
      assert.isAbove(afterDeadline, 0)
      assert.strictEqual(typedAfterDeadline, afterDeadline)
      assert.isDefined(recovered)
      assert.notStrictEqual(Redacted.value(recovered!.ks), firstKs)
      assert.isAbove(recovered!.expiresAt, recoveredAt)
      assert.strictEqual(statusAfter, "Fresh")
      assert.include(statusSequence, "Degraded")
      assert.include(statusSequence, "Expired")
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })
})
