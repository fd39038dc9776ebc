/**
 * A faithful fake Kaltura API server over real loopback HTTP: `session.startWidgetSession`, `appToken.startSession`
 * and CRUD, `session.get/start/end`, `baseEntry.list`, `system.ping` and multirequest, with the real server's validation order,
 * error bodies and KS v2 format, plus an admin handle for tests (seeding, faults, outages, clock skew and a request
 * log).
 *
 * @since 0.1.0
 */
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as FakeKalturaFault from "./FakeKalturaFault.js"
import * as internal from "./internal/server.js"
import type * as Ks from "./Ks.js"

/**
 * The id of the partner every server is seeded with.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultPartnerId = 12345

/**
 * The admin secret of the default partner (the secret of the spec's KS test vectors).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultAdminSecret = "0123456789abcdef0123456789abcdef"

/**
 * The user secret of the default partner.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultUserSecret = "fedcba9876543210fedcba9876543210"

/**
 * A partner (account).
 *
 * @since 0.1.0
 * @category models
 */
export interface Partner {
  readonly id: number
  /** Generation uses the first; parsing tries each in turn (rotation). */
  readonly adminSecrets: ReadonlyArray<string>
  readonly secret: string
  /** `ksMaxExpiryInSeconds`: caps widget sessions and is the default `sessionDuration` of new app tokens. */
  readonly ksMaxExpiry: number
  /** The KS version this partner's sessions are minted with. */
  readonly ksVersion: 1 | 2
  /** A blocked partner gets `SERVICE_FORBIDDEN_CONTENT_BLOCKED`. */
  readonly blocked: boolean
}

/**
 * Options to seed a partner.
 *
 * @since 0.1.0
 * @category models
 */
export interface PartnerOptions {
  readonly id: number
  readonly adminSecret?: string | undefined
  /** Several admin secrets (the first generates). Overrides `adminSecret`. */
  readonly adminSecrets?: ReadonlyArray<string> | undefined
  readonly secret?: string | undefined
  /** Default 86400. */
  readonly ksMaxExpiry?: number | undefined
  /** Default 2. */
  readonly ksVersion?: 1 | 2 | undefined
  readonly blocked?: boolean | undefined
  /** Seed three media entries for `baseEntry.list` (default `true`). */
  readonly seedEntries?: boolean | undefined
}

/**
 * `KalturaAppTokenStatus`: `1` DISABLED, `2` ACTIVE, `3` DELETED.
 *
 * @since 0.1.0
 * @category models
 */
export type AppTokenStatus = 1 | 2 | 3

/**
 * An app token as the server stores it (`KalturaAppToken`). `undefined` fields are absent (null) on the wire.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppToken {
  readonly id: string
  /** 32 lower-case hex characters: the secret the client hashes with. */
  readonly token: string
  readonly partnerId: number
  readonly createdAt: number
  readonly updatedAt: number
  readonly status: AppTokenStatus
  /** Absolute unix seconds, or no expiry. */
  readonly expiry: number | undefined
  readonly sessionType: Ks.SessionType | undefined
  readonly sessionUserId: string | undefined
  /**
   * Seconds. `undefined` only after an `appToken.update` with `sessionDuration__null`: the real server then mints
   * sessions that are already expired.
   */
  readonly sessionDuration: number | undefined
  readonly sessionPrivileges: string | undefined
  readonly hashType: Ks.HashType
  readonly description: string | undefined
}

/**
 * Options to seed an app token. Defaults are those of `appToken.add`: a random id and token, status ACTIVE,
 * `hashType` SHA1, `sessionDuration` = the partner's `ksMaxExpiry`, no expiry.
 *
 * @since 0.1.0
 * @category models
 */
export interface AppTokenOptions {
  /** Default: the default partner. */
  readonly partnerId?: number | undefined
  /** A fixed id, e.g. `0_abcd1234`. */
  readonly id?: string | undefined
  /** A fixed token value. */
  readonly token?: string | undefined
  readonly hashType?: Ks.HashType | undefined
  readonly status?: AppTokenStatus | undefined
  /** Absolute unix seconds (server clock). */
  readonly expiry?: number | undefined
  /** Seconds from the server's now; an alternative to `expiry`. */
  readonly expiresIn?: number | undefined
  readonly sessionDuration?: number | undefined
  readonly sessionType?: Ks.SessionType | undefined
  readonly sessionUserId?: string | undefined
  readonly sessionPrivileges?: string | undefined
  readonly description?: string | undefined
}

/**
 * A seeded media entry, listed by `baseEntry.list`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly id: string
  readonly partnerId: number
  readonly name: string
  readonly description: string
  readonly status: number
  readonly mediaType: number
  readonly createdAt: number
}

/**
 * Options to mint a KS directly (e.g. an ADMIN KS for `appToken.add`, or an expired one).
 *
 * @since 0.1.0
 * @category models
 */
