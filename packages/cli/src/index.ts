/**
 * The `kaltura-apptoken` command line: its commands, exit codes and runner.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
