/**
 * Managing App Tokens themselves (add, get, list, update, delete) with the partner's admin secret.
 *
 * @since 0.2.0
 */
export * as AppTokenAdmin from "./AppTokenAdmin.js"

/**
 * The privileged Kaltura Session obtained with an App Token, kept fresh for the life of the layer.
 *
 * @since 0.1.0
 */
export * as AppTokenSession from "./AppTokenSession.js"

/**
 * Many App Token sessions in one process, keyed by partner, token and user, bounded and evicting.
 *
 * @since 0.1.0
 */
export * as AppTokenSessions from "./AppTokenSessions.js"

/**
 * The Kaltura API v3 transport: one POST per call, JSON body, typed errors, retries.
 *
 * @since 0.1.0
 */
export * as KalturaApi from "./KalturaApi.js"

/**
 * Authenticated Kaltura API calls, with one refresh and retry on an expired or revoked KS.
 *
 * @since 0.1.0
 */
export * as KalturaClient from "./KalturaClient.js"

/**
 * The settings of one App Token, validated before any request.
 *
 * @since 0.1.0
 */
export * as KalturaConfig from "./KalturaConfig.js"

/**
 * The typed failures of a Kaltura API call and their classification.
 *
 * @since 0.1.0
 */
export * as KalturaError from "./KalturaError.js"

/**
 * Metrics of the session lifecycle.
 *
 * @since 0.1.0
 */
export * as KalturaMetrics from "./KalturaMetrics.js"

/**
 * A persistent, shared, encrypted store of App Token sessions: the service, its encryption and an in-memory store.
 *
 * @since 0.2.0
 */
export * as SessionStore from "./SessionStore.js"

/**
 * The App Token hash: lowercase hex of HASH(widget KS + token).
 *
 * @since 0.1.0
 */
export * as TokenHasher from "./TokenHasher.js"

/**
 * Step 1 of the flow: the unprivileged widget session.
 *
 * @since 0.1.0
 */
export * as WidgetSession from "./WidgetSession.js"
