/**
 * The lifecycle's contracts through the driver and the public services: every wait ends with a session or a typed
 * error (never a hang, never an interrupt the caller did not receive), the status never says a valid KS is held
 * when none is, and the log lines say which session they are about, at the right level.
 */
import { HttpClient, HttpClientResponse } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { WidgetSession } from "@kaltura-effect/core"
import { AppTokenSessions, KalturaError, SessionStore, TokenHasher } from "@kaltura-effect/core"
import {
  Cause,
  Clock,
  Duration,
  Effect,
  Exit,
  Fiber,
  HashMap,
  Layer,
  Logger,
  LogLevel,
  Option,
  Redacted,
  Ref,
  Scope,
  Stream
} from "effect"
import type { Acquired } from "../src/internal/acquire.js"
import { advance, appTokenId, makeDriver, partnerId, settle } from "./utils/scripted.js"

const SECOND = 1000

const widget: WidgetSession.WidgetSessionInfo = {
  ks: Redacted.make("djJ8MTIzNDV8widgetwidgetwidget"),
  partnerId,
  widgetId: "_12345",
  expiry: 86400,
  obtainedAt: 0,
  validUntil: 86_400_000
}

/** A successful acquisition of a session living `lifetime` seconds, answered after `delay`. */
const granting = (lifetime: number, delay: Duration.DurationInput = 0) =>
  Effect.gen(function*() {
    const sentAt = yield* Clock.currentTimeMillis
    yield* Effect.sleep(delay)
    return {
      response: {
        result: {
          ks: `ks-${sentAt}`,
          sessionType: 0 as const,
          partnerId,
          userId: "",
          expiry: Math.floor(sentAt / 1000) + lifetime + 1, // the Date header's one-second resolution
          privileges: ""
        },
        sentAt,
        receivedAt: sentAt,
        serverDate: Option.some(sentAt)
      },
      widget
    } satisfies Acquired
  })

const unavailable = new KalturaError.KalturaHttpError({
  service: "apptoken",
  action: "startSession",
  status: 503,
  attempts: 5
})

const isSessionError = (reason: KalturaError.KalturaSessionError["reason"]) => (error: unknown) =>
  error instanceof KalturaError.KalturaSessionError && error.reason === reason

describe("every wait ends", () => {
  it.effect("a session whose scope closed fails with Closed: invalidate then get, refresh, getWith", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { service } = yield* makeDriver(() => granting(1000)).pipe(Scope.extend(scope))
      yield* service.get
      yield* Scope.close(scope, Exit.void)
      yield* service.invalidate
      const effects: ReadonlyArray<Effect.Effect<unknown, unknown>> = [
        service.get,
        service.ks,
        service.refresh,
        service.getWith({ minRemaining: "1 minute" })
      ]
      for (const effect of effects) {
        const error = yield* Effect.flip(effect)
        assert.isTrue(isSessionError("Closed")(error), String(error))
      }
      assert.strictEqual(yield* service.status, "Expired")
    }))

  it.effect("callers waiting for a flight when the scope closes get Closed, not an interrupt", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { service } = yield* makeDriver(() => granting(1000, "10 seconds")).pipe(Scope.extend(scope))
      const waiters = yield* Effect.forEach(Array.from({ length: 5 }), () => Effect.fork(service.get))
      yield* advance("1 second")
      yield* Scope.close(scope, Exit.void)
      for (const waiter of waiters) {
        const exit = yield* Fiber.await(waiter)
        assert.isTrue(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause))
        assert.isTrue(Exit.isFailure(exit) && isSessionError("Closed")(Cause.squash(exit.cause)))
      }
    }))

  it.scoped("an acquisition that dies gives a typed Defect error and status Failed, not Refreshing forever", () =>
    Effect.gen(function*() {
      let calls = 0
      const { service } = yield* makeDriver(() => {
        calls++
        return calls === 1 ? Effect.dieMessage("a bug in a custom layer") : granting(1000)
      })
      const error = yield* Effect.flip(service.get)
      assert.isTrue(isSessionError("Defect")(error))
      assert.notInclude(error.message, "a bug in a custom layer")
      assert.strictEqual(yield* service.status, "Failed")
      // a forced refresh is the way out, as after any permanent failure
      yield* advance("5 seconds")
      assert.strictEqual((yield* service.refresh).generation, 1)
      assert.strictEqual(yield* service.status, "Fresh")
    }))

  it.scoped("under TestClock, every caller is done once the clock has passed every deadline", () =>
    Effect.gen(function*() {
      let serverUp = true
      const { service } = yield* makeDriver(() => serverUp ? granting(60, "2 seconds") : Effect.fail(unavailable))
      const callers = yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) =>
        Effect.fork(
          Effect.zipRight(
            Effect.sleep(Duration.millis(i * 500)),
            i % 4 === 0
              ? service.refresh
              : i % 4 === 1
              ? service.getWith({ minRemaining: "30 seconds" })
              : i % 4 === 2
              ? Effect.zipRight(service.invalidate, service.get)
              : service.get
          )
        ))
      for (let t = 0; t < 120; t++) {
        if (t === 30) serverUp = false
        if (t === 60) serverUp = true
        yield* advance("1 second")
      }
      for (const caller of callers) {
        const exit = yield* Fiber.await(caller).pipe(Effect.timeout("1 millis"), Effect.option)
        assert.isTrue(Option.isSome(exit), "a caller is still waiting")
        if (Option.isSome(exit) && Exit.isFailure(exit.value)) {
          assert.isFalse(Cause.isInterruptedOnly(exit.value.cause))
          assert.strictEqual(Cause.defects(exit.value.cause).length, 0)
        }
      }
    }))
})

