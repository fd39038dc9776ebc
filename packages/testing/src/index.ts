/**
 * A faithful fake Kaltura API server over real loopback HTTP: `session.startWidgetSession`, `appToken.startSession`
 * and CRUD, `session.get/start/end`, `baseEntry.list` and multirequest, with the real server's validation order,
 * error bodies and KS v2 format, plus an admin handle for tests (seeding, faults, outages, clock skew and a request
 * log).
 *
 * @since 0.1.0
 */
export * as FakeKaltura from "./FakeKaltura.js"

/**
 * Faults a test can script on the fake Kaltura server, per action: infrastructure failures (503, 502 with an HTML
 * body, connection reset, truncated JSON, any raw response), a delay, and a KS reported expired.
 *
 * @since 0.1.0
 */
export * as FakeKalturaFault from "./FakeKalturaFault.js"

/**
 * Kaltura Session (KS) strings: v2 (AES-128-CBC, the SaaS default) and v1 (SHA1-signed, readable) encoding and
 * decoding, privilege strings and the app-token hash, exactly as the Kaltura server computes them (spec §1.3, §1.5,
 * §3). Pure and synchronous; the random parts are injectable so the spec's test vectors can be reproduced.
 *
 * @since 0.1.0
 */
export * as Ks from "./Ks.js"

/**
 * A real `redis-server` for tests, on a free loopback port with no persistence; stopped with the scope, and
 * stoppable and restartable for outages.
 *
 * @since 0.2.0
 */
export * as RedisServer from "./RedisServer.js"
