// The library's App Token flow against the fake server over real loopback HTTP (live time, short timeouts).
import { assert, describe, it } from "@effect/vitest"
import type { KalturaConfig, KalturaError } from "@kaltura-effect/core"
import { AppTokenSession, KalturaClient } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Clock, type Duration, Effect, Logger, LogLevel, Redacted, Schedule, Schema } from "effect"

type HashType = KalturaConfig.HashType

/**
 * Fast retries, so that fault tests take milliseconds. The per-attempt timeout stays generous: on a loaded
 * CI machine a short one would add transport retries that the request counts below would see.
 */
const tuning: NodeAppToken.Tuning = {
  api: {
    timeout: "3 seconds",
    retrySchedule: Schedule.intersect(Schedule.exponential("5 millis"), Schedule.recurs(4))
  },
  session: { minRefreshInterval: "10 millis", failureCooldown: "10 millis" }
}

const withFake = <A, E>(effect: Effect.Effect<A, E, FakeKaltura.FakeKaltura>) =>
  effect.pipe(Effect.provide(FakeKaltura.layer({ liveClock: true })), Logger.withMinimumLogLevel(LogLevel.Error))

/** Runs `program` against the fake with the whole Node stack configured for `token`. */
const withLibrary = <A, E>(
  fake: FakeKaltura.Service,
  options: Partial<Omit<KalturaConfig.Options, "token">> & { readonly appTokenId: string; readonly token: string },
  program: Effect.Effect<A, E, NodeAppToken.Services>,
  timeout: Duration.DurationInput = tuning.api!.timeout!
) =>
  Effect.provide(
    program,
    NodeAppToken.layer({
      serviceUrl: fake.url,
      partnerId: fake.partnerId,
      ...options,
      token: Redacted.make(options.token)
    }, { ...tuning, api: { ...tuning.api, timeout } })
  )

/** How many HTTP requests reached the fake for `service.action`, faulted ones included. */
const requestsTo = (fake: FakeKaltura.Service, serviceAction: string) =>
  Effect.map(
    fake.requests,
    (log) => log.filter((entry) => `${entry.service}.${entry.action}` === serviceAction.toLowerCase()).length
  )

/** Seeds a SHA256 token and runs `body` with the library configured for it. */
const withSeededToken = <A, E>(body: (fake: FakeKaltura.Service) => Effect.Effect<A, E, NodeAppToken.Services>) =>
  withFake(Effect.gen(function*() {
    const fake = yield* FakeKaltura.FakeKaltura
    const token = yield* fake.seedAppToken({ hashType: "SHA256" })
    return yield* withLibrary(fake, { appTokenId: token.id, token: token.token }, body(fake))
  }))

const getSession = Effect.flatMap(AppTokenSession.AppTokenSession, (session) => session.get)

const EntryList = Schema.Struct({
  totalCount: Schema.Number,
  objects: Schema.Array(Schema.Struct({ id: Schema.String }))
})