describe("the status never says a valid KS is held when none is", () => {
  it.scoped("a 2 s lifetime with the server gone: Expired at the deadline, published on time", () =>
    Effect.gen(function*() {
      let serverUp = true
      const { service } = yield* makeDriver(() => serverUp ? granting(2) : Effect.fail(unavailable), {
        minRefreshInterval: "100 millis",
        retryBase: "100 millis"
      })
      const published = yield* Ref.make<Array<readonly [number, string]>>([])
      yield* service.statusChanges.pipe(
        Stream.runForEach((status) =>
          Effect.flatMap(
            Clock.currentTimeMillis,
            (now) => Ref.update(published, (all) => [...all, [now, status] as const])
          )
        ),
        Effect.forkScoped
      )
      yield* settle
      yield* service.get
      serverUp = false
      for (const at of [2, 3, 4]) {
        yield* advance(at === 2 ? "2 seconds" : "1 second")
        assert.strictEqual(yield* service.status, "Expired", `at ${at} s`)
      }
      const expired = (yield* Ref.get(published)).filter(([, status]) => status === "Expired")
      // the initial Expired, then Expired exactly at the deadline (2 s), with no caller asking
      assert.deepStrictEqual(expired.map(([at]) => at), [0, 2000])
    }))

  it.scoped("invalidate during a refresh: Expired while callers wait", () =>
    Effect.gen(function*() {
      let calls = 0
      const { service } = yield* makeDriver(() => ++calls === 1 ? granting(1000) : granting(1000, "120 seconds"))
      yield* service.get
      yield* advance("860 seconds")
      assert.strictEqual(yield* service.status, "Refreshing")
      yield* service.invalidate
      assert.strictEqual(yield* service.status, "Expired")
      const waiting = yield* Effect.fork(service.get)
      yield* advance("10 seconds")
      assert.strictEqual(yield* service.status, "Expired")
      yield* advance("120 seconds")
      assert.strictEqual((yield* Fiber.join(waiting)).generation, 2)
      assert.strictEqual(yield* service.status, "Fresh")
    }))

  it.scoped("a refresh slower than the remaining lifetime: Refreshing until the deadline, then Expired", () =>
    Effect.gen(function*() {
      let calls = 0
      const { service } = yield* makeDriver(() => ++calls === 1 ? granting(100) : granting(1000, "60 seconds"))
      yield* service.get
      yield* advance("86 seconds")
      assert.strictEqual(yield* service.status, "Refreshing")
      yield* advance("14 seconds")
      assert.strictEqual(yield* service.status, "Expired")
      yield* advance("60 seconds")
      assert.strictEqual(yield* service.status, "Fresh")
    }))
})

