// Type-checked by scripts/consumer-smoke.mjs in a fresh project, under every resolution mode (copied to probe.cts
// for node16 from CommonJS): our types must be real there. An import that a mode cannot resolve inside our
// declarations (node10 and the `@kaltura-effect/core/...` subpaths that node's types import) turns a type into
// `any` without a word when `skipLibCheck` is on, so each check fails if a type it names is `any`.
// (entrypoints.ts, written by the smoke test, imports every public subpath of every package.)
import type { AppTokenSession, KalturaClient, KalturaConfig, KalturaError, TokenHasher } from "@kaltura-effect/core"
import type { AppTokenLive, NodeAppToken, NodeTokenHasher } from "@kaltura-effect/node"
import type { FakeKaltura } from "@kaltura-effect/testing"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import * as Redacted from "effect/Redacted"

type NotAny<T> = 0 extends 1 & T ? false : true

export const options: KalturaConfig.Options = {
  partnerId: 12345,
  appTokenId: "0_ab12cd34",
  token: Redacted.make("0123456789abcdef0123456789abcdef"),
  hashType: "SHA256",
  sessionType: "ADMIN",
  userId: undefined
}

export const checks: [
  NotAny<typeof AppTokenLive>,
  NotAny<Layer.Layer.Success<typeof AppTokenLive>>,
  NotAny<Layer.Layer.Error<typeof AppTokenLive>>,
  NotAny<ReturnType<typeof NodeAppToken.layer>>,
  NotAny<typeof NodeTokenHasher.layer>,
  NotAny<AppTokenSession.AppTokenSession>,
  NotAny<AppTokenSession.Service["get"]>,
  NotAny<KalturaClient.Service["call"]>,
  NotAny<KalturaError.KalturaApiError>,
  NotAny<typeof TokenHasher.layer>,
  NotAny<Effect.Effect.Success<ReturnType<FakeKaltura.Service["seedAppToken"]>>>,
  NotAny<typeof options>
] = [true, true, true, true, true, true, true, true, true, true, true, true]
