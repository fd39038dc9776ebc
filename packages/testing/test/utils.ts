import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { createHash } from "node:crypto"

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

/** Widget KS → hash → `appToken.startSession`, returning the exchange. */
export const startSession = (
  baseUrl: string,
  token: { readonly id: string; readonly token: string; readonly hashType: "MD5" | "SHA1" | "SHA256" | "SHA512" },
  params: Record<string, unknown> = {},
  partnerId = 12345
) =>
  Effect.flatMap(widgetKs(baseUrl, partnerId), (ks) =>
    call(baseUrl, "apptoken", "startSession", {
      id: token.id,
      tokenHash: createHash(token.hashType.toLowerCase()).update(ks + token.token).digest("hex"),
      ks,
      ...params
    }))

/** Asserts an API error body: HTTP 200, exact key order, and returns the parsed body. */
export const expectApiError = (exchange: Exchange, code: string, message: string, args: unknown) => {
  assert.strictEqual(exchange.status, 200, exchange.text)
  assert.deepStrictEqual(Object.keys(exchange.json ?? {}), ["code", "message", "objectType", "args"], exchange.text)
  assert.strictEqual(exchange.json.code, code, exchange.text)
  assert.strictEqual(exchange.json.message, message)
  assert.strictEqual(exchange.json.objectType, "KalturaAPIException")
  assert.deepStrictEqual(exchange.json.args, args)
}

/** The INVALID_KS body for a reason / KS string. */
export const expectInvalidKs = (exchange: Exchange, ksid: string) =>
  expectApiError(exchange, "INVALID_KS", `Invalid KS "${ksid}", Error "-1,INVALID_STR"`, {
    KSID: ksid,
    ERR_CODE: "-1",
    ERR_DESC: "INVALID_STR"
  })
