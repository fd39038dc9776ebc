/**
 * A capturing logger and tracer for every reliability test: all log levels (Debug and Trace included), every
 * span with its attributes, events and end state, rendered to text so the secret scan can read them.
 */
import { Cause, Context, Exit, Layer, Logger, LogLevel, Option, Tracer } from "effect"
import * as Util from "node:util"

export interface CapturedSpan {
  readonly name: string
  readonly attributes: Map<string, unknown>
  readonly events: Array<{ readonly name: string; readonly attributes: Record<string, unknown> | undefined }>
  ended: boolean
  /** `Cause.pretty` of a failed span's exit: what an exporter would record as the exception. */
  failure: string | undefined
}

export interface Capture {
  readonly logs: Array<string>
  readonly logLevels: Map<string, number>
  readonly spans: Array<CapturedSpan>
  /** Logger, tracer and minimum log level `All`. */
  readonly layer: Layer.Layer<never>
  /** Everything captured, as text, for the secret scan. */
  readonly texts: () => Iterable<readonly [where: string, text: string]>
}

const inspect = (value: unknown) => Util.inspect(value, { depth: 8, breakLength: Infinity, maxStringLength: 100_000 })

let nextId = 0

export const make = (): Capture => {
  const logs: Array<string> = []
  const logLevels = new Map<string, number>()
  const spans: Array<CapturedSpan> = []

  const logger = Logger.make((options) => {
    logLevels.set(options.logLevel.label, (logLevels.get(options.logLevel.label) ?? 0) + 1)
    // what a user's logger would print: logfmt (message, annotations, spans, cause) and the raw values
    logs.push(Logger.logfmtLogger.log(options))
    logs.push(inspect({ message: options.message, annotations: Object.fromEntries(options.annotations) }))
    if (!Cause.isEmpty(options.cause)) logs.push(Cause.pretty(options.cause, { renderErrorCause: true }))
  })

  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const record: CapturedSpan = { name, attributes: new Map(), events: [], ended: false, failure: undefined }
      spans.push(record)
      const spanId = `span${++nextId}`
      const span: Tracer.Span = {
        _tag: "Span",
        name,
        spanId,
        traceId: Option.match(parent, { onNone: () => `trace${nextId}`, onSome: (p) => p.traceId }),
        parent,
        context: context ?? Context.empty(),
        status: { _tag: "Started", startTime },
        attributes: record.attributes,
        links: [...links],
        sampled: true,
        kind,
        end: (_endTime, exit) => {
          record.ended = true
          if (Exit.isFailure(exit)) record.failure = Cause.pretty(exit.cause, { renderErrorCause: true })
        },
        attribute: (key, value) => {
          record.attributes.set(key, value)
        },
        event: (eventName, _time, attributes) => {
          record.events.push({ name: eventName, attributes })
        },
        addLinks: () => {}
      }
      return span
    },
    context: (f) => f()
  })

  const layer = Layer.mergeAll(
    Logger.replace(Logger.defaultLogger, logger),
    Logger.minimumLogLevel(LogLevel.All),
    Layer.setTracer(tracer)
  )

  const texts = function*(): Iterable<readonly [string, string]> {
    for (const log of logs) yield ["log", log]
    for (const span of spans) {
      yield [`span ${span.name}`, span.name]
      for (const [key, value] of span.attributes) {
        yield [`span ${span.name} attribute ${key}`, `${key}=${typeof value === "string" ? value : inspect(value)}`]
      }
      for (const event of span.events) yield [`span ${span.name} event`, `${event.name} ${inspect(event.attributes)}`]
      if (span.failure !== undefined) yield [`span ${span.name} failure`, span.failure]
    }
  }

  return { logs, logLevels, spans, layer, texts }
}

/** Counts unhandled rejections and uncaught exceptions while `f` runs (process-wide listeners). */
export const watchProcess = () => {
  const counts = { unhandledRejections: 0, uncaughtExceptions: 0 }
  const onRejection = () => {
    counts.unhandledRejections++
  }
  const onException = () => {
    counts.uncaughtExceptions++
  }
  process.on("unhandledRejection", onRejection)
  process.on("uncaughtException", onException)
  return {
    counts,
    stop: () => {
      process.off("unhandledRejection", onRejection)
      process.off("uncaughtException", onException)
    }
  }
}
