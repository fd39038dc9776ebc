/**
 * The `HttpClient` of `token` and `doctor`, which build the library's services themselves (no session, no session
 * store): `node:http`/`node:https` on a keep-alive agent, as `NodeAppToken` does.
 *
 * @internal
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as Layer from "effect/Layer"

/** @internal */
export const layer: Layer.Layer<HttpClient.HttpClient> = NodeHttpClient.layerWithoutAgent.pipe(
  Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true, timeout: 5000 }))
)
