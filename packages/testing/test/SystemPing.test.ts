/**
 * `system.ping` as kaltura/server runs it (api_v3/services/SystemService.php: `pingAction` returns `true`;
 * `partnerRequired` is false for `ping`): no KS and no partner needed, and the response carries the `Date` header
 * the doctor measures clock skew with.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { FakeKaltura } from "../src/index.js"
import { call, expectInvalidKs } from "./utils.js"

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

describe("system.ping", () => {
  it.live("answers true with no KS and no partner, with a Date header, and is counted", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const exchange = yield* call(fake.url, "system", "ping")
        assert.strictEqual(exchange.status, 200)
        assert.strictEqual(exchange.json, true, exchange.text)
        assert.isNotNull(exchange.headers.get("date"))
        assert.strictEqual(yield* fake.callCount("system.ping"), 1)
      })
    ))

  it.live("a KS sent with it is still checked by the dispatcher", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const expired = yield* fake.mintKs({ type: 2, expiry: 0 })
        expectInvalidKs(yield* call(fake.url, "system", "ping", { ks: expired }), "EXPIRED")
      })
    ))
})