export interface MintKsOptions {
  /** Default: the default partner. */
  readonly partnerId?: number | undefined
  /** Default 2 (ADMIN). */
  readonly type?: number | undefined
  /** Default `""`. */
  readonly userId?: string | undefined
  readonly privileges?: string | undefined
  /** Seconds from the server's now (default 86400; 0 or negative gives an expired KS). */
  readonly expiry?: number | undefined
  /** Default: the partner's `ksVersion`. */
  readonly version?: 1 | 2 | undefined
}

/**
 * One HTTP request as it crossed the wire, and what the server answered.
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestLogEntry {
  /** 1, 2, … in arrival order. */
  readonly sequence: number
  /** Server clock, unix milliseconds. */
  readonly time: number
  readonly method: string
  /** Path and query string, as received. */
  readonly url: string
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>
  /** The raw request body. */
  readonly body: string
  /** The parameters the server read (URL over body, nested). */
  readonly params: Readonly<Record<string, unknown>>
  /** Lower-case service name, `"multirequest"`, or `undefined` for an unknown route. */
  readonly service: string | undefined
  /** Lower-case action name. */
  readonly action: string | undefined
  /** The HTTP status sent, or `undefined` when the connection was reset. */
  readonly status: number | undefined
  /** The Kaltura error code when the (single) call failed with an API error. */
  readonly errorCode: string | undefined
  /** The scripted fault applied, if any. */
  readonly fault: FakeKalturaFault.FakeKalturaFault["_tag"] | undefined
  /** The body sent, or `undefined` when the connection was reset. */
  readonly responseBody: string | undefined
}

/**
 * A fault waiting to be applied.
 *
 * @since 0.1.0
 * @category models
 */
export interface PendingFault {
  /** `service.action` lower-cased, `"multirequest"`, or `"*"` for any request. */
  readonly action: string
  readonly fault: FakeKalturaFault.FakeKalturaFault
  readonly remaining: number
}

/**
 * Options of a fake server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default 0 (a free port). The server always binds 127.0.0.1. */
  readonly port?: number | undefined
  /** Overrides of the default partner (id 12345, secret `defaultAdminSecret`). */
  readonly partner?: Partial<PartnerOptions> | undefined
  /** Initial server clock offset in milliseconds (positive: the server is ahead of the client). */
  readonly clockOffsetMillis?: number | undefined
  /**
   * Use the live clock whatever `Clock` the layer is built with (e.g. `@effect/vitest`'s `layer(...)` provides a
   * `TestClock`). Default `false`: the server uses the `Clock` of the fiber that builds it, so a test under
   * `TestClock` can expire sessions and tokens with `TestClock.adjust`.
   */
  readonly liveClock?: boolean | undefined
  /**
   * Let a widget KS call `baseEntry.list` (the real permission model lets the player do so). Default `false`: the
   * fake requires a non-widget KS, so a test proves the client moved on to the app-token KS.
   */
  readonly allowWidgetKsForBaseEntryList?: boolean | undefined
  /**
   * Serve an identical `startWidgetSession` request (same widget id, expiry and ks) from a 600-second cache, as the
   * real API cache may: the same KS comes back, with up to 600 s less lifetime than requested. Default `false`.
   */
  readonly widgetSessionCache?: boolean | undefined
}

