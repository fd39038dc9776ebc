/**
 * The figures of the reliability and security suite, recorded by its tests and rendered to
 * `docs/reliability.md` by `report`.
 *
 * @since 0.1.0
 */
export * as Results from "./Results.js"
