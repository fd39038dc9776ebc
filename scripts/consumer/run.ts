// A consumer's program, run by scripts/consumer-smoke.mjs twice: compiled under nodenext as ESM (out/esm/run.js)
// and, copied to run.cts, under node16 as CommonJS (out/cjs/run.cjs). It starts the fake Kaltura server of the
// packed @kaltura-effect/testing, runs the README's usage example (example.ts, extracted from the README) with the
// KALTURA_* variables pointing at it, then obtains a KS with explicit options and checks it on the server.
import { AppTokenSession } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { FakeKaltura } from "@kaltura-effect/testing"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { main } from "./example.js"

const program = Effect.gen(function*() {
  const fake = yield* FakeKaltura.make()
  const token = yield* fake.seedAppToken({ hashType: "SHA256", sessionDuration: 3600 })
  process.env["KALTURA_SERVICE_URL"] = fake.url
  process.env["KALTURA_PARTNER_ID"] = String(fake.partnerId)
  process.env["KALTURA_APP_TOKEN_ID"] = token.id
  process.env["KALTURA_APP_TOKEN"] = token.token
  process.env["KALTURA_APP_TOKEN_HASH_TYPE"] = token.hashType

  // the README example: a session from the environment, then baseEntry.list with its KS
  const names = yield* main
  if (names.length === 0) return yield* Effect.dieMessage("the README example listed no entries")

  // a KS with explicit options, checked by the server that minted it
  const session = yield* Effect.flatMap(AppTokenSession.AppTokenSession, (sessions) => sessions.get).pipe(
    Effect.provide(NodeAppToken.layer({
      serviceUrl: fake.url,
      partnerId: fake.partnerId,
      appTokenId: token.id,
      token: Redacted.make(token.token),
      hashType: token.hashType
    }))
  )
  const decoded = yield* fake.decodeKs(Redacted.value(session.ks))
  if (Option.isNone(decoded) || decoded.value.partnerId !== fake.partnerId) {
    return yield* Effect.dieMessage("the fake server does not recognise the KS")
  }
  if (!decoded.value.privileges.includes(`apptoken:${token.id}`)) {
    return yield* Effect.dieMessage(`not an App Token KS: privileges ${decoded.value.privileges}`)
  }
  const startSessions = yield* fake.callCount("appToken.startSession")
  if (startSessions !== 2) {
    return yield* Effect.dieMessage(`expected 2 appToken.startSession calls, saw ${startSessions}`)
  }
  return { entries: names, partnerId: session.partnerId, privileges: decoded.value.privileges, startSessions }
}).pipe(Effect.scoped)

Effect.runPromise(program).then(
  (result) => console.log(`consumer program ok: ${JSON.stringify(result)}`),
  (error: unknown) => {
    console.error("consumer program failed:", error)
    process.exit(1)
  }
)
