/**
 * An in-memory `HttpClient`: a handler answers each Kaltura API request (no socket, so it is safe under
 * `TestClock`), and the core stack built on it.
 */
import { HttpClient, HttpClientResponse } from "@effect/platform"
import {
  AppTokenSession,
  KalturaApi,
  KalturaClient,
  KalturaConfig,
  SessionStore,
  TokenHasher,
  WidgetSession
} from "@kaltura-effect/core"
import { Clock, Effect, Layer } from "effect"

export interface MemoryRequest {
  readonly url: string
  readonly method: string
  readonly headers: Readonly<Record<string, string>>
  /** `service/action` as in the URL, e.g. `apptoken/startSession`. */
  readonly route: string
  readonly rawBody: string
  readonly body: Record<string, unknown>
  /** `Clock` milliseconds. */
  readonly at: number
}

export interface MemoryReply {
  readonly status?: number | undefined
  readonly body: string
  readonly headers?: Readonly<Record<string, string>> | undefined
}

export const jsonReply = (value: unknown, headers?: Record<string, string>): MemoryReply => ({
  body: JSON.stringify(value),
  headers: { "content-type": "application/json", ...headers }
})

const decoder = new TextDecoder()

export const client = (
  handler: (request: MemoryRequest) => MemoryReply | Effect.Effect<MemoryReply>,
  requests?: Array<MemoryRequest>
): HttpClient.HttpClient =>
  HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const rawBody = request.body._tag === "Uint8Array" ? decoder.decode(request.body.body) : ""
      let body: Record<string, unknown> = {}
      try {
        const parsed = JSON.parse(rawBody)
        if (typeof parsed === "object" && parsed !== null) body = parsed
      } catch {
        // not JSON
      }
      const match = /\/api_v3\/service\/([^/]+)\/action\/([^/?]+)/.exec(url.pathname)
      const recorded: MemoryRequest = {
        url: url.href,
        method: request.method,
        headers: request.headers,
        route: match ? `${match[1]}/${match[2]}` : "",
        rawBody,
        body,
        at
      }
      requests?.push(recorded)
      const result = handler(recorded)
      const reply = Effect.isEffect(result) ? yield* result : result
      return HttpClientResponse.fromWeb(
        request,
        new Response(reply.body, { status: reply.status ?? 200, headers: reply.headers ?? {} })
      )
    })
  )

/** Config, transport (on `httpClient`), the portable hasher, the widget session, the session and the client, as `NodeAppToken.layerFrom` wires them. */
export const stack = (
  options: KalturaConfig.Options,
  httpClient: HttpClient.HttpClient,
  tuning?: { readonly api?: KalturaApi.Options | undefined; readonly session?: AppTokenSession.Options | undefined }
) =>
  KalturaClient.layer.pipe(
    Layer.provideMerge(AppTokenSession.layer(tuning?.session)),
    Layer.provideMerge(WidgetSession.layer),
    Layer.provideMerge(SessionStore.layerNone),
    Layer.provideMerge(KalturaApi.layer(tuning?.api)),
    Layer.provide(TokenHasher.layer),
    Layer.provide(Layer.succeed(HttpClient.HttpClient, httpClient)),
    Layer.provideMerge(KalturaConfig.layer(options))
  )
