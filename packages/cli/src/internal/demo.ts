/**
 * `kaltura-apptoken demo`: the whole App Token flow through the library against a fake Kaltura server on
 * a free loopback port, each step printed as it happens. Steps are observed, not re-enacted: a tracer
 * reports the library's own spans as they end, and the fake server's request log shows what crossed the
 * wire. Secrets appear only as fingerprints (the first 8 hex digits of their SHA-256).
 *
 * @internal
 */
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as KalturaClient from "@kaltura-effect/core/KalturaClient"
import * as NodeAppToken from "@kaltura-effect/node/NodeAppToken"
import * as FakeKaltura from "@kaltura-effect/testing/FakeKaltura"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import * as Tracer from "effect/Tracer"
import * as Crypto from "node:crypto"
import { colorsEnabled, makeStyles, stripAnsi, writeStdout } from "./output.js"

/** @internal the first 8 hex digits of SHA-256: tells secrets apart without revealing them */
export const fingerprint = (secret: string): string =>
  Crypto.createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 8)

/**
 * A tracer that reports each span of `base` when it ends (after `base` has recorded it).
 *
 * @internal
 */
export const observing = (
  base: Tracer.Tracer,
  onEnd: (span: Tracer.Span, endTime: bigint) => void
): Tracer.Tracer =>
  Tracer.make({
    span(name, parent, context, links, startTime, kind, options) {
      const span = base.span(name, parent, context, links, startTime, kind, options)
      const end = span.end.bind(span)
      const patched = span as { end: Tracer.Span["end"] }
      patched.end = (endTime, exit) => {
        end(endTime, exit)
        onEnd(span, endTime)
      }
      return span
    },
    context: (f, fiber) => base.context(f, fiber)
  })

const EntryList = Schema.Struct({
  totalCount: Schema.Number,
  objects: Schema.Array(Schema.Struct({ id: Schema.String, name: Schema.String }))
})

const displayNames: Readonly<Record<string, string>> = {
  "session.startwidgetsession": "session.startWidgetSession",
  "apptoken.startsession": "appToken.startSession",
  "baseentry.list": "baseEntry.list"
}

const millis = (nanos: bigint) => Number(nanos) / 1e6

