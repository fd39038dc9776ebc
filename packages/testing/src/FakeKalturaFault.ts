/**
 * Faults a test can script on the fake Kaltura server, per action: infrastructure failures (503, 502 with an HTML
 * body, connection reset, truncated JSON, any raw response), a delay, and a KS reported expired.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import type * as Duration from "effect/Duration"

/**
 * A scripted fault. Inject one with `FakeKaltura.injectFault`.
 *
 * @since 0.1.0
 * @category models
 */
export type FakeKalturaFault = Data.TaggedEnum<{
  /** HTTP 503 with a small HTML body (what a load balancer sends). */
  ServiceUnavailable: {}
  /** HTTP 502 with an HTML body. */
  BadGateway: {}
  /** The server destroys the socket without answering (the client sees a reset / "socket hang up"). */
  ConnectionReset: {}
  /** Waits on the server's clock, then handles the request normally. */
  Delay: { readonly duration: Duration.DurationInput }
  /** Handles the request, then sends only the first half of its JSON body (status 200, `application/json`). */
  TruncatedJson: {}
  /** Answers `INVALID_KS` with `KSID "EXPIRED"`, whatever KS was sent (the server's clock ran ahead). */
  KsExpired: {}
  /** Any API error (HTTP 200, `KalturaAPIException` body in the request's format), e.g. `ACTION_BLOCKED`. */
  ApiError: {
    readonly code: string
    readonly message: string
    readonly args?: Readonly<Record<string, string>> | undefined
  }
  /** Any raw response. */
  Raw: {
    readonly status: number
    readonly body: string
    readonly contentType?: string | undefined
    readonly headers?: Readonly<Record<string, string>> | undefined
  }
}>

const {
  $is,
  $match,
  ApiError,
  BadGateway,
  ConnectionReset,
  Delay,
  KsExpired,
  Raw,
  ServiceUnavailable,
  TruncatedJson
} = Data.taggedEnum<FakeKalturaFault>()

/**
 * Tests a fault's tag.
 *
 * @since 0.1.0
 * @category guards
 */
export const is = $is

/**
 * Matches on a fault's tag.
 *
 * @since 0.1.0
 * @category pattern matching
 */
export const match = $match

/**
 * HTTP 503 with an HTML body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const serviceUnavailable: FakeKalturaFault = ServiceUnavailable()

/**
 * HTTP 502 with an HTML body.
 *
 * @since 0.1.0
 * @category constructors
 */
export const badGateway: FakeKalturaFault = BadGateway()

/**
 * The connection is reset: the server destroys the socket without a response.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connectionReset: FakeKalturaFault = ConnectionReset()

/**
 * The request is handled normally after a delay on the server's clock (live time: a real wait; `TestClock`: until
 * the clock is adjusted).
 *
 * @since 0.1.0
 * @category constructors
 */
export const delay = (duration: Duration.DurationInput): FakeKalturaFault => Delay({ duration })

/**
 * The request is handled, but only the first half of the JSON body is sent.
 *
 * @since 0.1.0
 * @category constructors
 */
export const truncatedJson: FakeKalturaFault = TruncatedJson()

/**
 * The call fails with `INVALID_KS` / `KSID "EXPIRED"` (HTTP 200), as if the KS had just expired.
 *
 * @since 0.1.0
 * @category constructors
 */
export const ksExpired: FakeKalturaFault = KsExpired()

/**
 * Any API error, answered as the server answers errors: HTTP 200 with `{code, message, objectType, args}` (`args`
 * `[]` when empty), e.g. the rate limiter's
 * `apiError({ code: "ACTION_BLOCKED", message: "Action \"startsession\" in service \"apptoken\" is blocked",
 * args: { ACTION_NAME: "startsession", SERVICE_NAME: "apptoken" } })`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const apiError = (options: {
  readonly code: string
  readonly message: string
  readonly args?: Readonly<Record<string, string>> | undefined
}): FakeKalturaFault => ApiError(options)

/**
 * Any raw response: status, body and optional content type (default `text/plain`) and headers.
 *
 * @since 0.1.0
 * @category constructors
 */
export const raw = (options: {
  readonly status: number
  readonly body: string
  readonly contentType?: string | undefined
  readonly headers?: Readonly<Record<string, string>> | undefined
}): FakeKalturaFault => Raw(options)