describe("getWith", () => {
  it.scoped("inside the minimum interval, waits it out and refreshes instead of failing", () =>
    Effect.gen(function*() {
      let calls = 0
      const { service } = yield* makeDriver(() => ++calls === 1 ? granting(100) : granting(1000))
      yield* service.get
      yield* advance("61 seconds")
      // the first session has 39 s left; a refresh just happened elsewhere would throttle, but 5 s is all it costs
      yield* service.refresh
      const long = yield* Effect.fork(service.getWith({ minRemaining: "10 minutes" }))
      yield* advance("5 seconds")
      const session = yield* Fiber.join(long)
      assert.isAtLeast(session.expiresAt - (yield* Clock.currentTimeMillis), 600 * SECOND)
    }))
})

// ---------------------------------------------------------------------------------------------------------
// Keyed sessions under eviction pressure
// ---------------------------------------------------------------------------------------------------------

/** An in-memory Kaltura whose startSession takes `delay` (live time), minting `ks-<partnerId>-<n>`. */
const slowServer = (delay: Duration.DurationInput) => {
  let minted = 0
  return {
    minted: () => minted,
    client: HttpClient.make((request) =>
      Effect.gen(function*() {
        const body = JSON.parse(new TextDecoder().decode((request.body as { body: Uint8Array }).body))
        const respond = (json: unknown) =>
          HttpClientResponse.fromWeb(request, new Response(JSON.stringify(json), { status: 200 }))
        if (request.url.endsWith("/startWidgetSession")) {
          const partner = Number(String(body.widgetId).slice(1))
          return respond({ partnerId: partner, ks: `djJ8widget${partner}AAAAAAAA`, userId: 0 })
        }
        yield* Effect.sleep(delay)
        const partner = Number(/widget(\d+)/.exec(body.ks)![1])
        return respond({
          ks: `ks-${partner}-${++minted}-padding-padding`,
          sessionType: 0,
          partnerId: String(partner),
          userId: "",
          expiry: Math.floor(Date.now() / 1000) + 3600,
          privileges: ""
        })
      })
    )
  }
}

const tenant = (partner: number) => ({
  partnerId: partner,
  appTokenId,
  token: Redacted.make("a1b2c3d4e5f60718293a4b5c6d7e8f90")
})

const keyedSessions = (server: ReturnType<typeof slowServer>, options: AppTokenSessions.Options) =>
  AppTokenSessions.make(options).pipe(
    Effect.provide(
      Layer.mergeAll(Layer.succeed(HttpClient.HttpClient, server.client), TokenHasher.layer, SessionStore.layerNone)
    )
  )

describe("keyed sessions under eviction pressure", () => {
  it.live("capacity 1, two keys asked for at the same moment: both get their session", () =>
    Effect.gen(function*() {
      const server = slowServer("20 millis")
      const sessions = yield* keyedSessions(server, { capacity: 1 })
      const [a, b] = yield* Effect.all([sessions.get(tenant(1)), sessions.get(tenant(2))], {
        concurrency: "unbounded"
      }).pipe(Effect.timeout("30 seconds"))
      assert.isTrue(Redacted.value(a.ks).startsWith("ks-1-"))
      assert.isTrue(Redacted.value(b.ks).startsWith("ks-2-"))
    }).pipe(Effect.scoped))

  it.live("12 tenants over capacity 10, 240 gets at concurrency 12: every get succeeds, none hangs", () =>
    Effect.gen(function*() {
      const server = slowServer("5 millis")
      const sessions = yield* keyedSessions(server, { capacity: 10 })
      const exits = yield* Effect.forEach(
        Array.from({ length: 240 }, (_, i) => tenant(100 + (i % 12))),
        (key) => Effect.exit(sessions.get(key).pipe(Effect.timeout("30 seconds"))),
        { concurrency: 12 }
      )
      const failures = exits.filter(Exit.isFailure)
      assert.strictEqual(failures.length, 0, failures.map((exit) => Cause.pretty(exit.cause)).join("\n"))
      assert.isAtMost(yield* sessions.size, 10)
    }).pipe(Effect.scoped))

  it.live("a lifecycle handle kept after its key's eviction fails with Evicted; get creates the key again", () =>
    Effect.gen(function*() {
      const server = slowServer("1 millis")
      const sessions = yield* keyedSessions(server, {})
      const handle = yield* sessions.session(tenant(1))
      yield* handle.get
      yield* sessions.evict(tenant(1))
      for (const effect of [handle.get, handle.refresh, handle.getWith({ minRemaining: "1 minute" })]) {
        assert.isTrue(isSessionError("Evicted")(yield* Effect.flip(effect)))
      }
      const again = yield* sessions.get(tenant(1))
      assert.isTrue(Redacted.value(again.ks).startsWith("ks-1-"))
      assert.strictEqual(server.minted(), 2)
    }).pipe(Effect.scoped))

  it.live("after the keyed layer's scope closed, get fails with Closed", () =>
    Effect.gen(function*() {
      const server = slowServer("1 millis")
      const scope = yield* Scope.make()
      const sessions = yield* keyedSessions(server, {}).pipe(Scope.extend(scope))
      yield* sessions.get(tenant(1))
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(sessions.get(tenant(1)).pipe(Effect.timeout("30 seconds")))
      assert.isTrue(isSessionError("Closed")(error), String(error))
    }))
})

