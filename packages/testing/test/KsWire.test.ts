import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Either } from "effect"
import { FakeKaltura, Ks } from "../src/index.js"
import { call } from "./utils.js"
import { vectors } from "./vectors.js"

/** A fresh fake whose clock reads `now` (plus half a second, so a call does not straddle a tick). */
const withFakeAt = <A, E>(
  now: number,
  partner: Partial<FakeKaltura.PartnerOptions>,
  f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const fake = yield* FakeKaltura.FakeKaltura
    yield* fake.setClockOffset(now * 1000 + 500 - (yield* Clock.currentTimeMillis))
    return yield* f(fake)
  }).pipe(Effect.provide(FakeKaltura.layer({ partner })))

describe("session.start over HTTP, against Kaltura's own code", () => {
  for (const vector of vectors.sessionStart) {
    it.live(vector.name, () =>
      withFakeAt(
        vector.now,
        { adminSecrets: vector.adminSecrets, secret: vector.userSecret, ksVersion: 2 },
        (fake) =>
          Effect.gen(function*() {
            const response = yield* call(fake.url, "session", "start", {
              secret: vector.secret,
              partnerId: vector.partnerId,
              type: vector.type,
              userId: vector.userId,
              expiry: vector.expiry,
              privileges: vector.privileges
            })
            const ks: string = response.json
            if (vector.privileges.includes("downloadasset")) {
              // deterministic: byte for byte what PHP gave
              assert.strictEqual(ks, vector.ks)
            }
            const other = vector.adminSecrets.filter((secret) => secret !== vector.encryptedWith)
            assert.isTrue(Either.isRight(Ks.decode(ks, () => [vector.encryptedWith])), "encrypted with that secret")
            assert.isTrue(Either.isLeft(Ks.decode(ks, () => other)), "not with the other one")
          })
      ))
  }
})
