/**
 * Part 3, bad input: invalid configurations (each refused before any request, with an error naming the field)
 * and malformed or hostile server responses (each a typed error, never a defect or a hang).
 */
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession, KalturaClient, KalturaConfig } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { ConfigProvider, Context, Effect, Layer, Redacted, Schema } from "effect"
import * as Capture from "./utils/capture.js"
import * as Memory from "./utils/memory.js"
import * as Secrets from "./utils/secrets.js"
import { classify, optionsFor, shortTuning, tally } from "./utils/support.js"

const TOKEN = "5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5"
const PARTNER = 12345
/** No case may take longer than this: a hang is a failure. */
const HANG_AFTER = "20 seconds"

class Hang extends Schema.TaggedError<Hang>()("Hang", {}) {}

const typedTags = new Set([
  "KalturaConfigError",
  "KalturaApiError",
  "KalturaHttpError",
  "KalturaTransportError",
  "KalturaDecodeError",
  "KalturaSessionError"
])

// ---------------------------------------------------------------------------------------------------------
// invalid configurations
// ---------------------------------------------------------------------------------------------------------

interface ConfigCase {
  readonly name: string
  readonly field: keyof KalturaConfig.Options
  /** Options merged over a valid base (values of the wrong type stand for untyped JavaScript callers). */
  readonly options?: Record<string, unknown>
  /** Or environment variables, read by `NodeAppToken.layerConfig`. */
  readonly env?: Record<string, string>
}

