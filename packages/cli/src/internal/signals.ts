/**
 * SIGINT/SIGTERM handling shared by the runner and the commands that serve until stopped.
 *
 * @internal
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"

/** @internal */
export interface Service {
  /**
   * Waits for SIGINT or SIGTERM and returns its name. While a command waits here, a signal ends the wait
   * (the command then shuts down cleanly and exits 0); otherwise a signal interrupts the command.
   */
  readonly awaitShutdown: Effect.Effect<unknown>
}

/** @internal */
export class Signals extends Context.Tag("@kaltura-effect/cli/Signals")<Signals, Service>() {}
