/**
 * The official `kaltura-client` npm package (AGPL-3.0: a devDependency only, never shipped) drives the fake server
 * through the documented flow and gets what the spec says the real server returns.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { createRequire } from "node:module"
import { FakeKaltura } from "../src/index.js"

const kaltura = createRequire(import.meta.url)("kaltura-client")

const withFake = <A, E>(f: (fake: FakeKaltura.Service) => Effect.Effect<A, E>) =>
  Effect.flatMap(FakeKaltura.FakeKaltura, f).pipe(Effect.provide(FakeKaltura.layer()))

const makeClient = (url: string) => {
  const config = new kaltura.Configuration()
  config.serviceUrl = url
  config.timeout = 5000
  config.setLogger({ log: () => {}, error: () => {}, debug: () => {} }) // not an ILogger: the client stays quiet
  return new kaltura.Client(config)
}

/** Runs a kaltura-client request; rejections (raw API error objects) come back as `Left`. */
const execute = (client: unknown, builder: { execute: (client: unknown) => Promise<any> }) =>
  Effect.either(Effect.tryPromise({ try: () => builder.execute(client), catch: (error: any) => error }))

describe("kaltura-client@21.20.0 against the fake", () => {
  it.live("widget session → sha256(widgetKs + token) → appToken.startSession → baseEntry.list", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        const client = makeClient(fake.url)
        const widget = yield* execute(client, kaltura.services.session.startWidgetSession(`_${fake.partnerId}`))
        assert.isTrue(widget._tag === "Right", JSON.stringify(widget))
        const widgetResponse = (widget as any).right
        assert.deepStrictEqual(Object.keys(widgetResponse), ["partnerId", "ks", "userId", "objectType"])
        assert.strictEqual(widgetResponse.partnerId, 12345)
        assert.strictEqual(widgetResponse.userId, 0)

        const hash = createHash("sha256").update(widgetResponse.ks + token.token).digest("hex")
        client.setKs(widgetResponse.ks)
        const session = yield* execute(
          client,
          kaltura.services.appToken.startSession(token.id, hash, null, null, 3600)
        )
        assert.isTrue(session._tag === "Right", JSON.stringify(session))
        const info = (session as any).right
        assert.strictEqual(info.objectType, "KalturaSessionInfo")
        assert.strictEqual(info.partnerId, "12345")
        assert.strictEqual(info.sessionType, 0)
        assert.strictEqual(info.userId, "")
        assert.strictEqual(info.privileges, `sessionid:${token.id},apptoken:${token.id}`)
        assert.closeTo(info.expiry - (yield* fake.now), 3600, 2)

        client.setKs(info.ks)
        const list = yield* execute(client, kaltura.services.baseEntry.listAction())
        assert.isTrue(list._tag === "Right", JSON.stringify(list))
        assert.strictEqual((list as any).right.totalCount, 3)
        assert.strictEqual((list as any).right.objects.length, 3)

        // what crossed the wire: exact JSON content type, format 1, ks in the body, never the token
        const log = yield* fake.requests
        assert.deepStrictEqual(log.map((entry) => `${entry.service}.${entry.action}`), [
          "session.startwidgetsession",
          "apptoken.startsession",
          "baseentry.list"
        ])
        for (const entry of log) {
          assert.strictEqual(entry.headers["content-type"], "application/json")
          assert.strictEqual(entry.params.format, 1)
          assert.notInclude(entry.body, token.token)
        }
        assert.strictEqual(log[1]!.params.ks, widgetResponse.ks)
        assert.strictEqual(log[1]!.params.tokenHash, hash)
        assert.isString(log[1]!.params.kalsig)
      })
    ))

  it.live("a wrong hash is rejected with the raw error object, args []", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const token = yield* fake.seedAppToken({ hashType: "SHA256" })
        const client = makeClient(fake.url)
        const widget = yield* execute(client, kaltura.services.session.startWidgetSession(`_${fake.partnerId}`))
        const ks = (widget as any).right.ks as string
        client.setKs(ks)
        const upper = createHash("sha256").update(ks + token.token).digest("hex").toUpperCase()
        for (const tokenHash of [upper, token.token]) {
          const result = yield* execute(
            client,
            kaltura.services.appToken.startSession(token.id, tokenHash, "user@x", kaltura.enums.SessionType.ADMIN)
          )
          assert.strictEqual(result._tag, "Left")
          const error = (result as any).left
          assert.notInstanceOf(error, Error)
          assert.deepStrictEqual(error, {
            code: "INVALID_APP_TOKEN_HASH",
            message: "Invalid application token hash",
            objectType: "KalturaAPIException",
            args: []
          })
        }
      })
    ))

  it.live("a multirequest from the client: 0-based, {1:result:ks} counted from 1", () =>
    withFake((fake) =>
      Effect.gen(function*() {
        const client = makeClient(fake.url)
        const request = kaltura.services.session.startWidgetSession(`_${fake.partnerId}`, 600).add(
          kaltura.services.appToken.startSession("0_missing", "{1:result:ks}")
        )
        const result = yield* execute(client, request)
        assert.isTrue(result._tag === "Right", JSON.stringify(result))
        const [widget, session] = (result as any).right
        assert.strictEqual(widget.objectType, "KalturaStartWidgetSessionResponse")
        // the second call ran with no KS: SERVICE_FORBIDDEN; its tokenHash was resolved from the first result
        assert.strictEqual(session.code, "SERVICE_FORBIDDEN")
        const subParams = (yield* fake.requests)[0]!.params["1"] as Record<string, unknown>
        assert.strictEqual(subParams.tokenHash, "{1:result:ks}")
      })
    ))
})
