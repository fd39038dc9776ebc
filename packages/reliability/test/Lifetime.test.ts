/**
 * Part 6, lifetime: 30 simulated days under TestClock on an in-memory transport, with lifetimes that shrink toward
 * the App Token's expiry; and a child process that must exit at once after the layer is released.
 */
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession, KalturaError } from "@kaltura-effect/core"
import { Results } from "@kaltura-effect/reliability"
import { Chunk, Clock, Context, Effect, Fiber, Layer, Redacted, TestClock } from "effect"
import * as ChildProcess from "node:child_process"
import * as Os from "node:os"
import * as Path from "node:path"
import * as V8 from "node:v8"
import * as Vm from "node:vm"
import * as Capture from "./utils/capture.js"
import { bundleFixture } from "./utils/children.js"
import * as Memory from "./utils/memory.js"
import { classify, tally } from "./utils/support.js"

const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const TOKEN_DAYS = 30
const MIN_INTERVAL = 5 * SECOND

// Refreshes run in daemon fibers of the layer's scope, which `TestClock.adjust` does not wait for.
const yieldMany = Effect.forEach(Array.from({ length: 50 }), () => Effect.yieldNow(), { discard: true })
const macrotask = Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, 0)))
const settle = Effect.zipRight(Effect.zipRight(yieldMany, macrotask), yieldMany)

