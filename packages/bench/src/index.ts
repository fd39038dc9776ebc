/**
 * The benchmark harness: result rows, statistics, timers and heap measurement.
 *
 * @since 0.1.0
 */
export * as Harness from "./Harness.js"

/**
 * An in-memory Kaltura transport for the benchmarks that must not spend their time on sockets.
 *
 * @since 0.1.0
 */
export * as InMemoryKaltura from "./InMemoryKaltura.js"

/**
 * Rendering the results and updating the README section.
 *
 * @since 0.1.0
 */
export * as Report from "./Report.js"

/**
 * Every benchmark and the runner.
 *
 * @since 0.1.0
 */
export * as Suite from "./Suite.js"
