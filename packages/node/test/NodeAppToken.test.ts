import { assert, describe, it } from "@effect/vitest"
import * as AppTokenSession from "@kaltura-effect/core/AppTokenSession"
import * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import type * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import { ConfigProvider, Effect, Logger, LogLevel, Redacted, Schedule, Schema } from "effect"
import * as Http from "node:http"
import * as Net from "node:net"
import type { AddressInfo } from "node:net"
import * as NodeAppToken from "../src/NodeAppToken.js"

const token = "a1b2c3d4e5f60718293a4b5c6d7e8f90"

/** A loopback HTTP server that counts requests and answers 404 to all of them. */
const countingServer = Effect.acquireRelease(
  Effect.async<{ readonly url: string; readonly count: () => number; readonly paths: Array<string> }>((resume) => {
    const paths: Array<string> = []
    const server = Http.createServer((request, response) => {
      paths.push(request.url ?? "")
      request.resume()
      response.writeHead(404, { "content-type": "text/plain" }).end("Not Found")
    })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, count: () => paths.length, paths, server } as const))
    })
  }),
  (handle) => Effect.async<void>((resume) => (handle as any).server.close(() => resume(Effect.void)))
)

const getKs = Effect.flatMap(AppTokenSession.AppTokenSession, (session) => session.ks)

