/**
 * kaltura-effect's spans and metrics exported with OpenTelemetry: the telemetry layer a user adds
 * (`NodeSdk.layer` from `@effect/opentelemetry`, the Effect 3 line), and a small program against the fake Kaltura
 * server that makes a cold start, a call and, half-way through the session, a background refresh.
 *
 * @since 0.1.0
 */
export * as OtelExample from "./OtelExample.js"
