import { AppTokenSession, KalturaClient } from "@kaltura-effect/core"
import { AppTokenLive } from "@kaltura-effect/node"
import { Effect, Schema } from "effect"

const EntryList = Schema.Struct({
  totalCount: Schema.Number,
  objects: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String }))
})

const program = Effect.gen(function*() {
  // A valid privileged session: obtained once, refreshed in the background before it expires.
  const session = yield* AppTokenSession.AppTokenSession
  const info = yield* session.get // { ks: Redacted, partnerId, userId, sessionType, privileges, expiry, expiresAt, generation }
  yield* Effect.log(`session ${info.generation} for partner ${info.partnerId}`)

  // Any other API call, with the current KS; an expired or revoked KS is refreshed and the call retried once.
  const client = yield* KalturaClient.KalturaClient
  const entries = yield* client.call("baseEntry", "list", { pager: { pageSize: 5 } }, EntryList)
  return entries.objects.map((entry) => entry.name)
})

// Configured from the KALTURA_* environment variables; build the layer once per program.
export const main = program.pipe(Effect.provide(AppTokenLive))
