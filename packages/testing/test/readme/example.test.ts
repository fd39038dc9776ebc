import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Effect, Redacted } from "effect"

describe("my client", () => {
  // Real HTTP: live time.
  it.live("starts an app-token session through two faults", () =>
    Effect.gen(function*() {
      const fake = yield* FakeKaltura.FakeKaltura
      // partner 12345 (admin secret FakeKaltura.defaultAdminSecret) is always there
      const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })

      // script faults: the first startSession gets a 503, the next one a reset connection
      yield* fake.injectFault("appToken.startSession", FakeKalturaFault.serviceUnavailable)
      yield* fake.injectFault("appToken.startSession", FakeKalturaFault.connectionReset)

      // run the client under test against fake.url with token.id / token.token (here: this library)
      const session = yield* Effect.flatMap(AppTokenSession.AppTokenSession, (session) => session.get).pipe(
        Effect.provide(NodeAppToken.layer({
          serviceUrl: fake.url,
          partnerId: fake.partnerId,
          appTokenId: token.id,
          token: Redacted.make(token.token),
          hashType: token.hashType
        }))
      )
      assert.strictEqual(session.partnerId, fake.partnerId)

      // assert what crossed the wire: three requests reached the server, the third was handled
      const log = yield* fake.requests
      const startSessions = log.filter((entry) => entry.action === "startsession")
      assert.deepStrictEqual(startSessions.map((entry) => entry.fault ?? "handled"), [
        "ServiceUnavailable",
        "ConnectionReset",
        "handled"
      ])
      assert.strictEqual(yield* fake.callCount("appToken.startSession"), 1)
      assert.isFalse(log.some((entry) => entry.body.includes(token.token)))
    }).pipe(Effect.provide(FakeKaltura.layerWithHttpClient())))
})
