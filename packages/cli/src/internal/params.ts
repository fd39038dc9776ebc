/**
 * `--param name=value` for `call`: values stay strings (Kaltura casts each parameter to its declared type),
 * and nested names become nested objects, in both of Kaltura's notations: `pager:pageSize=5` and
 * `filter[statusEqual]=2` give `{ pager: { pageSize: "5" }, filter: { statusEqual: "2" } }`.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { CliInputError } from "./settings.js"

const namePattern = /^[^[\]:]+(?:\[[^[\]]+\]|:[^[\]:]+)*$/

/** @internal `a:b[c]:d` → `["a", "b", "c", "d"]`, or `undefined` if malformed */
export const parseName = (name: string): ReadonlyArray<string> | undefined => {
  if (!namePattern.test(name)) return undefined
  const segments: Array<string> = []
  for (const match of name.matchAll(/\[([^[\]]+)\]|:?([^[\]:]+)/g)) segments.push(match[1] ?? match[2]!)
  return segments
}

type Params = { [name: string]: string | Params }

const isReserved = (name: string) => name === "__proto__" || name === "constructor" || name === "prototype"

/**
 * Builds the parameter object of a call from repeated `--param name=value`. A later value for the same
 * name wins; a name used both as a value and as an object is refused.
 *
 * @internal
 */
export const parseParams = (raw: ReadonlyArray<string>): Effect.Effect<Record<string, unknown>, CliInputError> =>
  Effect.suspend(() => {
    const root: Params = {}
    const fail = (message: string) =>
      Effect.fail(
        new CliInputError({
          message: `${message}: expected --param name=value, with nested names as a:b=value or a[b]=value`
        })
      )
    for (const item of raw) {
      const eq = item.indexOf("=")
      if (eq <= 0) return fail("a --param without a name or without \"=\"")
      const name = item.slice(0, eq).trim()
      const segments = parseName(name)
      if (segments === undefined) return fail(`malformed --param name ${JSON.stringify(name)}`)
      if (segments.some(isReserved)) return fail(`reserved --param name ${JSON.stringify(name)}`)
      let node = root
      for (const [i, segment] of segments.entries()) {
        if (i === segments.length - 1) {
          if (typeof node[segment] === "object") return fail(`--param ${name} is also used as an object`)
          node[segment] = item.slice(eq + 1)
        } else {
          const next = node[segment] ??= {}
          if (typeof next === "string") return fail(`--param ${name} nests under a name that has a value`)
          node = next
        }
      }
    }
    return Effect.succeed(root)
  })