describe("core flow against the fake Kaltura server", () => {
  for (const hashType of ["MD5", "SHA1", "SHA256", "SHA512"] as const satisfies ReadonlyArray<HashType>) {
    it.live(`obtains a privileged session with a ${hashType} token, in two round trips`, () =>
      withFake(Effect.gen(function*() {
        const fake = yield* FakeKaltura.FakeKaltura
        const token = yield* fake.seedAppToken({ hashType, sessionDuration: 3600 })
        const session = yield* withLibrary(fake, { appTokenId: token.id, token: token.token, hashType }, getSession)
        assert.strictEqual(session.partnerId, fake.partnerId)
        assert.strictEqual(session.privileges, `sessionid:${token.id},apptoken:${token.id}`)
        const decoded = yield* fake.decodeKs(Redacted.value(session.ks))
        assert.strictEqual(decoded._tag, "Some")
        assert.strictEqual(yield* requestsTo(fake, "session.startWidgetSession"), 1)
        assert.strictEqual(yield* requestsTo(fake, "appToken.startSession"), 1)
      })))
  }

  it.live("the token's settings win: ADMIN type, its user and its privileges, read back from the response", () =>
    withFake(Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const token = yield* fake.seedAppToken({
        hashType: "SHA256",
        sessionType: 2,
        sessionUserId: "ops@example.com",
        sessionPrivileges: "edit:1_a,edit:1_b"
      })
      const session = yield* withLibrary(
        fake,
        { appTokenId: token.id, token: token.token, userId: "someone-else", sessionType: "USER", expiry: 600 },
        getSession
      )
      assert.strictEqual(session.sessionType, 2)
      assert.strictEqual(session.userId, "ops@example.com")
      assert.strictEqual(session.privileges, `sessionid:${token.id},apptoken:${token.id},edit:1_a/1_b`)
      const remaining = session.expiresAt - (yield* Clock.currentTimeMillis)
      assert.isAbove(remaining, 590_000)
      assert.isAtMost(remaining, 600_000)
    })))

  const permanent: ReadonlyArray<{
    readonly name: string
    readonly code: string
    readonly arrange: (fake: FakeKaltura.Service, tokenId: string) => Effect.Effect<unknown>
    readonly options?: Partial<Omit<KalturaConfig.Options, "token">>
  }> = [
    {
      name: "a wrong hash type",
      code: "INVALID_APP_TOKEN_HASH",
      arrange: () => Effect.void,
      options: { hashType: "SHA1" }
    },
    {
      name: "an unknown token id",
      code: "APP_TOKEN_ID_NOT_FOUND",
      arrange: () => Effect.void,
      options: { appTokenId: "0_zzzzzzzz" }
    },
    { name: "a disabled token", code: "APP_TOKEN_NOT_ACTIVE", arrange: (fake, id) => fake.disableAppToken(id) },
    { name: "an expired token", code: "APP_TOKEN_EXPIRED", arrange: (fake, id) => fake.expireAppToken(id) },
    { name: "a deleted token", code: "APP_TOKEN_ID_NOT_FOUND", arrange: (fake, id) => fake.deleteAppToken(id) },
    { name: "an unknown widget", code: "INVALID_WIDGET_ID", arrange: () => Effect.void, options: { widgetId: "_999" } }
  ]
  for (const { arrange, code, name, options } of permanent) {
    it.live(`${name} fails at once with ${code}, one attempt, and says what to check`, () =>
      withFake(Effect.gen(function*() {
        const fake = yield* FakeKaltura.FakeKaltura
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        yield* arrange(fake, token.id)
        const error = yield* withLibrary(
          fake,
          { appTokenId: token.id, token: token.token, hashType: "SHA256", ...options },
          Effect.flip(getSession)
        )
        assert.strictEqual(error._tag, "KalturaApiError")
        const apiError = error as KalturaError.KalturaApiError
        assert.strictEqual(apiError.code, code)
        assert.strictEqual(apiError.attempts, 1)
        assert.notInclude(error.message, token.token)
        const calls = (yield* requestsTo(fake, "session.startWidgetSession")) +
          (yield* requestsTo(fake, "appToken.startSession"))
        assert.strictEqual(calls, code === "INVALID_WIDGET_ID" ? 1 : 2)
        if (code === "INVALID_APP_TOKEN_HASH") assert.include(error.message, "SHA1")
      })))
  }

  const transient = [
    ["HTTP 503", FakeKalturaFault.serviceUnavailable],
    ["HTTP 502 with an HTML body", FakeKalturaFault.badGateway],
    ["a reset connection", FakeKalturaFault.connectionReset],
    ["truncated JSON", FakeKalturaFault.truncatedJson],
    ["a delay past the per-attempt timeout (300 ms here)", FakeKalturaFault.delay("2 seconds")]
  ] as const
  for (const [name, fault] of transient) {
    it.live(`${name} on startSession is retried, then succeeds`, () =>
      withFake(Effect.gen(function*() {
        const fake = yield* FakeKaltura.FakeKaltura
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        yield* fake.injectFault("appToken.startSession", fault, { times: 2 })
        const started = yield* Clock.currentTimeMillis
        const session = yield* withLibrary(
          fake,
          { appTokenId: token.id, token: token.token },
          getSession,
          fault._tag === "Delay" ? "300 millis" : undefined
        )
        const elapsed = (yield* Clock.currentTimeMillis) - started
        assert.strictEqual(session.generation, 1)
        assert.strictEqual(yield* requestsTo(fake, "session.startWidgetSession"), 1)
        if (fault._tag === "Delay") {
          // two attempts timed out after 300 ms each (the fake logs them only when it answers, 2 s later)
          assert.isAtLeast(elapsed, 600)
          assert.isBelow(elapsed, 2000)
        } else {
          assert.strictEqual(yield* requestsTo(fake, "appToken.startSession"), 3)
        }
      })))
  }

  it.live("a fault that outlasts the retries is a typed error with the attempt count", () =>
    withFake(Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const token = yield* fake.seedAppToken({ hashType: "SHA256" })
      yield* fake.injectFault("session.startWidgetSession", FakeKalturaFault.serviceUnavailable, { times: 10 })
      const error = yield* withLibrary(fake, { appTokenId: token.id, token: token.token }, Effect.flip(getSession))
      assert.strictEqual(error._tag, "KalturaHttpError")
      assert.strictEqual((error as KalturaError.KalturaHttpError).status, 503)
      assert.strictEqual((error as KalturaError.KalturaHttpError).attempts, 5)
      assert.strictEqual(yield* requestsTo(fake, "session.startWidgetSession"), 5)
    })))

  it.live("an outage refuses connections: a typed transport error, then recovery when the server is back", () =>
    withSeededToken((fake) =>
      Effect.gen(function*() {
        const session = yield* AppTokenSession.AppTokenSession
        yield* fake.outage()
        const error = yield* Effect.flip(session.get)
        assert.strictEqual(error._tag, "KalturaTransportError")
        assert.include(error.message, "ECONNREFUSED")
        yield* fake.restore
        yield* Effect.sleep("20 millis") // past the failure cooldown
        const recovered = yield* session.get
        assert.strictEqual(recovered.generation, 1)
      })
    ))

  it.live("a refresh reuses the widget KS: one round trip", () =>
    withSeededToken((fake) =>
      Effect.gen(function*() {
        const session = yield* AppTokenSession.AppTokenSession
        yield* session.get
        yield* Effect.sleep("20 millis")
        const renewed = yield* session.refresh
        assert.strictEqual(renewed.generation, 2)
        assert.strictEqual(yield* requestsTo(fake, "session.startWidgetSession"), 1)
        assert.strictEqual(yield* requestsTo(fake, "appToken.startSession"), 2)
      })
    ))

  it.live("KalturaClient calls with the App Token KS; an expired KS gives one refresh and one retry", () =>
    withSeededToken((fake) =>
      Effect.gen(function*() {
        const client = yield* KalturaClient.KalturaClient
        const first = yield* client.call("baseEntry", "list", {}, EntryList)
        assert.isAbove(first.totalCount, 0)
        yield* fake.injectFault("baseEntry.list", FakeKalturaFault.ksExpired, { times: 1 })
        yield* Effect.sleep("20 millis")
        const second = yield* client.call("baseEntry", "list", {}, EntryList)
        assert.strictEqual(second.totalCount, first.totalCount)
        assert.strictEqual(yield* requestsTo(fake, "appToken.startSession"), 2)
        assert.strictEqual(yield* requestsTo(fake, "baseEntry.list"), 3)
        assert.strictEqual(yield* requestsTo(fake, "session.startWidgetSession"), 1)
      })
    ))

  it.live("a revoked KS (LOGOUT) on 100 concurrent calls causes one refresh", () =>
    withSeededToken((fake) =>
      Effect.gen(function*() {
        const client = yield* KalturaClient.KalturaClient
        const session = yield* AppTokenSession.AppTokenSession
        const current = yield* session.get
        yield* Effect.sleep("20 millis")
        yield* fake.revokeKs(Redacted.value(current.ks))
        const results = yield* Effect.all(
          Array.from({ length: 100 }, () => client.call("baseEntry", "list", {}, EntryList)),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(results.length, 100)
        // one refresh: the session obtained after the revocation is the second one
        assert.strictEqual((yield* session.get).generation, 2)
        assert.strictEqual(yield* requestsTo(fake, "appToken.startSession"), 2)
      })
    ))

  it.live("a server clock 5 minutes ahead does not shorten or lengthen the local deadline", () =>
    withFake(Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })
      yield* fake.setClockOffset(5 * 60 * 1000)
      const session = yield* withLibrary(fake, { appTokenId: token.id, token: token.token }, getSession)
      const remaining = session.expiresAt - (yield* Clock.currentTimeMillis)
      assert.isAbove(remaining, 3590_000)
      assert.isAtMost(remaining, 3600_000)
    })))

  it.live("a Date header 30 minutes off (beyond the 10-minute bound) is ignored: the requested expiry caps the lifetime", () =>
    withFake(Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 7200 })
      yield* fake.setClockOffset(30 * 60 * 1000)
      const session = yield* withLibrary(fake, { appTokenId: token.id, token: token.token, expiry: 3600 }, getSession)
      const remaining = session.expiresAt - (yield* Clock.currentTimeMillis)
      assert.isAbove(remaining, 3590_000)
      assert.isAtMost(remaining, 3600_000)
    })))

  it.live("nothing secret in a URL, the token never on the wire, and no session.end on release", () =>
    withFake(Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      const token = yield* fake.seedAppToken({ hashType: "SHA256" })
      yield* withLibrary(
        fake,
        { appTokenId: token.id, token: token.token },
        Effect.gen(function*() {
          const client = yield* KalturaClient.KalturaClient
          yield* client.call("baseEntry", "list", {}, EntryList)
        })
      )
      const log = yield* fake.requests
      assert.isAbove(log.length, 2)
      for (const entry of log) {
        assert.notInclude(entry.body, token.token)
        assert.notInclude(entry.url, token.token)
        assert.notInclude(entry.url, "ks")
        assert.notInclude(entry.url, "tokenHash")
        assert.strictEqual(entry.headers["content-type"], "application/json")
        assert.notStrictEqual(entry.action?.toLowerCase(), "end")
      }
      const widgetCall = log.find((entry) => entry.action?.toLowerCase() === "startwidgetsession")
      assert.isDefined(widgetCall)
      assert.isUndefined(widgetCall!.params.ks)
    })))
})
