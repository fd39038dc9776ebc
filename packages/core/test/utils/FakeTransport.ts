/**
 * A scripted, in-memory `HttpClient` for unit tests: it records every request (URL, method, headers,
 * parsed JSON body) and answers each `service/action` from a queue of scripted replies, falling back to a
 * per-route default. No sockets, so it is safe under `TestClock`.
 */
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Clock, Effect, Layer } from "effect"

/** One request as the server would have seen it. */
export interface Recorded {
  readonly url: string
  readonly method: string
  /** When it was sent, `Clock` milliseconds (`TestClock` time in tests). */
  readonly at: number
  readonly headers: Readonly<Record<string, string>>
  /**
   * `service/action` in lower case, e.g. `apptoken/startsession`, or `multirequest`; `""` when the URL is neither.
   */
  readonly route: string
  readonly rawBody: string
  /** The parsed JSON body (an empty object when the body is not a JSON object). */
  readonly body: Readonly<Record<string, unknown>>
}

/** What the fake answers with. */
export type Reply =
  | {
    readonly _tag: "Http"
    readonly status: number
    readonly body: string
    readonly headers: Readonly<Record<string, string>>
  }
  | { readonly _tag: "TransportError"; readonly description?: string | undefined }
  | { readonly _tag: "Never" }

const jsonHeaders = { "content-type": "application/json" }

/** A 200 (or `status`) JSON answer. */
export const json = (body: unknown, options?: {
  readonly status?: number | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}): Reply => ({
  _tag: "Http",
  status: options?.status ?? 200,
  body: JSON.stringify(body),
  headers: { ...jsonHeaders, ...options?.headers }
})

/** A raw text answer (HTML, truncated JSON, an empty 503, ...). */
export const text = (body: string, options?: {
  readonly status?: number | undefined
  readonly contentType?: string | undefined
}): Reply => ({
  _tag: "Http",
  status: options?.status ?? 200,
  body,
  headers: { "content-type": options?.contentType ?? "text/html" }
})

/** Kaltura's HTTP-200 error body. */
export const apiError = (
  code: string,
  message: string,
  args: Readonly<Record<string, unknown>> | ReadonlyArray<never> = []
): Reply => json({ code, message, objectType: "KalturaAPIException", args })

/** `HttpClientError.RequestError` with reason `Transport` (connection refused, reset, DNS). */
export const transportError = (description?: string): Reply => ({ _tag: "TransportError", description })

/** A request that is never answered. */
export const never: Reply = { _tag: "Never" }

/** The fake and what it recorded. */
export interface FakeTransport {
  readonly client: HttpClient.HttpClient
  readonly layer: Layer.Layer<HttpClient.HttpClient>
  /** Every request so far, in order. */
  readonly requests: () => ReadonlyArray<Recorded>
  /** The requests to one route (`service/action`). */
  readonly requestsTo: (route: string) => ReadonlyArray<Recorded>
  /** Appends replies to a route's queue; they are used once each, in order. */
  readonly enqueue: (route: string, ...replies: ReadonlyArray<Reply>) => void
  /** The reply used for a route when its queue is empty. */
  readonly setDefault: (route: string, reply: Reply) => void
  /** Answers a route by looking at each request (used when its queue is empty; wins over the default). */
  readonly respond: (route: string, handler: (request: Recorded) => Reply) => void
}

// Kaltura matches service and action names in any case: so do routes here (`baseEntry/list` = `baseentry/list`).
const routeOf = (url: string): string => {
  if (/\/api_v3\/service\/multirequest\/?(?:[?#]|$)/.test(url)) return "multirequest"
  const match = /\/api_v3\/service\/([^/]+)\/action\/([^/?#]+)/.exec(url)
  return match === null ? "" : `${match[1]}/${match[2]}`.toLowerCase()
}
const normalise = (route: string) => route.toLowerCase()

const bodyText = (request: HttpClientRequest.HttpClientRequest): string =>
  request.body._tag === "Uint8Array" ? new TextDecoder().decode(request.body.body) : ""

const parseBody = (raw: string): Record<string, unknown> => {
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

/**
 * Builds a fake. A request to a route with no scripted reply and no default is a defect, so a test that
 * forgets to script a reply fails loudly.
 */
export const make = (defaults?: Readonly<Record<string, Reply>>): FakeTransport => {
  const recorded: Array<Recorded> = []
  const queues = new Map<string, Array<Reply>>()
  const fallbacks = new Map<string, Reply>(
    Object.entries(defaults ?? {}).map(([route, reply]) => [normalise(route), reply])
  )
  const handlers = new Map<string, (request: Recorded) => Reply>()

  const client = HttpClient.make((request, url) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const rawBody = bodyText(request)
      const route = routeOf(url.href)
      const entry: Recorded = {
        url: url.href,
        method: request.method,
        at,
        headers: { ...request.headers },
        route,
        rawBody,
        body: parseBody(rawBody)
      }
      recorded.push(entry)
      const reply = queues.get(route)?.shift() ?? handlers.get(route)?.(entry) ?? fallbacks.get(route)
      if (reply === undefined) return Effect.dieMessage(`FakeTransport: no reply scripted for "${route}"`)
      switch (reply._tag) {
        case "Never":
          return Effect.never
        case "TransportError":
          return Effect.fail(
            new HttpClientError.RequestError({
              request,
              reason: "Transport",
              ...(reply.description === undefined ? {} : { description: reply.description })
            })
          )
        case "Http":
          return Effect.succeed(
            HttpClientResponse.fromWeb(
              request,
              new Response(reply.body, { status: reply.status, headers: reply.headers })
            )
          )
      }
    })
  )

  return {
    client,
    layer: Layer.succeed(HttpClient.HttpClient, client),
    requests: () => recorded.slice(),
    requestsTo: (route) => recorded.filter((r) => r.route === normalise(route)),
    enqueue: (route, ...replies) => {
      const queue = queues.get(normalise(route)) ?? []
      queue.push(...replies)
      queues.set(normalise(route), queue)
    },
    setDefault: (route, reply) => {
      fallbacks.set(normalise(route), reply)
    },
    respond: (route, handler) => {
      handlers.set(normalise(route), handler)
    }
  }
}