/** A loopback HTTP server answering every request with `answer`; records each request's connection. */
const scriptedServer = (answer: (response: Http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly connections: Array<Net.Socket>; readonly server: Http.Server }>(
      (resume) => {
        const connections: Array<Net.Socket> = []
        const server = Http.createServer((request, response) => {
          connections.push(request.socket)
          request.resume()
          request.on("end", () => answer(response))
        })
        server.listen(0, "127.0.0.1", () => {
          const { port } = server.address() as AddressInfo
          resume(Effect.succeed({ url: `http://127.0.0.1:${port}`, connections, server }))
        })
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

/** A loopback port that nothing listens on. */
const closedPort = Effect.async<number>((resume) => {
  const server = Net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo
    server.close(() => resume(Effect.succeed(port)))
  })
})

const options = (serviceUrl: string): KalturaConfig.Options => ({
  serviceUrl,
  partnerId: 12345,
  appTokenId: "0_ab12cd34",
  token: Redacted.make(token)
})

const ping = Effect.flatMap(
  KalturaApi.KalturaApi,
  (api) => api.call({ service: "system", action: "ping" }, Schema.Boolean)
)

describe("NodeAppToken", () => {
  for (
    const [label, bad, field] of [
      ["partnerId 0", { partnerId: 0 }, "partnerId"],
      ["an empty token", { token: Redacted.make("") }, "token"],
      ["an http:// service URL to a remote host", { serviceUrl: "http://www.kaltura.com" }, "serviceUrl"],
      ["session type 1", { sessionType: 1 as any }, "sessionType"]
    ] as const
  ) {
    it.scopedLive(`layer with ${label} fails with KalturaConfigError before any request`, () =>
      Effect.gen(function*() {
        const server = yield* countingServer
        const good: KalturaConfig.Options = {
          serviceUrl: server.url,
          partnerId: 12345,
          appTokenId: "0_ab12cd34",
          token: Redacted.make(token)
        }
        const options: KalturaConfig.Options = { ...good, ...bad }
        const error = yield* Effect.flip(Effect.provide(getKs, NodeAppToken.layer(options)))
        assert.strictEqual(error._tag, "KalturaConfigError")
        if (error._tag !== "KalturaConfigError") return
        assert.strictEqual(error.field, field)
        assert.notInclude(error.message, token)
        assert.strictEqual(server.count(), 0)
      }))
  }

  it.scopedLive("layer with good options reaches the service URL (the control for the tests above)", () =>
    Effect.gen(function*() {
      const server = yield* countingServer
      const error = yield* Effect.flip(
        Effect.provide(
          getKs,
          NodeAppToken.layer({
            serviceUrl: server.url,
            partnerId: 12345,
            appTokenId: "0_ab12cd34",
            token: Redacted.make(token)
          }, { api: { timeout: "2 seconds" } })
        ).pipe(Logger.withMinimumLogLevel(LogLevel.None))
      )
      assert.strictEqual(error._tag, "KalturaHttpError")
      if (error._tag !== "KalturaHttpError") return
      assert.strictEqual(error.status, 404)
      assert.strictEqual(error.attempts, 1)
      assert.deepStrictEqual(server.paths, ["/api_v3/service/session/action/startWidgetSession"])
    }))

  it.effect("layerConfig with a missing variable fails with KalturaConfigError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(getKs, NodeAppToken.layerConfig())).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["KALTURA_PARTNER_ID", "12345"], ["KALTURA_APP_TOKEN", token]]),
          { pathDelim: "_" }
        ))
      )
      assert.strictEqual(error._tag, "KalturaConfigError")
      if (error._tag !== "KalturaConfigError") return
      assert.strictEqual(error.field, "appTokenId")
      assert.strictEqual(error.env, "KALTURA_APP_TOKEN_ID")
      assert.notInclude(error.message, token)
    }))

  it.effect("AppTokenLive reads KALTURA_* and refuses a bad hash type", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(getKs, NodeAppToken.AppTokenLive)).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([
            ["KALTURA_PARTNER_ID", "12345"],
            ["KALTURA_APP_TOKEN_ID", "0_ab12cd34"],
            ["KALTURA_APP_TOKEN", token],
            ["KALTURA_APP_TOKEN_HASH_TYPE", "sha3"]
          ]),
          { pathDelim: "_" }
        ))
      )
      assert.strictEqual(error._tag, "KalturaConfigError")
      if (error._tag !== "KalturaConfigError") return
      assert.strictEqual(error.field, "hashType")
      assert.strictEqual(error.env, "KALTURA_APP_TOKEN_HASH_TYPE")
    }))

  describe("the HTTP client (node:http on a keep-alive agent)", () => {
    it.scopedLive("calls of one layer reuse one connection", () =>
      Effect.gen(function*() {
        const server = yield* scriptedServer((response) =>
          response.writeHead(200, { "content-type": "application/json" }).end("true")
        )
        yield* Effect.provide(Effect.all([ping, ping, ping]), NodeAppToken.layer(options(server.url)))
        assert.strictEqual(server.connections.length, 3)
        assert.strictEqual(new Set(server.connections).size, 1)
      }))

    it.scopedLive("an error response, whose body KalturaApi does not read, does not keep its connection", () =>
      Effect.gen(function*() {
        const server = yield* scriptedServer((response) =>
          response.writeHead(503, { "content-type": "text/html" }).end("<html>busy</html>")
        )
        const openConnections = Effect.async<number>((resume) => {
          server.server.getConnections((_, count) => resume(Effect.succeed(count)))
        })
        const open = yield* Effect.provide(
          Effect.gen(function*() {
            for (let i = 0; i < 5; i++) {
              const error = yield* Effect.flip(ping)
              assert.strictEqual(error._tag, "KalturaHttpError")
            }
            yield* Effect.sleep("100 millis")
            return yield* openConnections
          }),
          NodeAppToken.layer(options(server.url), { api: { retrySchedule: Schedule.recurs(0) } })
        )
        assert.strictEqual(server.connections.length, 5)
        assert.strictEqual(open, 0)
      }))

    it.scopedLive("a redirect is answered as it is (KalturaHttpError), never followed", () =>
      Effect.gen(function*() {
        const elsewhere = yield* scriptedServer((response) => response.writeHead(200).end("true"))
        for (const status of [301, 302, 307, 308]) {
          const server = yield* scriptedServer((response) =>
            response.writeHead(status, { location: `${elsewhere.url}/api_v3/service/system/action/ping` }).end()
          )
          const error = yield* Effect.flip(Effect.provide(ping, NodeAppToken.layer(options(server.url))))
          assert.strictEqual(error._tag, "KalturaHttpError")
          if (error._tag !== "KalturaHttpError") return
          assert.strictEqual(error.status, status)
          assert.strictEqual(error.attempts, 1)
        }
        assert.strictEqual(elsewhere.connections.length, 0)
      }))

    it.scopedLive("a refused connection is a transport error naming ECONNREFUSED", () =>
      Effect.gen(function*() {
        const port = yield* closedPort
        const error = yield* Effect.flip(
          Effect.provide(
            ping,
            NodeAppToken.layer(options(`http://127.0.0.1:${port}`), {
              api: { retrySchedule: Schedule.recurs(0) }
            })
          )
        )
        assert.strictEqual(error._tag, "KalturaTransportError")
        if (error._tag !== "KalturaTransportError") return
        assert.strictEqual(error.reason, "Transport")
        assert.include(error.description, "ECONNREFUSED")
      }))
  })
})
