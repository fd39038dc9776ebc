/**
 * Part 7, transport security: `http://` only to loopback hosts; no KS, hash or token in a URL (or a header); the
 * server's `INVALID_KS` message, which repeats the KS, scrubbed before it reaches an error; and no secret-bearing
 * request body re-sent to wherever a redirect points.
 */
import { FetchHttpClient, HttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { AppTokenSession, KalturaClient, KalturaConfig } from "@kaltura-effect/core"
import { NodeAppToken } from "@kaltura-effect/node"
import { Results } from "@kaltura-effect/reliability"
import { FakeKaltura, FakeKalturaFault } from "@kaltura-effect/testing"
import { Context, Effect, Layer, Redacted, Schema } from "effect"
import * as Http from "node:http"
import * as Capture from "./utils/capture.js"
import * as Memory from "./utils/memory.js"
import * as Secrets from "./utils/secrets.js"
import { classify, optionsFor, shortTuning, tally } from "./utils/support.js"

const refusedUrls = [
  "http://www.kaltura.com",
  "http://kaltura.example.com:8080/api",
  "http://10.1.2.3",
  "http://192.168.0.10",
  "http://169.254.169.254",
  "http://[fe80::1]",
  "http://[::ffff:7f00:1]",
  "http://localhost.example.com",
  "http://127.0.0.1.example.com",
  "HTTP://WWW.KALTURA.COM"
]
const acceptedUrls = [
  "https://www.kaltura.com",
  "http://127.0.0.1:8080",
  "http://127.9.9.9",
  "http://localhost:1234",
  "http://[::1]:80"
]

const EntryList = Schema.Struct({ totalCount: Schema.Number })

/** A plain loopback HTTP server that records whatever reaches it (the target of a hostile redirect). */
const recorder = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly received: Array<string>; readonly server: Http.Server }>((resume) => {
    const received: Array<string> = []
    const server = Http.createServer((request, response) => {
      let body = ""
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString("utf8")
      })
      request.on("end", () => {
        received.push(`${request.method} ${request.url}\n${JSON.stringify(request.headers)}\n${body}`)
        response.writeHead(200, { "content-type": "application/json" })
        response.end("{}")
      })
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, received, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

describe("transport security", () => {
  it.live("http:// only to loopback; secrets in request bodies only; INVALID_KS scrubbed; no redirect followed", () => {
    const capture = Capture.make()
    return Effect.gen(function*() {
      const started = performance.now()
      const scanner = new Secrets.Scanner()

      // 1. the service URL
      const refused = tally()
      let accepted = 0
      for (const url of refusedUrls) {
        const exit = yield* Effect.exit(KalturaConfig.validateServiceUrl(url))
        const outcome = classify(exit)
        refused.add(outcome._tag === "Failure" ? outcome.tag : outcome._tag)
      }
      for (const url of acceptedUrls) {
        if ((yield* Effect.exit(KalturaConfig.validateServiceUrl(url)))._tag === "Success") accepted++
      }
      const notRefused = refusedUrls.length - (refused.counts.KalturaConfigError ?? 0)
      // and through a whole stack: a refused URL sends nothing
      const attempted: Array<Memory.MemoryRequest> = []
      const counting = Memory.client(() => Memory.jsonReply({}), attempted)
      for (const url of refusedUrls) {
        yield* Effect.exit(
          Effect.flatMap(AppTokenSession.AppTokenSession, (s) => s.get).pipe(
            Effect.provide(Memory.stack({
              serviceUrl: url,
              partnerId: 12345,
              appTokenId: "0_abcd1234",
              token: Redacted.make("a1b2c3d4e5f60718293a4b5c6d7e8f90")
            }, counting))
          )
        )
      }

      // 2. a whole flow on the Node transports: node:http (NodeAppToken's own), undici, and fetch (as
      //    FakeKaltura.layerWithHttpClient uses)
      const fake = yield* FakeKaltura.make({ liveClock: true })
      const token = yield* fake.seedAppToken({ hashType: "SHA512" })
      const stacks = {
        "node:http": NodeAppToken.layer(optionsFor(fake, token), shortTuning()),
        undici: Memory.stack(
          optionsFor(fake, token),
          Context.get(yield* Layer.build(NodeHttpClient.layerUndici), HttpClient.HttpClient),
          shortTuning()
        ),
        fetch: Memory.stack(
          optionsFor(fake, token),
          yield* HttpClient.HttpClient.pipe(Effect.provide(FetchHttpClient.layer)),
          shortTuning()
        )
      }
      for (const stack of Object.values(stacks)) {
        yield* Effect.scoped(Effect.gen(function*() {
          const context = yield* Layer.build(stack)
          const session = Context.get(context, AppTokenSession.AppTokenSession)
          const client = Context.get(context, KalturaClient.KalturaClient)
          yield* client.call("baseEntry", "list", {}, EntryList)
          yield* fake.revokeKs(Redacted.value((yield* session.get).ks))
          yield* client.call("baseEntry", "list", {}, EntryList)
          yield* session.refresh
          yield* fake.injectFault("baseEntry.list", FakeKalturaFault.ksExpired)
          yield* client.call("baseEntry", "list", {}, EntryList)
        }))
      }
      const log = yield* fake.requests
      Secrets.learnFromLog(scanner, log, [token])
      const wire = Secrets.scanWire(scanner, log)
      const otherUrls = log.filter((entry) => !/^\/api_v3\/service\/[A-Za-z]+\/action\/[A-Za-z]+$/.test(entry.url))
      const urlAttributes: Array<readonly [string, string]> = []
      for (const span of capture.spans) {
        for (const [key, value] of span.attributes) {
          if (key.startsWith("url") || key.startsWith("http") || key.startsWith("server")) {
            urlAttributes.push([`span ${span.name} ${key}`, String(value)])
          }
        }
      }
      const inSpanUrls = scanner.scanAll(urlAttributes)

      // 3. the server's INVALID_KS repeats the KS: real (a KS signed with a secret the server no longer has) and
      //    scripted (v1 and v2 KSs, quoted, URL-encoded, glued to other text)
      const v1 = yield* fake.mintKs({ version: 1, type: 0, privileges: "view:*" })
      const v2 = yield* fake.mintKs({ version: 2 })
      scanner.add("KS", v1)
      scanner.add("KS", v2)
      const scripted = [
        `Invalid KS "${v2}", Error "-1,INVALID_STR"`,
        `Invalid KS "${v1}", Error "-1,INVALID_STR"`,
        `Invalid KS [${v1}]. Error [-1,INVALID_STR]`,
        `Invalid KS '${encodeURIComponent(v2)}'`,
        `ks=${v1}&format=1`,
        `KS:${v2}.`
      ]
      const errors: Array<unknown> = []
      const services = yield* Layer.build(NodeAppToken.layer(optionsFor(fake, token), shortTuning()))
      const client = Context.get(services, KalturaClient.KalturaClient)
      for (const message of scripted) {
        yield* fake.injectFault(
          "baseEntry.list",
          FakeKalturaFault.apiError({
            code: "INVALID_KS",
            message,
            args: { KSID: message.includes(v1) ? v1 : v2, ERR_CODE: "-1", ERR_DESC: "INVALID_STR" }
          })
        )
        errors.push(yield* Effect.flip(client.call("baseEntry", "list", {}, EntryList)))
      }
      yield* fake.seedPartner({ id: fake.partnerId, adminSecrets: ["ffffffffffffffffffffffffffffffff"] })
      errors.push(yield* Effect.flip(client.call("baseEntry", "list", {}, EntryList)))
      yield* fake.seedPartner({ id: fake.partnerId, adminSecrets: [fake.adminSecret] })
      const realInvalidKs = (yield* fake.requests).filter((entry) =>
        entry.errorCode === "INVALID_KS" && entry.fault === undefined && (entry.responseBody ?? "").includes("djJ8")
      ).length
      Secrets.learnFromLog(scanner, yield* fake.requests, [token])
      let inErrors = 0
      for (const error of errors) {
        inErrors += scanner.scanValue("INVALID_KS error", error)
      }
      const invalidKsErrors = errors.filter((error) =>
        (error as { readonly code?: string }).code === "INVALID_KS"
      ).length

      // 4. a redirect to another origin: the body (KS and token hash) must not follow it
      const target = yield* recorder
      const redirects = tally()
      for (const [name, stack] of Object.entries(stacks)) {
        for (const status of [301, 302, 307, 308]) {
          yield* fake.injectFault(
            "appToken.startSession",
            FakeKalturaFault.raw({
              status,
              body: "",
              headers: { location: `${target.url}/api_v3/service/apptoken/action/startSession` }
            }),
            { times: 5 }
          )
          const exit = yield* Effect.scoped(
            Effect.flatMap(Layer.build(stack), (context) => Context.get(context, AppTokenSession.AppTokenSession).get)
          ).pipe(Effect.exit)
          yield* fake.clearFaults
          const outcome = classify(exit)
          redirects.add(`${name} ${status}: ${outcome._tag === "Failure" ? outcome.tag : outcome._tag}`)
        }
      }
      const followed = target.received.length
      scanner.scanAll(capture.texts())

      Results.record({
        id: "7-transport-security",
        part: 7,
        title: "Transport security",
        description:
          "`KalturaConfig.validateServiceUrl` on public, private, link-local, mapped and look-alike hosts over " +
          "`http://` (and on accepted loopback and `https://` URLs), then whole stacks on the refused URLs with a " +
          "counting transport. A flow (calls, a revoked KS, a forced refresh, an expired KS) on the node:http " +
          "(NodeAppToken's), undici and fetch transports, with every request's URL and headers, and every span's " +
          "URL attributes, scanned. " +
          "INVALID_KS answers that repeat the KS, real (a KS the server can no longer verify) and scripted (v1 and v2, " +
          "quoted, URL-encoded, glued to text). Redirects (301, 302, 307, 308) from `appToken.startSession` to another " +
          "loopback server that records what reaches it.",
        figures: {
          "http:// URLs to non-loopback hosts refused": `${
            refused.counts.KalturaConfigError ?? 0
          } of ${refusedUrls.length}`,
          "http:// URLs to non-loopback hosts not refused": notRefused,
          "requests sent for a refused URL": attempted.length,
          "loopback and https URLs accepted": `${accepted} of ${acceptedUrls.length}`,
          "requests the fake received (three transports)": log.length,
          "request URLs other than /api_v3/service/S/action/A": otherUrls.length,
          "KS or hash in a URL or header": wire.secretInUrlOrHeader,
          "app token in any byte received": wire.tokenAnywhere,
          "secrets in span URL attributes": inSpanUrls,
          "INVALID_KS errors checked (real ones that repeated the KS)": `${invalidKsErrors} (${realInvalidKs})`,
          "KS in an INVALID_KS error (message, args, String, JSON, inspect)": inErrors,
          "redirect outcomes": redirects.counts,
          "requests that followed a redirect to another origin": followed,
          "secrets found": scanner.findings.length
        },
        mustBeZero: [
          "http:// URLs to non-loopback hosts not refused",
          "requests sent for a refused URL",
          "request URLs other than /api_v3/service/S/action/A",
          "KS or hash in a URL or header",
          "app token in any byte received",
          "secrets in span URL attributes",
          "KS in an INVALID_KS error (message, args, String, JSON, inspect)",
          "requests that followed a redirect to another origin",
          "secrets found"
        ],
        durationMillis: performance.now() - started
      })
      assert.strictEqual(notRefused, 0)
      assert.strictEqual(accepted, acceptedUrls.length)
      assert.strictEqual(attempted.length, 0)
      assert.deepStrictEqual(otherUrls.map((entry) => entry.url), [])
      assert.isAbove(urlAttributes.length, 0)
      assert.isAtLeast(realInvalidKs, 1)
      assert.strictEqual(invalidKsErrors, scripted.length + 1)
      assert.strictEqual(followed, 0, target.received.join("\n---\n").slice(0, 500))
      assert.deepStrictEqual(scanner.findings.slice(0, 10), [])
    }).pipe(Effect.scoped, Effect.provide(capture.layer))
  })
})