const gc = (() => {
  V8.setFlagsFromString("--expose-gc")
  return Vm.runInNewContext("gc") as () => void
})()
const heapUsed = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe("lifetime", () => {
  it.effect(
    "30 simulated days: throttled refreshes, no sleep over a day, stable memory, clean APP_TOKEN_EXPIRED",
    () => {
      const capture = Capture.make()
      return Effect.gen(function*() {
        const started = performance.now()
        const start = yield* Clock.currentTimeMillis
        const tokenExpiry = start + TOKEN_DAYS * DAY
        let counter = 0
        const sessionRequests: Array<number> = []
        const realExpiry = new Map<string, number>()
        // the simulated server: 1-day sessions, capped by the App Token's expiry, then APP_TOKEN_EXPIRED
        const server = Memory.client((request) =>
          Effect.map(Clock.currentTimeMillis, (now): Memory.MemoryReply => {
            const date = { date: new Date(now).toUTCString() }
            const nowSeconds = Math.floor(now / 1000)
            const ks = `djJ8MTIzNDV8${String(++counter).padStart(40, "A")}`
            if (request.route === "session/startWidgetSession") {
              return Memory.jsonReply({ partnerId: 12345, ks, userId: 0 }, date)
            }
            sessionRequests.push(now)
            const remaining = Math.floor(tokenExpiry / 1000) - nowSeconds
            if (remaining < 0) {
              return Memory.jsonReply({
                code: "APP_TOKEN_EXPIRED",
                message: "Application token id \"0_abcd1234\" expired",
                objectType: "KalturaAPIException",
                args: { ID: "0_abcd1234" }
              }, date)
            }
            const expiry = nowSeconds + Math.min(86400, remaining)
            realExpiry.set(ks, expiry * 1000)
            return Memory.jsonReply({
              ks,
              sessionType: 0,
              partnerId: "12345",
              userId: "",
              expiry,
              privileges: "sessionid:0_abcd1234,apptoken:0_abcd1234",
              objectType: "KalturaSessionInfo"
            }, date)
          })
        )
        const context = yield* Layer.build(Memory.stack({
          serviceUrl: "https://kaltura.invalid",
          partnerId: 12345,
          appTokenId: "0_abcd1234",
          token: Redacted.make("a1b2c3d4e5f60718293a4b5c6d7e8f90")
        }, server))
        const session = Context.get(context, AppTokenSession.AppTokenSession)

        const outcomes = tally()
        let longestSleep = 0
        let expiredServed = 0
        let heapDay2 = 0
        let heapDay29 = 0
        let steps = 0
        const check = Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          for (const wake of Chunk.toReadonlyArray(yield* TestClock.sleeps())) {
            longestSleep = Math.max(longestSleep, wake - now)
          }
          // a caller inside the hard margin may wait for a flight that the throttle delays on the TestClock: look
          // once the daemon fibers have run, and let go of a caller still waiting (the flight goes on without it)
          const caller = yield* Effect.fork(session.get)
          yield* settle
          const polled = yield* caller.poll
          if (polled._tag === "None") {
            yield* Fiber.interrupt(caller)
            outcomes.add("waiting for a throttled flight")
            return
          }
          const exit = polled.value
          const outcome = classify(exit)
          outcomes.add(outcome._tag === "Failure" ? outcome.tag : outcome._tag)
          if (exit._tag === "Success") {
            const real = realExpiry.get(Redacted.value(exit.value.ks)) ?? 0
            if (!(exit.value.expiresAt > now) || !(real > now)) {
              expiredServed++
            }
          }
        })
        yield* session.get
        let now = start
        while (now < tokenExpiry + 2 * MINUTE) {
          const left = tokenExpiry - now
          const step = left > DAY ? HOUR : left > HOUR ? 5 * MINUTE : SECOND * 5
          yield* TestClock.adjust(step)
          yield* settle
          steps++
          now = yield* Clock.currentTimeMillis
          yield* check
          if (heapDay2 === 0 && now - start >= 2 * DAY) heapDay2 = heapUsed()
          if (heapDay29 === 0 && now - start >= 29 * DAY) heapDay29 = heapUsed()
        }
        // past the token's expiry and any cooldown: a clean, typed APP_TOKEN_EXPIRED
        yield* TestClock.adjust(2 * MINUTE)
        yield* settle
        const lastCaller = yield* Effect.fork(Effect.flip(session.get).pipe(Effect.either))
        yield* TestClock.adjust(10 * SECOND)
        yield* settle
        const last = yield* Fiber.join(lastCaller)
        const lastError = last._tag === "Right" ? last.right : undefined
        const cleanExpired = lastError instanceof KalturaError.KalturaApiError && lastError.code === "APP_TOKEN_EXPIRED"
        const status = yield* session.status

        const gaps = sessionRequests.slice(1).map((at, i) => at - sessionRequests[i]!)
        const minGap = gaps.length === 0 ? Infinity : Math.min(...gaps)
        const refreshes = sessionRequests.length
        // a proactive refresh at 75-85% of a lifetime of at most a day, plus the final day's shrinking lifetimes,
        // each refresh at least MIN_INTERVAL after the previous one
        const bound = Math.ceil(TOKEN_DAYS / 0.75) + 30
        const heapGrowthMb = (heapDay29 - heapDay2) / 2 ** 20
        const failures = Object.fromEntries(Object.entries(outcomes.counts).filter(([k]) => k !== "Success"))
        Results.record({
          id: "6a-lifetime",
          part: 6,
          title: "30 simulated days under TestClock",
          description:
            "An in-memory server grants 1-day sessions capped by the App Token's expiry at day 30 (so lifetimes shrink " +
            "through the last day), then answers APP_TOKEN_EXPIRED. The default lifecycle (refresh at 75-85%, hard " +
            "margin min(60 s, 10%), 5 s minimum interval, 60 s cooldown) runs under TestClock, advanced by the hour, " +
            "then by 5 minutes through the last day and by 5 s through the last hour, with `get` and " +
            "`TestClock.sleeps()` checked after every step. Heap measured after a forced GC on day 2 and day 29.",
          figures: {
            "simulated days": TOKEN_DAYS,
            "clock steps": steps,
            "appToken.startSession requests": refreshes,
            "bound (30 days / 0.75 + 30)": bound,
            "shortest gap between two requests, s": minGap / 1000,
            "gaps shorter than the 5 s minimum interval": gaps.filter((gap) => gap < MIN_INTERVAL).length,
            "longest pending sleep, h": longestSleep / HOUR,
            "sleeps longer than a day": longestSleep > DAY ? 1 : 0,
            "gets (one per step) that returned a KS": outcomes.counts.Success ?? 0,
            "gets that failed, by tag": failures,
            "expired KS served": expiredServed,
            "defects": outcomes.counts.Defect ?? 0,
            "heap day 2 → day 29 (after GC), MB": `${(heapDay2 / 2 ** 20).toFixed(1)} → ${
              (heapDay29 / 2 ** 20).toFixed(1)
            }`,
            "heap growth over 27 days, MB": Number(heapGrowthMb.toFixed(2)),
            "final error": lastError === undefined
              ? "none"
              : `${lastError._tag} ${"code" in lastError ? lastError.code : ""}`,
            "final status": status,
            "log lines captured": capture.logs.length
          },
          mustBeZero: [
            "gaps shorter than the 5 s minimum interval",
            "sleeps longer than a day",
            "expired KS served",
            "defects"
          ],
          durationMillis: performance.now() - started
        })
        assert.isAtMost(refreshes, bound)
        assert.isAtLeast(refreshes, TOKEN_DAYS) // it did keep refreshing
        assert.isAtLeast(minGap, MIN_INTERVAL)
        assert.isAtMost(longestSleep, DAY)
        assert.strictEqual(expiredServed, 0)
        assert.strictEqual(outcomes.counts.Defect ?? 0, 0)
        assert.isTrue(cleanExpired)
        assert.strictEqual(status, "Failed")
        assert.isBelow(heapGrowthMb, 16)
      }).pipe(Effect.scoped, Effect.provide(capture.layer))
    },
    120_000
  )

  it.live("after the layer is released the process exits by itself, at once", () =>
    Effect.gen(function*() {
      const started = performance.now()
      const outfile = yield* bundleFixture(
        "scope-exit",
        Path.join(Os.tmpdir(), `kaltura-scope-exit-${process.pid}.mjs`)
      )
      const run = (args: ReadonlyArray<string>) =>
        Effect.async<{ readonly code: number | null; readonly releasedToExit: number; readonly output: string }>(
          (resume) => {
            const child = ChildProcess.spawn(process.execPath, [outfile, ...args], {
              stdio: ["ignore", "pipe", "pipe"]
            })
            let output = ""
            let releasedAt = 0
            const killer = setTimeout(() => child.kill("SIGKILL"), 10_000)
            child.stdout.on("data", (chunk: Buffer) => {
              output += chunk.toString("utf8")
              if (releasedAt === 0 && output.includes("released")) releasedAt = performance.now()
            })
            child.stderr.on("data", (chunk: Buffer) => {
              output += chunk.toString("utf8")
            })
            child.on("exit", (code) => {
              clearTimeout(killer)
              resume(Effect.succeed({
                code,
                releasedToExit: releasedAt === 0 ? Infinity : performance.now() - releasedAt,
                output
              }))
            })
            return Effect.sync(() => child.kill("SIGKILL"))
          }
        )
      const clean = yield* run([])
      const leaky = yield* run(["--leak"]) // the control: a timer left behind keeps the process alive
      Results.record({
        id: "6b-scope-close",
        part: 6,
        title: "A released layer lets the process exit",
        description:
          "A child process builds `NodeAppToken.layer` against a fake server of its own, gets a KS and makes a call " +
          "(pooled connections, a refresh scheduled hours ahead), releases the layer and the server, and prints " +
          "`released`; it must then exit by itself within 3 s. The control run leaves a 60 s timer behind and must " +
          "still be alive after 3 s (killed after 10 s), which shows that the check can fail.",
        figures: {
          "child output": clean.output.split("\n").filter((line) => line.startsWith("released")).join(" "),
          "exit code": clean.code ?? -1,
          "released → exit, ms": Number(clean.releasedToExit.toFixed(0)),
          "control (timer left behind) released → exit, ms": Number.isFinite(leaky.releasedToExit)
            ? Number(leaky.releasedToExit.toFixed(0))
            : "never",
          "children that did not exit within 3 s": clean.releasedToExit <= 3_000 ? 0 : 1
        },
        mustBeZero: ["children that did not exit within 3 s"],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(clean.code, 0, clean.output)
      assert.include(clean.output, "released with a KS")
      assert.isAtMost(clean.releasedToExit, 3_000)
      assert.isAbove(leaky.releasedToExit, 3_000)
    }), 60_000)
})
