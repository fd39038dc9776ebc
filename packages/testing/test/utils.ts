import { Effect } from "effect"

/** A raw HTTP exchange with the fake server (fetch, live time). */
export interface Exchange {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: any
}

const toExchange = (response: Response) =>
  Effect.promise(async (): Promise<Exchange> => {
    const text = await response.text()
    let json: unknown = undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json }
  })

/** Any request; 5 s timeout so a hang fails the test instead of blocking the suite. */
export const request = (url: string, init?: RequestInit) =>
  Effect.flatMap(
    Effect.tryPromise(() => fetch(url, { ...init, signal: AbortSignal.timeout(5_000) })),
    toExchange
  )

/** POST `/api_v3/service/<service>/action/<action>` with a JSON body (exact `application/json`) and `format: 1`. */
export const call = (
  baseUrl: string,
  service: string,
  action: string,
  params: Record<string, unknown> = {}
) =>
  request(`${baseUrl}/api_v3/service/${service}/action/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ ...params, format: 1 })
  })

/** The widget KS of a partner. */
export const widgetKs = (baseUrl: string, partnerId: number) =>
  Effect.map(call(baseUrl, "session", "startWidgetSession", { widgetId: `_${partnerId}` }), (exchange) => {
    if (typeof exchange.json?.ks !== "string") throw new Error(`no widget KS: ${exchange.text}`)
    return exchange.json.ks as string
  })
