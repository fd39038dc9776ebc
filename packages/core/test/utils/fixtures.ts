/**
 * Shared values for the core unit tests: the spec's test vectors (§1.3, §3.3), canned Kaltura answers
 * and the whole core stack built on a {@link FakeTransport.FakeTransport}.
 */
import { Effect, Layer, Redacted } from "effect"
import * as AppTokenSession from "../../src/AppTokenSession.js"
import * as KalturaApi from "../../src/KalturaApi.js"
import * as KalturaClient from "../../src/KalturaClient.js"
import * as KalturaConfig from "../../src/KalturaConfig.js"
import * as SessionStore from "../../src/SessionStore.js"
import * as TokenHasher from "../../src/TokenHasher.js"
import * as WidgetSession from "../../src/WidgetSession.js"
import * as FakeTransport from "./FakeTransport.js"

export const partnerId = 12345
export const appTokenId = "0_ab12cd34"
export const tokenValue = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
export const serviceUrl = "https://kaltura.test"

/** The widget KS of spec §3.3 (also the `ks` of the §1.3 hash vectors). */
export const widgetKs =
  "djJ8MTIzNDV88V5OEYp4B7TZ2fhpMd_hJLhw_7-7BnloFOqIjtl3XGhyg-FiZfSudiQlBrcEhJvqWXZHLy9ZPJ5oyFEI8JUtEwqSz40V5t97E214Zkck1O4="
/** The ADMIN KS of spec §3.3, used as the App Token session's KS. */
export const adminKs =
  "djJ8MTIzNDV8a2E0WTCRElCNcCUIb-lETjouQNTUk6ikrRLcsvN39fmWPpO06AXLKM38FTmCMwHrI3UmTECmgpZoX6ZIXDyzDKTPEHU1Hw-iey01iHpgx7IMxnTqlIAnHhdgAYsi4PdeILTv01H2frrWx8aIbFzL7g=="
/** A second session KS, for refreshes. */
export const adminKs2 = "djJ8MTIzNDV8c2Vjb25kLXNlc3Npb24ta3MtZm9yLXRlc3RzLW9ubHktbm90LXJlYWw="
/** The §3.2 v1 KS (standard base64 with `+`, `/` and `=`). */
export const v1Ks =
  "MGEyYjY5MGQ2NTA2Y2Q0YTc4ZmM3M2EyM2E3OTFiYTA0ZjM5NjI4NXwxMjM0NTsxMjM0NTsxNzAwMDg2NDAwOzA7MTcwMDAwMDAwMC4xMjM0OzA7dmlldzoqLHdpZGdldDoxOzs="

/** Spec §1.3: lowercase hex of HASH(widgetKs + tokenValue). */
export const hashVectors = {
  MD5: "b62ab44babc1d2d373c2a5a158d52da9",
  SHA1: "d1c7c2eaf56430741fdd6fa424601d370d14b1db",
  SHA256: "ae8e79c6a26c38d58bc6ca36da420e60ff1e4de1769f281e1c731d5cc85a6511",
  SHA512:
    "dc6fec9a2fd74a331b4793e96766a207b5eaa875df60ba8075739680083116b60d86cd998542713662199e97a6e4f7151819f32cf4aed33d37c9c313ae942433"
} as const satisfies Record<KalturaConfig.HashType, string>

export const widgetRoute = "session/startwidgetsession"
export const startSessionRoute = "apptoken/startsession"

/** `KalturaStartWidgetSessionResponse` as the server emits it (`userId` is the number 0). */
export const widgetReply = (ks: string = widgetKs): FakeTransport.Reply =>
  FakeTransport.json({ partnerId, ks, userId: 0, objectType: "KalturaStartWidgetSessionResponse" })

/**
 * `KalturaSessionInfo` as the server probably emits it (`partnerId` a numeric string). `expiry` is absolute
 * unix seconds; the tests run on `TestClock` starting at 0 and send no `Date` header, so `3600` is an hour.
 */
export const sessionReply = (overrides?: Readonly<Record<string, unknown>>): FakeTransport.Reply =>
  FakeTransport.json({
    ks: adminKs,
    sessionType: 2,
    partnerId: String(partnerId),
    userId: "",
    expiry: 3600,
    privileges: `sessionid:${appTokenId},apptoken:${appTokenId}`,
    objectType: "KalturaSessionInfo",
    ...overrides
  })

/** A fake that answers both calls of the flow successfully unless a test scripts otherwise. */
export const happyFake = () => FakeTransport.make({ [widgetRoute]: widgetReply(), [startSessionRoute]: sessionReply() })

export const baseOptions: KalturaConfig.Options = {
  serviceUrl,
  partnerId,
  appTokenId,
  token: Redacted.make(tokenValue)
}

export interface StackOptions {
  readonly config?: Partial<KalturaConfig.Options> | undefined
  readonly api?: KalturaApi.Options | undefined
  readonly session?: AppTokenSession.Options | undefined
  readonly hasher?: Layer.Layer<TokenHasher.TokenHasher> | undefined
  /** Step 1; default the real `WidgetSession.layer` on the fake transport. */
  readonly widgetSession?: Layer.Layer<WidgetSession.WidgetSession> | undefined
  /** The session store; default none. */
  readonly store?: Layer.Layer<SessionStore.SessionStore> | undefined
}

/** The whole core stack (config, transport, hasher, widget session, session, client) on the fake transport. */
export const stack = (fake: FakeTransport.FakeTransport, options?: StackOptions) =>
  KalturaClient.layer.pipe(
    Layer.provideMerge(AppTokenSession.layer(options?.session)),
    Layer.provideMerge(options?.widgetSession ?? WidgetSession.layer),
    Layer.provideMerge(KalturaApi.layer(options?.api)),
    Layer.provideMerge(options?.hasher ?? TokenHasher.layer),
    Layer.provideMerge(options?.store ?? SessionStore.layerNone),
    Layer.provide(fake.layer),
    Layer.provideMerge(KalturaConfig.layer({ ...baseOptions, ...options?.config }))
  )

/** The bare transport on the fake, for decoding and retry tests. */
export const api = (fake: FakeTransport.FakeTransport, options?: KalturaApi.Options) =>
  KalturaApi.make({ ...options, serviceUrl, clientTag: "kaltura-effect" }).pipe(
    Effect.provide(fake.layer)
  )
