/**
 * An in-memory Kaltura for the benchmarks that must not spend their time on sockets: an `HttpClient` that
 * answers `session.startWidgetSession` and `appToken.startSession` with canned JSON (a fresh KS each time,
 * a `Date` header and an absolute `expiry`), and counts the calls.
 *
 * @since 0.1.0
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

/**
 * The partner every in-memory session is for.
 *
 * @since 0.1.0
 * @category Constants
 */
export const partnerId = 12345

/**
 * The service URL to configure (never contacted).
 *
 * @since 0.1.0
 * @category Constants
 */
export const serviceUrl = "http://127.0.0.1:9"

/**
 * A token value (32 hex characters).
 *
 * @since 0.1.0
 * @category Constants
 */
export const token = "0123456789abcdef0123456789abcdef"

/**
 * @since 0.1.0
 * @category Models
 */
export interface InMemoryKaltura {
  readonly client: HttpClient.HttpClient
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  readonly counts: { widget: number; startSession: number }
}

// A realistic KS length (a v2 KS with privileges is ~200 characters of url-safe base64).
const ksBody = Buffer.from("v2|12345|".padEnd(140, "x")).toString("base64url")

const headersFor = () => ({ "content-type": "application/json", date: new Date().toUTCString() })

/**
 * Builds the transport. Sessions live `lifetimeSeconds` (default 86400).
 *
 * @since 0.1.0
 * @category Constructors
 */
export const make = (options?: { readonly lifetimeSeconds?: number | undefined }): InMemoryKaltura => {
  const lifetime = options?.lifetimeSeconds ?? 86400
  const counts = { widget: 0, startSession: 0 }
  let sequence = 0
  const client = HttpClient.make((request, url) =>
    Effect.sync(() => {
      const path = url.pathname.toLowerCase()
      let body: string
      if (path.endsWith("/service/session/action/startwidgetsession")) {
        counts.widget++
        body = JSON.stringify({
          partnerId,
          ks: `${ksBody}w${++sequence}`,
          userId: 0,
          objectType: "KalturaStartWidgetSessionResponse"
        })
      } else if (path.endsWith("/service/apptoken/action/startsession")) {
        counts.startSession++
        body = JSON.stringify({
          ks: `${ksBody}s${++sequence}`,
          sessionType: 0,
          partnerId: String(partnerId),
          userId: "",
          expiry: Math.floor(Date.now() / 1000) + lifetime,
          privileges: "sessionid:0_bench,apptoken:0_bench",
          objectType: "KalturaSessionInfo"
        })
      } else {
        body = JSON.stringify({
          code: "SERVICE_DOES_NOT_EXISTS",
          message: "no such service",
          objectType: "KalturaAPIException",
          args: []
        })
      }
      return HttpClientResponse.fromWeb(request, new Response(body, { status: 200, headers: headersFor() }))
    })
  )
  return { client, layer: Layer.succeed(HttpClient.HttpClient, client), counts }
}