// ---------------------------------------------------------------------------------------------------------
// Logs
// ---------------------------------------------------------------------------------------------------------

interface Line {
  readonly level: LogLevel.LogLevel
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

const capture = (lines: Array<Line>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ annotations, logLevel, message }) => {
      lines.push({ level: logLevel, message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
    })
  )

describe("logs", () => {
  it.scoped("every lifecycle line names the partner and the App Token, with one message; routine lines at Debug", () =>
    Effect.gen(function*() {
      const lines: Array<Line> = []
      let calls = 0
      const { service } = yield* makeDriver(() => {
        calls++
        return calls === 2 ? Effect.fail(unavailable) : granting(1000)
      })
      yield* Effect.gen(function*() {
        yield* service.get
        yield* advance("860 seconds") // the refresh fails: a Warning
        yield* advance("60 seconds") // the retry succeeds
        yield* service.invalidateGeneration((yield* service.get).generation)
        yield* service.get
        yield* service.invalidate
      }).pipe(Effect.provide(capture(lines)), Logger.withMinimumLogLevel(LogLevel.All))
      assert.isAbove(lines.length, 5)
      for (const line of lines) {
        assert.strictEqual(line.annotations.partner_id, partnerId, String(line.message))
        assert.strictEqual(line.annotations.app_token_id, appTokenId, String(line.message))
        assert.notProperty(line.annotations, "message")
        assert.isTrue(LogLevel.lessThanEqual(line.level, LogLevel.Warning))
      }
      const warnings = lines.filter((line) => line.level === LogLevel.Warning)
      assert.strictEqual(warnings.length, 1)
      assert.include(String(warnings[0]!.message), "HTTP 503")
      const routine = lines.filter((line) => line.level !== LogLevel.Warning)
      assert.isTrue(routine.every((line) => line.level === LogLevel.Debug))
      const messages = routine.map((line) => String(line.message))
      for (const expected of ["obtained", "refreshed", "invalidated"]) {
        assert.isTrue(messages.some((message) => message.includes(expected)), expected)
      }
    }))

  it.scoped("with Effect's default minimum level (Info), a session that works logs nothing", () =>
    Effect.gen(function*() {
      const lines: Array<Line> = []
      const { service } = yield* makeDriver(() => granting(1000))
      yield* Effect.gen(function*() {
        yield* service.get
        yield* advance("900 seconds")
        yield* service.refresh
        yield* service.invalidate
        // within the minimum interval of the refresh: the next flight starts 5 s later
        const next = yield* Effect.fork(service.get)
        yield* advance("5 seconds")
        yield* Fiber.join(next)
      }).pipe(
        Effect.provide(capture(lines)),
        Logger.withMinimumLogLevel(LogLevel.Info),
        Effect.provide(Logger.minimumLogLevel(LogLevel.Info))
      )
      assert.deepStrictEqual(lines, [])
    }))
})