const configCases: ReadonlyArray<ConfigCase> = [
  { name: "serviceUrl not a URL", field: "serviceUrl", options: { serviceUrl: "not a url" } },
  { name: "serviceUrl empty", field: "serviceUrl", options: { serviceUrl: "" } },
  { name: "serviceUrl ftp:", field: "serviceUrl", options: { serviceUrl: "ftp://127.0.0.1/" } },
  {
    name: "serviceUrl http:// to a public host",
    field: "serviceUrl",
    options: { serviceUrl: "http://www.kaltura.com" }
  },
  {
    name: "serviceUrl http:// to a private address",
    field: "serviceUrl",
    options: { serviceUrl: "http://10.0.0.1:8080" }
  },
  {
    name: "serviceUrl http:// to a host named like localhost",
    field: "serviceUrl",
    options: { serviceUrl: "http://localhost.attacker.example" }
  },
  {
    name: "serviceUrl http:// to 127.0.0.1.nip.io",
    field: "serviceUrl",
    options: { serviceUrl: "http://127.0.0.1.nip.io" }
  },
  {
    name: "serviceUrl with credentials",
    field: "serviceUrl",
    options: { serviceUrl: `https://admin:${TOKEN}@www.kaltura.com` }
  },
  {
    name: "serviceUrl with a query",
    field: "serviceUrl",
    options: { serviceUrl: `https://www.kaltura.com/?ks=${TOKEN}` }
  },
  { name: "serviceUrl with a fragment", field: "serviceUrl", options: { serviceUrl: "https://www.kaltura.com/#x" } },
  { name: "serviceUrl javascript:", field: "serviceUrl", options: { serviceUrl: "javascript:alert(1)" } },
  { name: "serviceUrl file:", field: "serviceUrl", options: { serviceUrl: "file:///etc/passwd" } },
  { name: "serviceUrl protocol-relative", field: "serviceUrl", options: { serviceUrl: "//www.kaltura.com" } },
  { name: "serviceUrl a number (untyped caller)", field: "serviceUrl", options: { serviceUrl: 443 } },
  { name: "partnerId 0", field: "partnerId", options: { partnerId: 0 } },
  { name: "partnerId negative", field: "partnerId", options: { partnerId: -12345 } },
  { name: "partnerId fractional", field: "partnerId", options: { partnerId: 123.45 } },
  { name: "partnerId NaN", field: "partnerId", options: { partnerId: Number.NaN } },
  { name: "partnerId Infinity", field: "partnerId", options: { partnerId: Number.POSITIVE_INFINITY } },
  { name: "partnerId beyond 2^53", field: "partnerId", options: { partnerId: 2 ** 53 } },
  { name: "partnerId a string (untyped caller)", field: "partnerId", options: { partnerId: "12345" } },
  { name: "partnerId missing (untyped caller)", field: "partnerId", options: { partnerId: undefined } },
  { name: "widgetId empty", field: "widgetId", options: { widgetId: "" } },
  { name: "widgetId blank", field: "widgetId", options: { widgetId: "   " } },
  { name: "widgetId a number (untyped caller)", field: "widgetId", options: { widgetId: 12345 } },
  { name: "appTokenId empty", field: "appTokenId", options: { appTokenId: "" } },
  { name: "appTokenId blank", field: "appTokenId", options: { appTokenId: " \t " } },
  { name: "appTokenId missing (untyped caller)", field: "appTokenId", options: { appTokenId: undefined } },
  { name: "appTokenId a number (untyped caller)", field: "appTokenId", options: { appTokenId: 42 } },
  { name: "token empty", field: "token", options: { token: Redacted.make("") } },
  { name: "token blank", field: "token", options: { token: Redacted.make("  \n") } },
  { name: "token not Redacted (untyped caller)", field: "token", options: { token: TOKEN } },
  { name: "token missing (untyped caller)", field: "token", options: { token: undefined } },
  { name: "hashType unknown", field: "hashType", options: { hashType: "MD4" } },
  { name: "hashType with a dash", field: "hashType", options: { hashType: "SHA-256" } },
  { name: "hashType a number (untyped caller)", field: "hashType", options: { hashType: 256 } },
  { name: "sessionType 1", field: "sessionType", options: { sessionType: 1 } },
  { name: "sessionType unknown name", field: "sessionType", options: { sessionType: "SUPERUSER" } },
  { name: "sessionType an object (untyped caller)", field: "sessionType", options: { sessionType: {} } },
  { name: "expiry 0", field: "expiry", options: { expiry: 0 } },
  { name: "expiry negative", field: "expiry", options: { expiry: -60 } },
  { name: "expiry fractional", field: "expiry", options: { expiry: 1.5 } },
  { name: "expiry NaN", field: "expiry", options: { expiry: Number.NaN } },
  { name: "expiry a string (untyped caller)", field: "expiry", options: { expiry: "3600" } },
  { name: "userId empty", field: "userId", options: { userId: "" } },
  { name: "userId a number (untyped caller)", field: "userId", options: { userId: 42 } },
  { name: "sessionPrivileges blank", field: "sessionPrivileges", options: { sessionPrivileges: "  " } },
  {
    name: "sessionPrivileges an object (untyped caller)",
    field: "sessionPrivileges",
    options: { sessionPrivileges: {} }
  },
  { name: "clientTag empty", field: "clientTag", options: { clientTag: "" } },
  { name: "clientTag a number (untyped caller)", field: "clientTag", options: { clientTag: 7 } },
  { name: "env: KALTURA_PARTNER_ID missing", field: "partnerId", env: { KALTURA_PARTNER_ID: "" } },
  { name: "env: KALTURA_PARTNER_ID not a number", field: "partnerId", env: { KALTURA_PARTNER_ID: "12345abc" } },
  { name: "env: KALTURA_APP_TOKEN_ID missing", field: "appTokenId", env: { KALTURA_APP_TOKEN_ID: "" } },
  { name: "env: KALTURA_APP_TOKEN missing", field: "token", env: { KALTURA_APP_TOKEN: "" } },
  { name: "env: KALTURA_SESSION_TYPE unknown", field: "sessionType", env: { KALTURA_SESSION_TYPE: "root" } },
  { name: "env: KALTURA_SESSION_EXPIRY with a unit", field: "expiry", env: { KALTURA_SESSION_EXPIRY: "1h" } },
  {
    name: "env: KALTURA_SERVICE_URL http:// to a public host",
    field: "serviceUrl",
    env: { KALTURA_SERVICE_URL: "http://kaltura.example.com" }
  },
  { name: "env: KALTURA_APP_TOKEN_HASH_TYPE unknown", field: "hashType", env: { KALTURA_APP_TOKEN_HASH_TYPE: "CRC32" } }
]

// ---------------------------------------------------------------------------------------------------------
// hostile responses, through an in-memory transport
// ---------------------------------------------------------------------------------------------------------

