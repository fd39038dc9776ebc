/**
 * Response serialisation: JSON (`format=1`) and an XML form for every other format.
 *
 * @internal
 */
import { ApiError } from "./errors.js"

/** The JSON object of an API error, keys in the server's order. @internal */
export const errorObject = (error: ApiError) => ({
  code: error.code,
  message: error.message,
  objectType: "KalturaAPIException",
  args: error.args
})

const toJsonValue = (value: unknown): unknown => {
  if (value instanceof ApiError) return errorObject(value)
  if (Array.isArray(value)) return value.map(toJsonValue)
  return value === undefined ? null : value
}

/** @internal */
export const renderJson = (value: unknown): string => JSON.stringify(toJsonValue(value))

const escapeXml = (value: string): string =>
  value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

const xmlValue = (value: unknown): string => {
  if (value instanceof ApiError) {
    const args = Array.isArray(value.args) ? [] : Object.entries(value.args)
    return "<error>" +
      `<code>${escapeXml(value.code)}</code>` +
      `<message>${escapeXml(value.message)}</message>` +
      "<objectType>KalturaAPIException</objectType>" +
      "<args>" +
      args.map(([name, arg]) =>
        `<item><objectType>KalturaApiExceptionArg</objectType><name>${escapeXml(name)}</name>` +
        `<value>${escapeXml(String(arg))}</value></item>`
      ).join("") +
      "</args></error>"
  }
  if (value === null || value === undefined) return ""
  if (Array.isArray(value)) return value.map((item) => `<item>${xmlValue(item)}</item>`).join("")
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
    const objectType = entries.find(([key]) => key === "objectType")
    const rest = entries.filter(([key, inner]) => key !== "objectType" && inner !== null && inner !== undefined)
    return (objectType ? `<objectType>${escapeXml(String(objectType[1]))}</objectType>` : "") +
      rest.map(([key, inner]) => `<${key}>${xmlValue(inner)}</${key}>`).join("")
  }
  if (typeof value === "boolean") return value ? "1" : "0"
  return escapeXml(String(value))
}

/** The XML envelope the server uses when `format` is absent or 2. @internal */
export const renderXml = (value: unknown, executionTime: number): string =>
  `<?xml version="1.0" encoding="utf-8"?><xml><result>${xmlValue(value)}</result>` +
  `<executionTime>${executionTime}</executionTime></xml>`
