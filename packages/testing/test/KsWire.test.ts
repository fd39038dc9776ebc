import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Either } from "effect"
import { FakeKaltura, Ks } from "../src/index.js"
import { call, expectApiError, expectInvalidKs, startSession, widgetKs } from "./utils.js"
import { isParsed, vectors, vectorsNow } from "./vectors.js"

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

describe("KS strings as sent, read over HTTP as Kaltura's own code reads them", () => {
  for (const vector of vectors.parse.filter((vector) => vector.adminSecrets !== null)) {
    it.live(
      vector.name,
      () =>
        withFakeAt(vectorsNow, { adminSecrets: vector.adminSecrets! }, (fake) =>
          Effect.gen(function*() {
            const response = yield* call(fake.url, "session", "get", { ks: vector.ks })
            if (isParsed(vector.decoded)) {
              assert.strictEqual(response.json.objectType, "KalturaSessionInfo", response.text)
              assert.strictEqual(response.json.partnerId, vector.decoded.partnerId)
              assert.strictEqual(response.json.expiry, vector.decoded.validUntil)
              assert.strictEqual(response.json.privileges, vector.decoded.privileges ?? "")
              if (vector.decoded.userId !== null) assert.strictEqual(response.json.userId, vector.decoded.userId)
            } else if (vector.decoded === null) {
              // "" and "0" are no KS at all: session.get needs one
              assert.strictEqual(response.json.code, "SERVICE_FORBIDDEN", response.text)
            } else {
              expectInvalidKs(response, vector.ks)
            }
          }))
    )
  }

  it.live("a widget KS with its trailing newline starts an app-token session; the hash covers the newline", () =>
    withFakeAt(vectorsNow, {}, (fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        const ks = `${yield* widgetKs(fake.url, fake.partnerId)}\n`
        const start = (tokenHash: string) => call(fake.url, "apptoken", "startSession", { ks, id: token.id, tokenHash })
        const hashOf = vectors.appTokenHash.find((vector) => vector.hashType === "SHA256" && vector.ks.endsWith("\n"))!
        assert.strictEqual(Ks.appTokenHash("SHA256", hashOf.ks, hashOf.token), hashOf.hash)
        const withoutNewline = yield* start(Ks.appTokenHash("SHA256", ks.trimEnd(), token.token))
        expectApiError(withoutNewline, "INVALID_APP_TOKEN_HASH", "Invalid application token hash", [])
        const started = yield* start(Ks.appTokenHash("SHA256", ks, token.token))
        assert.strictEqual(started.json.objectType, "KalturaSessionInfo", started.text)
      })))

  it.live("a revoked KS is revoked in every spelling: whitespace, alphabet", () =>
    withFakeAt(vectorsNow, {}, (fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken()
        const ks: string = (yield* startSession(fake.url, token)).json.ks
        assert.strictEqual((yield* call(fake.url, "session", "end", { ks: `${ks}\r\n` })).text, "null")
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks }), "LOGOUT")
        const respelled = ` ${ks.replace(/-/g, "+").replace(/_/g, "/")}`
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: respelled }), "LOGOUT")
      })))
})

describe("appToken.startSession over HTTP, against Kaltura's own code", () => {
  for (const vector of vectors.appTokenStartSession) {
    it.live(
      vector.name,
      () =>
        withFakeAt(vector.now, { adminSecret: vector.adminSecret, ksVersion: 2 }, (fake) =>
          Effect.gen(function*() {
            const token = yield* fake.seedAppToken({
              id: vector.token.id,
              sessionDuration: vector.token.sessionDuration,
              sessionPrivileges: vector.token.sessionPrivileges ?? undefined,
              sessionType: vector.token.sessionType ?? undefined,
              sessionUserId: vector.token.sessionUserId ?? undefined
            })
            const params: Record<string, unknown> = {}
            for (const [name, value] of Object.entries(vector.request)) {
              if (value !== null) params[name] = value
            }
            const response = (yield* startSession(fake.url, token, params)).json
            assert.strictEqual(response.privileges, vector.response.privileges)
            assert.strictEqual(response.userId, vector.response.userId)
            assert.strictEqual(response.sessionType, vector.response.sessionType)
            assert.strictEqual(response.expiry, vector.response.expiry)
            if (vector.response.privileges.includes("downloadasset")) {
              assert.strictEqual(response.ks, vector.response.ks)
            }
            const decoded = Ks.decode(response.ks, () => [vector.adminSecret])
            if (isParsed(vector.decoded)) {
              const data = Either.getOrThrow(decoded)
              assert.strictEqual(data.privileges, vector.decoded.privileges)
              assert.strictEqual(data.validUntil, Number(vector.decoded.validUntil))
              assert.strictEqual(data.userId, vector.decoded.userId)
            } else {
              assert.isTrue(Either.isLeft(decoded))
              expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: response.ks }), response.ks)
            }
          }))
    )
  }
})

describe("the ks parameter", () => {
  it.live("\"0\" is no KS at all (PHP's !$ksString), not an invalid one", () =>
    withFakeAt(vectorsNow, {}, (fake) =>
      Effect.gen(function*() {
        expectApiError(
          yield* call(fake.url, "baseEntry", "list", { ks: "0" }),
          "SERVICE_FORBIDDEN",
          "The access to service [baseentry->list] is forbidden",
          { SERVICE: "baseentry->list" }
        )
        expectInvalidKs(yield* call(fake.url, "baseEntry", "list", { ks: "00" }), "00")
      })))
})