interface ResponseCase {
  readonly name: string
  /** Which answer is hostile: the widget session, the App Token session, or an authenticated call. */
  readonly target: "widget" | "session" | "call"
  readonly reply: () => Memory.MemoryReply
  /** Options merged into the client's configuration, e.g. a requested lifetime. */
  readonly options?: Partial<KalturaConfig.Options>
}

const now = () => Math.floor(Date.now() / 1000)
const validKs = "djJ8MTIzNDV8" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo".repeat(3)
const widgetOk = () =>
  Memory.jsonReply({ partnerId: PARTNER, ks: validKs, userId: 0, objectType: "KalturaStartWidgetSessionResponse" })
const sessionOk = (overrides?: Record<string, unknown>, headers?: Record<string, string>) =>
  Memory.jsonReply({
    ks: validKs + "c2Vzc2lvbg",
    sessionType: 0,
    partnerId: String(PARTNER),
    userId: "",
    expiry: now() + 3600,
    privileges: "sessionid:0_abcd1234,apptoken:0_abcd1234",
    objectType: "KalturaSessionInfo",
    ...overrides
  }, headers)
const withoutField = (field: string) => {
  const { body } = sessionOk()
  const value = JSON.parse(body)
  delete value[field]
  return Memory.jsonReply(value)
}
const raw = (body: string, status = 200, contentType = "application/json"): Memory.MemoryReply => ({
  status,
  body,
  headers: { "content-type": contentType }
})
const apiException = (fields: Record<string, unknown>) =>
  Memory.jsonReply({
    code: "SOME_ERROR",
    message: "Something failed",
    objectType: "KalturaAPIException",
    args: [],
    ...fields
  })
const nested = (depth: number, open: string, close: string, inner = "1") =>
  open.repeat(depth) + inner + close.repeat(depth)
const MB20 = 20 * 1024 * 1024

