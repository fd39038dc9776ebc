/**
 * Request parameters as api_v3 reads them (`infraRequestUtils::getRequestParams` and
 * `KalturaRequestDeserializer::groupParams`).
 *
 * @internal
 */

/** @internal */
export type ParamValue = string | number | boolean | null | ParamObject | ReadonlyArray<ParamValue>

/** @internal */
export interface ParamObject {
  readonly [key: string]: ParamValue
}

type MutableObject = { [key: string]: ParamValue }

/** @internal */
export const isObject = (value: ParamValue | undefined): value is ParamObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `name[a][b]` → `["name", "a", "b"]`, then `x:y` → `["x", "y"]` (the `:` grouping of the deserializer). */
const keyPath = (key: string): Array<string> => {
  const bracket = key.indexOf("[")
  let path: Array<string>
  if (bracket > 0 && key.endsWith("]")) {
    path = [key.slice(0, bracket), ...key.slice(bracket + 1, -1).split("][")]
  } else {
    path = [key]
  }
  const [head, ...rest] = path
  return [...head!.split(":"), ...rest]
}

const setPath = (target: MutableObject, path: ReadonlyArray<string>, value: ParamValue): void => {
  let node = target
  for (let i = 0; i < path.length - 1; i++) {
    const segment = path[i]!
    const next = node[segment]
    if (isObject(next)) {
      node = next as MutableObject
    } else {
      const created: MutableObject = {}
      node[segment] = created
      node = created
    }
  }
  node[path[path.length - 1]!] = value
}

/** Flat pairs (query string, form body, path pairs) into a nested object. @internal */
export const fromPairs = (pairs: Iterable<readonly [string, string]>): ParamObject => {
  const result: MutableObject = {}
  for (const [key, value] of pairs) {
    if (key === "") continue
    setPath(result, keyPath(key), value)
  }
  return result
}

/** A JSON body: top-level (and nested) keys with `:` are grouped as well. @internal */
export const fromJson = (value: unknown): ParamObject => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {}
  const result: MutableObject = {}
  for (const [key, inner] of Object.entries(value)) {
    setPath(result, key.split(":"), normaliseJson(inner))
  }
  return result
}

const normaliseJson = (value: unknown): ParamValue => {
  if (value === null || typeof value === "string" || typeof value === "number" || typeof value === "boolean") {
    return value
  }
  if (Array.isArray(value)) return value.map(normaliseJson)
  if (typeof value === "object") return fromJson(value)
  return null
}

/** `array_replace_recursive(base, override)`. @internal */
export const replaceRecursive = (base: ParamObject, override: ParamObject): ParamObject => {
  const result: MutableObject = { ...base }
  for (const [key, value] of Object.entries(override)) {
    const existing = result[key]
    result[key] = isObject(existing) && isObject(value) ? replaceRecursive(existing, value) : value
  }
  return result
}

/** The body part of the parameters, according to the content type. @internal */
export const fromBody = (contentType: string | undefined, body: string): ParamObject => {
  const type = (contentType ?? "").toLowerCase()
  if (type === "application/json") {
    const trimmed = body.trim()
    if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return {}
    try {
      return fromJson(JSON.parse(trimmed))
    } catch {
      return {}
    }
  }
  if (type.startsWith("application/x-www-form-urlencoded")) {
    return fromPairs(new URLSearchParams(body))
  }
  return {}
}

/** `/key/value` pairs of a path remainder (URL-decoded). @internal */
export const pathPairs = (rest: string): Array<readonly [string, string]> => {
  const segments = rest.split("/").filter((segment) => segment !== "").map(safeDecode)
  const pairs: Array<readonly [string, string]> = []
  for (let i = 0; i + 1 < segments.length; i += 2) {
    pairs.push([segments[i]!, segments[i + 1]!])
  }
  return pairs
}

const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}

/**
 * A simple-typed parameter as the action sees it: `undefined` when absent or null; numbers and booleans are cast the
 * PHP way (`true` → `"1"`, `false` → `""`). Objects and arrays are not strings.
 *
 * @internal
 */
export const stringParam = (params: ParamObject, name: string): string | undefined => {
  const value = params[name]
  if (value === undefined || value === null) return undefined
  if (typeof value === "string") return value
  if (typeof value === "number") return String(value)
  if (typeof value === "boolean") return value ? "1" : ""
  return undefined
}

const PHP_WS = "[ \\t\\n\\r\\v\\f]"
const NUMERIC_PREFIX = new RegExp(`^${PHP_WS}*[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?`)
const NUMERIC = new RegExp(`${NUMERIC_PREFIX.source}${PHP_WS}*$`)

/** PHP 8 `is_numeric` of a string: optional surrounding whitespace, sign, digits, fraction, exponent. @internal */
export const phpIsNumeric = (value: string): boolean => NUMERIC.test(value)

/**
 * PHP `(int)` cast (`castSimpleType("int", …)`): a string's leading number (`"12abc"` → 12, `"1e3"` → 1000, `"abc"`
 * → 0), `null` → 0, booleans → 0/1, an array → 0 if empty else 1.
 *
 * @internal
 */
export const phpInt = (value: ParamValue | undefined): number => {
  if (value === undefined || value === null) return 0
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : 0
  if (typeof value === "boolean") return value ? 1 : 0
  if (typeof value === "string") {
    const match = NUMERIC_PREFIX.exec(value)
    if (match === null) return 0
    const number = Math.trunc(Number(match[0].trim()))
    return Number.isFinite(number) ? number : 0
  }
  return Object.keys(value).length === 0 ? 0 : 1
}

/**
 * PHP `(string)` cast (`castSimpleType("string", …)`): `null` → `""`, `true` → `"1"`, `false` → `""`, an array →
 * `"Array"`.
 *
 * @internal
 */
export const phpString = (value: ParamValue | undefined): string => {
  if (value === undefined || value === null) return ""
  if (typeof value === "string") return value
  if (typeof value === "number") return String(value)
  if (typeof value === "boolean") return value ? "1" : ""
  return "Array"
}

/** PHP truthiness of a parameter (`""`, `"0"`, `0`, `false`, `null` and an empty array are false). @internal */
export const phpTruthy = (value: ParamValue | undefined): boolean => {
  if (value === undefined || value === null) return false
  if (typeof value === "string") return value !== "" && value !== "0"
  if (typeof value === "number") return value !== 0
  if (typeof value === "boolean") return value
  return Object.keys(value).length > 0
}

/** PHP 8 loose `==` of a parameter with an integer (how `checkEnumValue`'s `in_array` compares). @internal */
export const phpLooseEqualsInt = (value: ParamValue | undefined, n: number): boolean => {
  if (value === undefined || value === null) return n === 0
  if (typeof value === "boolean") return value === (n !== 0)
  if (typeof value === "number") return value === n
  if (typeof value === "string") return phpIsNumeric(value) && Number(value.trim()) === n
  return false
}

/** `kXml::isXMLValidContent`: no control characters other than tab, LF and CR. @internal */
export const isXmlValid = (value: string): boolean =>
  // eslint-disable-next-line no-control-regex
  !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(value)
