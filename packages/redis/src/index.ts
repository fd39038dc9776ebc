/**
 * The session store on Redis, shared by a fleet: encrypted entries with a TTL at the KS deadline, a refresh lease,
 * Lua scripts for write-if-newer and delete-if-same, and every failure degraded to a miss.
 *
 * @since 0.2.0
 */
export * as RedisSessionStore from "./RedisSessionStore.js"