/**
 * The admin handle of a running fake server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `http://127.0.0.1:<port>`: the Kaltura service URL to configure clients with. */
  readonly url: string
  readonly port: number
  /** The default partner's id (12345 unless overridden). */
  readonly partnerId: number
  /** The default partner's admin secret. */
  readonly adminSecret: string
  /** `"_" + partnerId`: the default widget id. */
  readonly widgetId: string

  /** Adds or replaces a partner. */
  readonly seedPartner: (options: PartnerOptions) => Effect.Effect<Partner>
  /** Adds an app token (default partner unless `partnerId`); dies if the partner is unknown. */
  readonly seedAppToken: (options?: AppTokenOptions) => Effect.Effect<AppToken>
  /** An app token by id (deleted ones included, with status 3). */
  readonly getAppToken: (id: string) => Effect.Effect<Option.Option<AppToken>>
  /** Every app token, in creation order. */
  readonly appTokens: Effect.Effect<ReadonlyArray<AppToken>>
  /** Replaces fields of a token (any field, e.g. `status` or `expiry`, which the API cannot set). */
  readonly updateAppToken: (
    id: string,
    patch: Partial<Omit<AppToken, "id" | "partnerId">>
  ) => Effect.Effect<AppToken>
  /** Status DISABLED (1): `startSession` then fails with `APP_TOKEN_NOT_ACTIVE`. */
  readonly disableAppToken: (id: string) => Effect.Effect<AppToken>
  /** Status ACTIVE (2). */
  readonly enableAppToken: (id: string) => Effect.Effect<AppToken>
  /** Expiry one second before the server's now: `startSession` then fails with `APP_TOKEN_EXPIRED`. */
  readonly expireAppToken: (id: string) => Effect.Effect<AppToken>
  /** As `appToken.delete`: status DELETED and every KS minted from the token revoked (`INVALID_KS` `LOGOUT`). */
  readonly deleteAppToken: (id: string) => Effect.Effect<void>
  /** Revokes one KS (as `session.end` does for the KS itself), by its hash; a KS the server cannot read is ignored. */
  readonly revokeKs: (ks: string) => Effect.Effect<void>
  /** Mints a KS signed with the partner's admin secret. */
  readonly mintKs: (options?: MintKsOptions) => Effect.Effect<string>
  /** Decodes a KS with the server's secrets. */
  readonly decodeKs: (ks: string) => Effect.Effect<Option.Option<Ks.KsData>>

  /** Scripts a fault for the next `times` (default 1) requests to `action` (`"appToken.startSession"`, `"*"`, …). */
  readonly injectFault: (
    action: string,
    fault: FakeKalturaFault.FakeKalturaFault,
    options?: { readonly times?: number | undefined }
  ) => Effect.Effect<void>
  /** Faults not applied yet. */
  readonly pendingFaults: Effect.Effect<ReadonlyArray<PendingFault>>
  readonly clearFaults: Effect.Effect<void>

  /**
   * Closes the listener and every open connection: clients get "connection refused". With a `duration` the server
   * listens again on the same port after that time (server clock); otherwise call `restore`.
   */
  readonly outage: (options?: { readonly duration?: Duration.DurationInput | undefined }) => Effect.Effect<void>
  /** Ends an outage: listens again on the same port. */
  readonly restore: Effect.Effect<void>
  /** Whether the listener is up. */
  readonly isUp: Effect.Effect<boolean>

  /** Sets the server clock offset (positive: the server is ahead of the client), in milliseconds. */
  readonly setClockOffset: (millis: number) => Effect.Effect<void>
  readonly clockOffset: Effect.Effect<number>
  /** The server's now, unix seconds (clock + offset). */
  readonly now: Effect.Effect<number>

  /** Every request so far, in arrival order. */
  readonly requests: Effect.Effect<ReadonlyArray<RequestLogEntry>>
  readonly clearRequests: Effect.Effect<void>
  /** Calls of an action (`"appToken.startSession"`, `"multirequest"`), multirequest sub-calls included. */
  readonly callCount: (action: string) => Effect.Effect<number>
  /** Every counter, keyed by lower-case `service.action`. */
  readonly callCounts: Effect.Effect<Readonly<Record<string, number>>>
}

/**
 * The admin handle of the fake Kaltura server.
 *
 * @since 0.1.0
 * @category tags
 */
export class FakeKaltura extends Context.Tag("@kaltura-effect/testing/FakeKaltura")<FakeKaltura, Service>() {}

/**
 * Starts a fake server on 127.0.0.1 in the current scope (closed when the scope closes) and returns its admin
 * handle.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: Options) => Effect.Effect<Service, HttpServerError.ServeError, Scope.Scope> =
  internal.make

/**
 * A fresh fake server per layer build, providing its admin handle.
 *
 * @example
 * ```ts
 * import { FakeKaltura } from "@kaltura-effect/testing"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const fake = yield* FakeKaltura.FakeKaltura
 *   const token = yield* fake.seedAppToken({ hashType: "SHA256" })
 *   // point your client at fake.url …
 * }).pipe(Effect.provide(FakeKaltura.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<FakeKaltura, HttpServerError.ServeError> =>
  Layer.scoped(FakeKaltura, make(options))

/**
 * The fake server plus an `HttpClient` (`FetchHttpClient`) to reach it; its URL is `FakeKaltura.url`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWithHttpClient = (
  options?: Options
): Layer.Layer<FakeKaltura | HttpClient.HttpClient, HttpServerError.ServeError> =>
  Layer.merge(layer(options), FetchHttpClient.layer)

/**
 * For `@effect/vitest`'s `layer(...)`, which builds layers under a `TestClock` shared by its tests: the server and
 * an `HttpClient`, on the live clock, so tests that cross real HTTP run with `it.live` (or `it.effect`) without
 * adjusting time.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerTest = (
  options?: Options
): Layer.Layer<FakeKaltura | HttpClient.HttpClient, HttpServerError.ServeError> =>
  layerWithHttpClient({ ...options, liveClock: true })
