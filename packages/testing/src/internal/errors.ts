/**
 * `KalturaAPIException`s with the server's exact templates (`KalturaErrors.php` / `APIErrors.class.php`).
 *
 * @internal
 */
import * as Data from "effect/Data"

/** @internal */
export class ApiError extends Data.TaggedError("ApiError")<{
  readonly code: string
  readonly message: string
  /** name → string, or `[]` when the error has no parameters. */
  readonly args: Readonly<Record<string, string>> | ReadonlyArray<never>
}> {}

const make = (code: string, template: string, args?: Readonly<Record<string, string>>): ApiError => {
  const message = template.replace(/@([A-Z_]+)@/g, (_, name: string) => args?.[name] ?? "")
  return new ApiError({
    code,
    message,
    args: args === undefined || Object.keys(args).length === 0 ? [] : args
  })
}

/** @internal */
export const serviceNotSpecified = () =>
  make("SERVICE_NOT_SPECIFIED", "Service name was not specified, please specify one")

/** @internal */
export const serviceDoesNotExist = (service: string) =>
  make("SERVICE_DOES_NOT_EXISTS", "Service \"@SERVICE@\" does not exists", { SERVICE: service })

/** @internal */
export const actionNotSpecified = () =>
  make("ACTION_NOT_SPECIFIED", "Action name was not specified, please specify one")

/** @internal */
export const actionDoesNotExist = (service: string, action: string) =>
  make("ACTION_DOES_NOT_EXISTS", "Action \"@ACTION@\" does not exists for service \"@SERVICE@\"", {
    ACTION: action,
    SERVICE: service
  })

/** @internal */
export const invalidKs = (ksid: string) =>
  make("INVALID_KS", "Invalid KS \"@KSID@\", Error \"@ERR_CODE@,@ERR_DESC@\"", {
    KSID: ksid,
    ERR_CODE: "-1",
    ERR_DESC: "INVALID_STR"
  })

/** @internal */
export const missingParameter = (name: string) =>
  make("MISSING_MANDATORY_PARAMETER", "Missing parameter \"@PARAM_NAME@\"", { PARAM_NAME: name })

/** @internal */
export const invalidEnumValue = (value: string, param: string, enumType: string) =>
  make(
    "INVALID_ENUM_VALUE",
    "Invalid enumeration value \"@ENUM_VAL@\" for parameter \"@PARAM_NAME@\", expecting enumeration type \"@ENUM_TYPE@\"",
    { ENUM_VAL: value, PARAM_NAME: param, ENUM_TYPE: enumType }
  )

/** @internal */
export const invalidParameterChar = (name: string) =>
  make("INVALID_PARAMETER_CHAR", "Invalid char in \"@PARAM_NAME@\" param", { PARAM_NAME: name })

/** @internal */
export const serviceForbidden = (service: string) =>
  make("SERVICE_FORBIDDEN", "The access to service [@SERVICE@] is forbidden", { SERVICE: service })

/** @internal */
export const missingKs = () => make("MISSING_KS", "Missing KS, session not established")

/** @internal */
export const appTokenIdNotFound = (id: string) =>
  make("APP_TOKEN_ID_NOT_FOUND", "Application token id \"@ID@\" not found", { ID: id })

/** @internal */
export const appTokenNotActive = (id: string) =>
  make("APP_TOKEN_NOT_ACTIVE", "Application token id \"@ID@\" not active", { ID: id })

/** @internal */
export const invalidAppTokenHash = () => make("INVALID_APP_TOKEN_HASH", "Invalid application token hash")

/** @internal */
export const appTokenExpired = (id: string) =>
  make("APP_TOKEN_EXPIRED", "Application token id \"@ID@\" expired", { ID: id })

/** @internal */
export const startSessionError = (partnerId: string) =>
  make("START_SESSION_ERROR", "Error while starting session for partner [@PID@]", { PID: partnerId })

/** @internal */
export const invalidWidgetId = (widgetId: string) =>
  make("INVALID_WIDGET_ID", "Unknown widget [@WIDGET_ID@]", { WIDGET_ID: widgetId })

/** @internal */
export const partnerBlocked = () =>
  make(
    "SERVICE_FORBIDDEN_CONTENT_BLOCKED",
    "The access to this service is forbidden since the specified partner is blocked"
  )

/** `PROPERTY_VALIDATION_NOT_UPDATABLE`; the property is named `<KalturaClass>::<property>`. @internal */
export const propertyNotUpdatable = (property: string) =>
  make("PROPERTY_VALIDATION_NOT_UPDATABLE", "The property \"@PROP_NAME@\" cannot be updated", { PROP_NAME: property })

/** `PROPERTY_VALIDATION_WRONG_FORMAT`, e.g. an object parameter sent as a string. @internal */
export const wrongFormat = (property: string, format: string) =>
  make("PROPERTY_VALIDATION_WRONG_FORMAT", "The property \"@PROP_NAME@\" must match format @FORMAT@", {
    PROP_NAME: property,
    FORMAT: format
  })

/** @internal */
export const invalidFieldValue = (name: string) =>
  make("INVALID_FIELD_VALUE", "value in field [@FIELD_NAME@] is not valid", { FIELD_NAME: name })

/** @internal */
export const unknownResponseFormat = (format: string) =>
  make("UNKNOWN_RESPONSE_FORMAT", "Response format provided [@FORMAT@] is not recognized", { FORMAT: format })