const responseCases: ReadonlyArray<ResponseCase> = [
  { name: "JSON null", target: "session", reply: () => raw("null") },
  { name: "JSON array", target: "session", reply: () => raw("[]") },
  { name: "JSON number", target: "session", reply: () => raw("42") },
  { name: "JSON string", target: "session", reply: () => raw("\"djJ8\"") },
  { name: "JSON boolean", target: "session", reply: () => raw("true") },
  { name: "empty body", target: "session", reply: () => raw("") },
  {
    name: "HTML maintenance page (200)",
    target: "session",
    reply: () => raw("<html><body>Down for maintenance</body></html>", 200, "text/html")
  },
  {
    name: "XML answer (format ignored)",
    target: "session",
    reply: () =>
      raw(`<?xml version="1.0" encoding="utf-8"?><xml><result><ks>${validKs}</ks></result></xml>`, 200, "text/xml")
  },
  { name: "empty object", target: "session", reply: () => Memory.jsonReply({}) },
  { name: "missing ks", target: "session", reply: () => withoutField("ks") },
  { name: "missing expiry", target: "session", reply: () => withoutField("expiry") },
  { name: "missing partnerId", target: "session", reply: () => withoutField("partnerId") },
  { name: "ks a number", target: "session", reply: () => sessionOk({ ks: 12345 }) },
  { name: "ks empty", target: "session", reply: () => sessionOk({ ks: "" }) },
  {
    name: "ks with control characters",
    target: "session",
    reply: () => sessionOk({ ks: `${validKs}\r\nSet-Cookie: a=b\u0000` })
  },
  { name: "ks of 1 MB", target: "session", reply: () => sessionOk({ ks: "djJ8" + "A".repeat(1024 * 1024) }) },
  { name: "ks an object", target: "session", reply: () => sessionOk({ ks: { value: validKs } }) },
  { name: "sessionType 1", target: "session", reply: () => sessionOk({ sessionType: 1 }) },
  { name: "sessionType a name", target: "session", reply: () => sessionOk({ sessionType: "ADMIN" }) },
  { name: "session for another partner", target: "session", reply: () => sessionOk({ partnerId: "99999" }) },
  { name: "partnerId not numeric", target: "session", reply: () => sessionOk({ partnerId: "12345abc" }) },
  { name: "expiry in the past", target: "session", reply: () => sessionOk({ expiry: now() - 60 }) },
  { name: "expiry now", target: "session", reply: () => sessionOk({ expiry: now() }) },
  {
    name: "expiry a year beyond the requested 3600 s",
    target: "session",
    options: { expiry: 3600 },
    reply: () => sessionOk({ expiry: now() + 365 * 86400 }, { date: new Date().toUTCString() })
  },
  {
    name: "expiry 1e300 with 3600 s requested",
    target: "session",
    options: { expiry: 3600 },
    reply: () => sessionOk({ expiry: 1e300 }, { date: new Date().toUTCString() })
  },
  { name: "expiry a word", target: "session", reply: () => sessionOk({ expiry: "tomorrow" }) },
  { name: "expiry \"Infinity\"", target: "session", reply: () => sessionOk({ expiry: "Infinity" }) },
  { name: "expiry an object", target: "session", reply: () => sessionOk({ expiry: {} }) },
  { name: "expiry null", target: "session", reply: () => sessionOk({ expiry: null }) },
  { name: "userId an object", target: "session", reply: () => sessionOk({ userId: { id: 1 } }) },
  { name: "privileges an array", target: "session", reply: () => sessionOk({ privileges: ["edit"] }) },
  {
    name: "duplicate ks key, the last not a string",
    target: "session",
    reply: () => raw(sessionOk().body.replace("{", "{\"ks\":1,").replace(/,"objectType"/, ",\"ks\":2,\"objectType\""))
  },
  {
    name: "ks with a space inside",
    target: "session",
    reply: () => sessionOk({ ks: `${validKs.slice(0, 20)} ${validKs.slice(20)}` })
  },
  { name: "20 MB JSON array", target: "session", reply: () => raw("[" + "1,".repeat(MB20 / 2) + "1]") },
  { name: "20 MB of garbage", target: "session", reply: () => raw("x".repeat(MB20), 200, "text/plain") },
  {
    name: "20 MB string in the ks field",
    target: "session",
    reply: () => sessionOk({ ks: "djJ8" + "B".repeat(MB20) })
  },
  { name: "100,000 nested arrays", target: "session", reply: () => raw(nested(100_000, "[", "]")) },
  { name: "100,000 nested objects", target: "session", reply: () => raw(nested(100_000, "{\"a\":", "}")) },
  {
    name: "100,000 nested objects in the ks field",
    target: "session",
    reply: () => raw(sessionOk().body.replace(/"ks":"[^"]*"/, `"ks":${nested(100_000, "{\"a\":", "}")}`))
  },
  { name: "API exception, args null", target: "session", reply: () => apiException({ args: null }) },
  { name: "API exception, args a number", target: "session", reply: () => apiException({ args: 5 }) },
  { name: "API exception, args a string", target: "session", reply: () => apiException({ args: "KSID" }) },
  { name: "API exception, args nested", target: "session", reply: () => apiException({ args: { KSID: { a: 1 } } }) },
  {
    name: "API exception, args an array of objects",
    target: "session",
    reply: () => apiException({ args: [{ KSID: "x" }] })
  },
  {
    name: "API exception, args with 100,000 keys",
    target: "session",
    reply: () => apiException({ args: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`K${i}`, "v"])) })
  },
  {
    name: "API exception, args 100,000 levels deep",
    target: "session",
    reply: () => raw(apiException({}).body.replace("\"args\":[]", `"args":${nested(100_000, "{\"a\":", "}", "\"x\"")}`))
  },
  {
    name: "API exception, no code",
    target: "session",
    reply: () => Memory.jsonReply({ message: "x", objectType: "KalturaAPIException" })
  },
  { name: "API exception, code a number", target: "session", reply: () => apiException({ code: 500 }) },
  {
    name: "API exception, message an object",
    target: "session",
    reply: () => apiException({ message: { text: "x" } })
  },
  { name: "HTTP 404 HTML", target: "session", reply: () => raw("<html>Not Found</html>", 404, "text/html") },
  {
    name: "HTTP 307 redirect elsewhere",
    target: "session",
    reply: () => ({ status: 307, body: "", headers: { location: "http://attacker.example/steal" } })
  },
  { name: "HTTP 204 no content", target: "session", reply: () => ({ status: 204, body: null as unknown as string }) },
  {
    name: "widget session for another partner",
    target: "widget",
    reply: () => Memory.jsonReply({ partnerId: 99999, ks: validKs, userId: 0 })
  },
  {
    name: "widget ks with control characters",
    target: "widget",
    reply: () => Memory.jsonReply({ partnerId: PARTNER, ks: `${validKs}\n\u0007` })
  },
  {
    name: "widget response without ks",
    target: "widget",
    reply: () => Memory.jsonReply({ partnerId: PARTNER, userId: 0 })
  },
  {
    name: "widget partnerId not numeric",
    target: "widget",
    reply: () => Memory.jsonReply({ partnerId: "abc", ks: validKs })
  },
  {
    name: "widget response an array",
    target: "widget",
    reply: () => raw(`[${JSON.stringify({ partnerId: PARTNER, ks: validKs })}]`)
  },
  {
    name: "call: args of INVALID_KS an object",
    target: "call",
    reply: () => apiException({ code: "INVALID_KS", args: { KSID: { nested: true } } })
  },
  {
    name: "call: args of INVALID_KS an array",
    target: "call",
    reply: () => apiException({ code: "INVALID_KS", args: ["EXPIRED"] })
  },
  {
    name: "call: args of INVALID_KS null",
    target: "call",
    reply: () => apiException({ code: "INVALID_KS", args: null })
  },
  {
    name: "call: result of the wrong shape",
    target: "call",
    reply: () => Memory.jsonReply({ totalCount: "many", objects: {} })
  },
  { name: "call: 100,000 nested arrays", target: "call", reply: () => raw(nested(100_000, "[", "]")) },
  { name: "call: 20 MB of garbage", target: "call", reply: () => raw("<".repeat(MB20), 200, "text/html") }
]

const EntryList = Schema.Struct({ totalCount: Schema.Number, objects: Schema.Array(Schema.Unknown) })

describe("bad input", () => {
  it.live(`${configCases.length} invalid configurations are refused before any request, naming the field`, () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ token: TOKEN, hashType: "SHA256" })
      const base = optionsFor(fake, token)
      const baseEnv: Record<string, string> = {
        KALTURA_SERVICE_URL: fake.url,
        KALTURA_PARTNER_ID: String(token.partnerId),
        KALTURA_APP_TOKEN_ID: token.id,
        KALTURA_APP_TOKEN: TOKEN,
        KALTURA_APP_TOKEN_HASH_TYPE: "SHA256"
      }
      const outcomes = tally()
      const wrongField: Array<string> = []
      const notNamed: Array<string> = []
      const scanner = new Secrets.Scanner()
      scanner.add("app token", TOKEN)
      for (const testCase of configCases) {
        const layer = testCase.env === undefined
          ? NodeAppToken.layer({ ...base, ...testCase.options } as KalturaConfig.Options, shortTuning())
          : NodeAppToken.layerConfig(shortTuning())
        const env = Object.entries({ ...baseEnv, ...testCase.env }).filter(([, value]) => value !== "")
        // if the configuration were accepted, the program would go on to ask for a session: one request at least
        const exit = yield* Effect.scoped(
          Effect.flatMap(Layer.build(layer), (context) => Context.get(context, AppTokenSession.AppTokenSession).get)
        ).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(env))),
          Effect.timeoutFail({ duration: HANG_AFTER, onTimeout: () => new Hang() }),
          Effect.exit
        )
        const outcome = classify(exit)
        outcomes.add(outcome._tag === "Failure" ? outcome.tag : outcome._tag)
        if (outcome._tag === "Failure") {
          const error = outcome.error as KalturaConfig.KalturaConfigError
          scanner.scanValue(`config error (${testCase.name})`, error)
          if (outcome.tag === "KalturaConfigError") {
            if (error.field !== testCase.field) wrongField.push(`${testCase.name}: ${error.field}`)
            // an option passed in code is named by its option; a variable by its name too
            const env = KalturaConfig.envNames[testCase.field]
            const named = error.message.includes(testCase.field) &&
              (error.source !== "environment" || error.message.includes(env))
            if (!named) notNamed.push(testCase.name)
          }
        } else {
          wrongField.push(
            `${testCase.name}: ${outcome._tag} ${outcome._tag === "Defect" ? String(outcome.cause).slice(0, 200) : ""}`
          )
        }
      }
      const requests = (yield* fake.requests).length
      scanner.scanAll(capture.texts())
      const refused = outcomes.counts.KalturaConfigError ?? 0
      const defects = outcomes.counts.Defect ?? 0
      Results.record({
        id: "3a-bad-configurations",
        part: 3,
        title: `${configCases.length} invalid configurations`,
        description:
          "Each configuration (explicit options through `NodeAppToken.layer`, some with values of the wrong type as " +
          "an untyped JavaScript caller might pass, or `KALTURA_*` variables through `NodeAppToken.layerConfig`) " +
          "is built and asked for a session. It must fail with a `KalturaConfigError` naming the option and its " +
          "variable, before any request reaches the fake server.",
        figures: {
          "configurations": configCases.length,
          "refused with KalturaConfigError": refused,
          "outcomes": outcomes.counts,
          "accepted or failed otherwise": configCases.length - refused,
          "errors naming another field": wrongField.length,
          "errors not naming the option (and its variable, for one read from the environment)": notNamed.length,
          defects,
          "requests that reached the server": requests,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "accepted or failed otherwise",
          "errors naming another field",
          "errors not naming the option (and its variable, for one read from the environment)",
          "defects",
          "requests that reached the server",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })
      assert.deepStrictEqual(wrongField, [])
      assert.deepStrictEqual(notNamed, [])
      assert.deepStrictEqual(outcomes.counts, { KalturaConfigError: configCases.length })
      assert.strictEqual(requests, 0)
      assert.deepStrictEqual(scanner.findings, [])
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })

  it.live(`${responseCases.length} malformed or hostile responses are typed errors, never a defect or a hang`, () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const outcomes = tally()
      const bad: Array<string> = []
      const scanner = new Secrets.Scanner()
      scanner.add("app token", TOKEN)
      scanner.add("KS", validKs)
      let slowest = { name: "", millis: 0 }
      const protoBefore = Object.keys(Object.prototype).length
      for (const testCase of responseCases) {
        const t0 = performance.now()
        const httpClient = Memory.client((request) => {
          const hostile = request.route === "session/startWidgetSession"
            ? testCase.target === "widget"
            : request.route === "apptoken/startSession"
            ? testCase.target === "session"
            : testCase.target === "call"
          if (hostile) return testCase.reply()
          if (request.route === "session/startWidgetSession") return widgetOk()
          if (request.route === "apptoken/startSession") return sessionOk()
          return Memory.jsonReply({ totalCount: 0, objects: [], objectType: "KalturaBaseEntryListResponse" })
        })
        const options: KalturaConfig.Options = {
          serviceUrl: "https://kaltura.invalid",
          partnerId: PARTNER,
          appTokenId: "0_abcd1234",
          token: Redacted.make(TOKEN),
          ...testCase.options
        }
        const program = Effect.gen(function*() {
          if (testCase.target === "call") {
            const client = yield* KalturaClient.KalturaClient
            return yield* client.call("baseEntry", "list", {}, EntryList)
          }
          const session = yield* AppTokenSession.AppTokenSession
          return yield* session.get
        })
        const exit = yield* program.pipe(
          Effect.provide(Memory.stack(options, httpClient, shortTuning())),
          Effect.timeoutFail({ duration: HANG_AFTER, onTimeout: () => new Hang() }),
          Effect.exit
        )
        const millis = performance.now() - t0
        if (millis > slowest.millis) slowest = { name: testCase.name, millis }
        const outcome = classify(exit)
        const label = outcome._tag === "Failure" ? outcome.tag : outcome._tag
        outcomes.add(label)
        if (outcome._tag !== "Failure" || !typedTags.has(outcome.tag.split(":")[0]!)) {
          bad.push(
            `${testCase.name}: ${label}${outcome._tag === "Defect" ? ` ${String(outcome.cause).slice(0, 300)}` : ""}`
          )
        }
        if (outcome._tag === "Failure") scanner.scanValue(`error (${testCase.name})`, outcome.error)
      }
      const polluted = Object.keys(Object.prototype).length !== protoBefore
      scanner.scanAll(capture.texts())
      const typed = responseCases.length - bad.length
      const defects = outcomes.counts.Defect ?? 0
      const hangs = outcomes.counts.Hang ?? 0
      Results.record({
        id: "3b-hostile-responses",
        part: 3,
        title: `${responseCases.length} malformed or hostile server responses`,
        description: "An in-memory transport answers the widget session, the App Token session or an authenticated " +
          "`baseEntry.list` with one hostile body each (wrong JSON types, missing fields, control characters, an " +
          "expiry in the past, another partner, `args` of every shape, 20 MB bodies, 100,000 levels of nesting, " +
          `HTML, XML, redirects, ...). Each must end in a typed error within ${HANG_AFTER}.`,
        figures: {
          "hostile responses": responseCases.length,
          "typed errors": typed,
          "outcomes by tag": outcomes.counts,
          "not a typed error (success, defect or hang)": bad.length,
          defects,
          hangs,
          "slowest case": `${slowest.name} (${(slowest.millis / 1000).toFixed(2)} s)`,
          "Object.prototype polluted": polluted ? 1 : 0,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "not a typed error (success, defect or hang)",
          "defects",
          "hangs",
          "Object.prototype polluted",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })
      assert.deepStrictEqual(bad, [])
      assert.isFalse(polluted)
      assert.deepStrictEqual(scanner.findings, [])
    }).pipe(Effect.provide(capture.layer))
  })

  it.live("hostile responses over real HTTP: 20 MB body, deep nesting, HTML, empty, XML", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA256" })
      const cases: ReadonlyArray<readonly [string, FakeKalturaFault.FakeKalturaFault]> = [
        [
          "20 MB JSON array",
          FakeKalturaFault.raw({
            status: 200,
            body: "[" + "0,".repeat(MB20 / 2) + "0]",
            contentType: "application/json"
          })
        ],
        [
          "100,000 nested arrays",
          FakeKalturaFault.raw({ status: 200, body: nested(100_000, "[", "]"), contentType: "application/json" })
        ],
        ["HTML 200", FakeKalturaFault.raw({ status: 200, body: "<html>hello</html>", contentType: "text/html" })],
        ["empty 200", FakeKalturaFault.raw({ status: 200, body: "", contentType: "application/json" })],
        [
          "XML 200",
          FakeKalturaFault.raw({
            status: 200,
            body: "<?xml version=\"1.0\"?><xml><result/></xml>",
            contentType: "text/xml"
          })
        ],
        [
          "session for another partner",
          FakeKalturaFault.raw({
            status: 200,
            body: sessionOk({ partnerId: 54321 }).body,
            contentType: "application/json"
          })
        ]
      ]
      const outcomes = tally()
      const bad: Array<string> = []
      for (const [name, fault] of cases) {
        // on every attempt the retry policy may make
        yield* fake.clearFaults
        yield* fake.injectFault("appToken.startSession", fault, { times: 5 })
        const exit = yield* Effect.scoped(
          Effect.flatMap(
            Layer.build(NodeAppToken.layer(optionsFor(fake, token), shortTuning({ api: { timeout: "5 seconds" } }))),
            (context) => Context.get(context, AppTokenSession.AppTokenSession).get
          )
        ).pipe(Effect.timeoutFail({ duration: HANG_AFTER, onTimeout: () => new Hang() }), Effect.exit)
        const outcome = classify(exit)
        const label = outcome._tag === "Failure" ? outcome.tag : outcome._tag
        outcomes.add(`${name}: ${label}`)
        if (outcome._tag !== "Failure" || !typedTags.has(outcome.tag.split(":")[0]!)) bad.push(`${name}: ${label}`)
      }
      Results.record({
        id: "3c-hostile-responses-http",
        part: 3,
        title: `${cases.length} hostile responses over real loopback HTTP`,
        description:
          "The same kind of bodies served by the fake server (`FakeKalturaFault.raw`) to `appToken.startSession` on " +
          "every attempt, through the Node stack (NodeAppToken, node:http): each must be a typed error.",
        figures: {
          "hostile responses": cases.length,
          "outcomes": outcomes.counts,
          "not a typed error (success, defect or hang)": bad.length
        },
        mustBeZero: ["not a typed error (success, defect or hang)"],
        durationMillis: performance.now() - started
      })
      assert.deepStrictEqual(bad, [])
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })
})
