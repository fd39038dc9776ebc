/**
 * Where the CLI writes. Straight to the process streams, not through Effect's `Console`: the runner silences
 * `Console.error` so that `@effect/cli` does not print its own copy of a usage error.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** @internal one line (a newline is added) on stdout */
export const stdout = (line: string): Effect.Effect<void> => Effect.sync(() => writeStdout(line))

/** @internal one line (a newline is added) on stderr */
export const stderr = (line: string): Effect.Effect<void> => Effect.sync(() => writeStderr(line))

/** @internal */
export const writeStdout = (line: string): void => {
  process.stdout.write(line + "\n")
}

/** @internal */
export const writeStderr = (line: string): void => {
  process.stderr.write(line + "\n")
}

/** @internal whether to colour stdout: a terminal, and neither `NO_COLOR` nor `TERM=dumb` */
export const colorsEnabled = (): boolean =>
  process.stdout.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== "dumb"

/** @internal ANSI styles that become identity functions when colours are off */
export const makeStyles = (enabled: boolean) => {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    cyan: wrap(36, 39),
    yellow: wrap(33, 39),
    red: wrap(31, 39)
  }
}

// eslint-disable-next-line no-control-regex
const ansiPattern = /\u001b\[[0-9;]*m/g

/** @internal removes ANSI colour codes */
export const stripAnsi = (text: string): string => text.replace(ansiPattern, "")
