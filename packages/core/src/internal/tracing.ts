/**
 * Tracing helpers for the session's own fibers.
 *
 * Internal to the package: not part of its public API.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Tracer from "effect/Tracer"

/**
 * Runs a background effect without the span of the caller whose request started it: the session's own fibers
 * (acquisitions, the timer) outlive that caller, and their log lines must not land on its (possibly ended) span.
 */
export const withoutCallerSpan = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
  Effect.mapInputContext(effect, (context: Context.Context<never>) => Context.omit(Tracer.ParentSpan)(context))