const formatMillis = (ms: number) => ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`

const startOf = (span: Tracer.AnySpan | undefined): bigint | undefined =>
  span !== undefined && span._tag === "Span" ? span.status.startTime : undefined

const parseJson = (text: string | undefined): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(text ?? "null")
    return typeof value === "object" && value !== null ? value as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

const sessionTypeName = (type: number) => type === 2 ? "ADMIN" : "USER"

const humanDuration = (seconds: number) =>
  seconds >= 3600 ? `${Math.round(seconds / 360) / 10} h` : seconds >= 60 ?
    `${Math.round(seconds / 60)} min` :
    `${seconds} s`

/**
 * Runs the demo; fails only if the flow itself fails (with the library's typed errors).
 *
 * @internal
 */
export const run = Effect.gen(function*() {
  const style = makeStyles(colorsEnabled())
  const width = 22
  const fp = (secret: string) => style.cyan(`fp ${fingerprint(secret)}`)
  const row = (label: string, text: string, ms?: number) => {
    const timing = ms === undefined ? "" : style.dim(formatMillis(ms).padStart(9))
    const left = `  ${label.padEnd(width)}${text}`
    // pad on the visible width, not counting colour codes
    const visible = stripAnsi(left).length
    writeStdout(ms === undefined ? left : left + " ".repeat(Math.max(1, 86 - visible)) + timing)
  }
  const detail = (text: string) => writeStdout(`  ${"".padEnd(width)}${style.dim("→")} ${text}`)
  const section = (title: string, subtitle: string) => {
    writeStdout("")
    writeStdout(`${style.bold(title)} ${style.dim(`— ${subtitle}`)}`)
  }

  const started = performance.now()
  writeStdout(
    `${style.bold("kaltura-apptoken demo")} ${
      style.dim("— the App Token flow through @kaltura-effect, against a fake Kaltura server")
    }`
  )
  writeStdout("")

  const fakeStart = performance.now()
  const fake = yield* FakeKaltura.make()
  const token = yield* fake.seedAppToken({ hashType: "SHA256", description: "kaltura-apptoken demo" })
  row("fake Kaltura server", `${fake.url}, partner ${fake.partnerId}`, performance.now() - fakeStart)
  row("app token seeded", `id ${token.id}, hash type ${token.hashType}, token ${fp(token.token)}`)

  const lastRequest = (service: string, action: string) => {
    const log = Effect.runSync(fake.requests)
    for (let i = log.length - 1; i >= 0; i--) {
      const entry = log[i]!
      if (entry.service === service && entry.action === action) return entry
    }
    return undefined
  }

  let step = 0
  const label = (name: string) => `${style.green(String(++step))} ${name}`

  const onEnd = (span: Tracer.Span, endTime: bigint) => {
    const elapsed = millis(endTime - span.status.startTime)
    const service = span.attributes.get("kaltura.service")
    const action = span.attributes.get("kaltura.action")
    if (span.name === "WidgetSession.start") {
      const entry = lastRequest("session", "startwidgetsession")
      const ks = parseJson(entry?.responseBody).ks
      row(label("widget session"), `session.startWidgetSession, sent with no KS`, elapsed)
      if (entry?.params.ks === undefined && typeof ks === "string") detail(`widget KS ${fp(ks)} (unprivileged)`)
    } else if (
      span.name === "KalturaApi.call" && String(service).toLowerCase() === "apptoken" && action === "startSession"
    ) {
      const entry = lastRequest("apptoken", "startsession")
      const parentStart = startOf(Option.getOrUndefined(span.parent))
      const sentKs = entry?.params.ks
      const tokenHash = entry?.params.tokenHash
      const hashMillis = parentStart === undefined ? undefined : millis(span.status.startTime - parentStart)
      row(label("token hash"), `${token.hashType}(widget KS + token), lowercase hex`, hashMillis)
      if (typeof tokenHash === "string") detail(`tokenHash ${fp(tokenHash)}`)
      const body = parseJson(entry?.responseBody)
      row(
        label("app-token session"),
        `appToken.startSession, sent with widget KS${typeof sentKs === "string" ? ` ${fp(sentKs)}` : ""}`,
        elapsed
      )
      if (typeof body.ks === "string") {
        detail(
          `privileged KS ${fp(body.ks)}, ${sessionTypeName(Number(body.sessionType))}, ` +
            `privileges ${String(body.privileges)}`
        )
      } else if (entry?.errorCode !== undefined) {
        detail(style.red(`rejected: ${entry.errorCode}`))
      }
    } else if (span.name === "KalturaClient.call") {
      const entry = lastRequest(String(service).toLowerCase(), String(action).toLowerCase())
      const sentKs = entry?.params.ks
      row(
        label(`${String(service)}.${String(action)}`),
        `KalturaClient.call, sent with KS${typeof sentKs === "string" ? ` ${fp(sentKs)}` : ""}`,
        elapsed
      )
    }
  }

  const tracer = observing(yield* Effect.tracer, onEnd)
  const settings = {
    serviceUrl: fake.url,
    partnerId: fake.partnerId,
    appTokenId: token.id,
    token: Redacted.make(token.token),
    hashType: token.hashType,
    clientTag: "kaltura-apptoken-demo"
  }
  const layer = NodeAppToken.layer(
    settings,
    // a forced refresh right after the first session: no minimum interval between refreshes
    { session: { minRefreshInterval: 0 }, api: { timeout: "5 seconds" } }
  )

  yield* Effect.gen(function*() {
    const sessions = yield* AppTokenSession.AppTokenSession
    const client = yield* KalturaClient.KalturaClient

    section("AppTokenSession.get", "no KS held yet: widget session, hash, app-token session")
    const first = yield* sessions.get
    const lifetime = Math.round((first.expiresAt - Date.now()) / 1000)
    detail(
      `session generation ${first.generation}, expires ${new Date(first.expiresAt).toISOString()} ` +
        `(in ${humanDuration(lifetime)}), refreshed in the background before then`
    )

    section("KalturaClient.call", "an authenticated API call with the app-token KS")
    const list = yield* client.call("baseEntry", "list", { pager: { pageSize: 3 } }, EntryList)
    detail(
      `totalCount ${list.totalCount}: ${list.objects.map((entry) => `${entry.id} "${entry.name}"`).join(", ")}`
    )

    section("AppTokenSession.refresh", "a forced refresh, reusing the widget KS: one round trip")
    const widgetCalls = yield* fake.callCount("session.startWidgetSession")
    const second = yield* sessions.refresh
    detail(
      `session generation ${second.generation} replaces generation ${first.generation}` +
        (widgetCalls === (yield* fake.callCount("session.startWidgetSession")) ? ", widget KS reused" : "") +
        (Redacted.value(second.ks) === Redacted.value(first.ks) ? "" : `, new KS ${fp(Redacted.value(second.ks))}`)
    )
  }).pipe(Effect.provide(layer), Effect.withTracer(tracer))

  section("A common mistake", "the same token hashed with SHA1 instead of its SHA256")
  const wrongStart = performance.now()
  const wrong = yield* Effect.flatMap(AppTokenSession.AppTokenSession, (sessions) => sessions.get).pipe(
    Effect.provide(NodeAppToken.layer({ ...settings, hashType: "SHA1" })),
    Effect.either
  )
  if (Either.isLeft(wrong) && wrong.left._tag === "KalturaApiError") {
    row(
      `${style.red("✗")} rejected`,
      `appToken.startSession: ${style.bold(wrong.left.code)}`,
      performance.now() - wrongStart
    )
    detail("kaltura-apptoken exits 3 here; `kaltura-apptoken hash --ks KS --hash-type T` prints the expected hash")
  } else {
    return yield* Effect.dieMessage("the fake server accepted a hash of the wrong type")
  }

  const requests = yield* fake.requests
  const byAction = new Map<string, number>()
  for (const entry of requests) {
    const key = displayNames[`${entry.service}.${entry.action}`] ?? `${entry.service}.${entry.action}`
    byAction.set(key, (byAction.get(key) ?? 0) + 1)
  }
  writeStdout("")
  writeStdout(
    `${style.green("✓")} done in ${formatMillis(performance.now() - started)}, ${requests.length} requests: ` +
      [...byAction].map(([key, n]) => `${key} ×${n}`).join(", ")
  )
  writeStdout(style.dim("  No secret was printed: \"fp\" is the first 8 hex digits of a SHA-256."))
})
