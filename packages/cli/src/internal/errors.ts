/**
 * Turns how a command ended into an exit code and one line for stderr.
 *
 * @internal
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import type { KalturaConfigError } from "@kaltura-effect/core/KalturaConfig"
import { scrub } from "@kaltura-effect/core/KalturaError"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import { stripAnsi } from "./output.js"
import { describeSetting, flags, type FlagSpec, tokenSpec } from "./settings.js"

/**
 * The exit codes of every command.
 *
 * @internal
 */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** A defect: a bug in this program or an environment it cannot handle. */
  Internal: 1,
  /** Bad or missing input, decided before any request was sent. */
  Usage: 2,
  /** Kaltura rejected the request, or answered with something this library refuses. */
  Rejected: 3,
  /** Kaltura could not be reached, or kept failing after the retries. */
  Unreachable: 4,
  /** Stopped by SIGINT (128 + 2). */
  Interrupted: 130
} as const

/**
 * A command that has already said what went wrong in its own words and chooses its exit code (e.g. `doctor`, or a
 * Kaltura error rewritten with what to do). The message is one line, without secrets.
 *
 * @internal
 */
export class CliFailure extends Data.TaggedError("CliFailure")<{ readonly message: string; readonly code: number }> {}

/** @internal */
export interface Outcome {
  readonly code: number
  /** The one line for stderr, without the program prefix; `undefined` for success. */
  readonly line: string | undefined
}

const flagSpecs: ReadonlyArray<FlagSpec> = [...Object.values(flags), tokenSpec]

/** Flags of ours that have no environment fallback, and what they expect. */
const otherFlags: Readonly<Record<string, string>> = {
  ks: "the KS to hash (the widget KS sent with appToken.startSession)",
  param: "name=value (nested: a:b=value or a[b]=value)",
  port: "a TCP port, 0 to 65535 (0: a free one)",
  "admin-secret-file": "a file holding the partner's admin secret",
  "session-type": "USER, ADMIN, 0 or 2",
  "session-user-id": "a non-empty user id",
  "session-duration": "a positive whole number of seconds",
  description: "a non-empty string"
}

/**
 * Makes library text name the CLI's flags too: `KALTURA_APP_TOKEN_HASH_TYPE` becomes
 * `--hash-type/KALTURA_APP_TOKEN_HASH_TYPE`.
 *
 * @internal
 */
export const withFlags = (text: string): string => {
  let result = text
  for (const spec of flagSpecs) {
    const named = spec === tokenSpec ? `${spec.env} (or --${spec.flag})` : `--${spec.flag}/${spec.env}`
    result = result.replace(new RegExp(`(?<![-/\\w])${spec.env}\\b(?! \\(or)`, "g"), named)
  }
  return result
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim()

/** A quoted command-line word longer than 12 characters that is not a flag may be a misplaced secret. */
const maskWords = (text: string) => text.replace(/'([^'-][^']{12,})'/g, (_, word: string) => `'${word.slice(0, 4)}…'`)

/**
 * A usage error from `@effect/cli` (which names only the flag), rewritten to name the environment
 * variable and what is expected too. `envHints` is off for commands that read no environment.
 *
 * @internal
 */
export const renderValidationError = (error: ValidationError.ValidationError, envHints: boolean): string => {
  const text = maskWords(oneLine(stripAnsi(HelpDoc.toAnsiText(error.error))))
  const mentioned = /--([a-z][a-z-]*)/.exec(text)?.[1]
  if (mentioned === undefined) return `${text} (see --help)`
  const spec = envHints ? flagSpecs.find((spec) => spec.flag === mentioned) : undefined
  const expected = otherFlags[mentioned] ?? spec?.expected
  const where = spec === undefined ? `--${mentioned}` : `--${mentioned} (env ${spec.env})`
  const wants = expected === undefined ? "" : `: expected ${expected}`
  if (/expected to find option/i.test(text)) return `missing ${where}${wants} (see --help)`
  if (/unknown argument/i.test(text)) {
    return `${where} is missing its value or is not an option of this command${wants} (see --help)`
  }
  return `${text}: ${where}${wants} (see --help)`
}

const configLine = (error: KalturaConfigError) => `invalid ${describeSetting(error.field)}: expected ${error.expected}`

type Tagged = { readonly _tag: string; readonly message: string; readonly reason?: string }

/**
 * The exit code and stderr line for one failure.
 *
 * @internal
 */
export const classify = (error: unknown, envHints = true): Outcome => {
  if (ValidationError.isValidationError(error)) {
    return { code: ExitCode.Usage, line: renderValidationError(error, envHints) }
  }
  if (!Predicate.hasProperty(error, "_tag") || typeof error._tag !== "string") {
    return { code: ExitCode.Internal, line: `unexpected failure: ${scrub(oneLine(String(error)))}` }
  }
  const tagged = error as Tagged
  switch (tagged._tag) {
    case "CliInputError":
      return { code: ExitCode.Usage, line: oneLine(tagged.message) }
    case "CliFailure":
      return { code: (error as CliFailure).code, line: oneLine(tagged.message) }
    case "KalturaConfigError":
      return { code: ExitCode.Usage, line: configLine(error as KalturaConfigError) }
    case "KalturaApiError":
    case "KalturaSessionError":
      return { code: ExitCode.Rejected, line: withFlags(oneLine(tagged.message)) }
    case "KalturaDecodeError":
      return {
        code: tagged.reason === "NotJson" ? ExitCode.Unreachable : ExitCode.Rejected,
        line: withFlags(oneLine(tagged.message))
      }
    case "KalturaHttpError":
    case "KalturaTransportError":
      return {
        code: ExitCode.Unreachable,
        line: /service URL/.test(tagged.message)
          ? oneLine(tagged.message)
          : `${oneLine(tagged.message)} (check --service-url/KALTURA_SERVICE_URL and the network)`
      }
    default:
      return { code: ExitCode.Internal, line: `unexpected ${tagged._tag}: ${scrub(oneLine(tagged.message ?? ""))}` }
  }
}

/**
 * The outcome of a whole run from its cause: the first typed failure, else an interruption, else a
 * defect (exit 1).
 *
 * @internal
 */
export const fromCause = (cause: Cause.Cause<unknown>, envHints = true): Outcome => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) return classify(failure.value, envHints)
  if (Cause.isInterruptedOnly(cause)) return { code: ExitCode.Interrupted, line: "interrupted" }
  const defect = Option.getOrUndefined(Cause.dieOption(cause))
  const text = defect instanceof Error ? `${defect.name}: ${defect.message}` : String(defect)
  return {
    code: ExitCode.Internal,
    line: `unexpected error: ${scrub(oneLine(text))} (run again with --debug for details)`
  }
}
