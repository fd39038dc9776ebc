/**
 * The session store in files, shared by the processes of one machine: atomic writes, 0700/0600, lock files.
 *
 * @since 0.2.0
 */
export * as FileSessionStore from "./FileSessionStore.js"

/**
 * Everything an App Token session needs on Node, in one layer.
 *
 * @since 0.1.0
 */
export * as NodeAppToken from "./NodeAppToken.js"

/**
 * The App Token hasher on `node:crypto`.
 *
 * @since 0.1.0
 */
export * as NodeTokenHasher from "./NodeTokenHasher.js"

export {
  /**
   * The whole stack configured from the `KALTURA_*` environment variables: `Layer.provide(AppTokenLive)`.
   *
   * @since 0.1.0
   */
  AppTokenLive
} from "./NodeAppToken.js"
