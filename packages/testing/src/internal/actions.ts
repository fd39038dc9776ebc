/**
 * The api_v3 dispatcher (`KalturaDispatcher::dispatch`) and the actions the fake server implements.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Ref from "effect/Ref"
import type { AppToken, AppTokenStatus } from "../FakeKaltura.js"
import * as Ks from "../Ks.js"
import * as Errors from "./errors.js"
import type { ApiError } from "./errors.js"
import type { ParamObject, ParamValue } from "./params.js"
import {
  isObject,
  isXmlValid,
  phpInt,
  phpIsNumeric,
  phpLooseEqualsInt,
  phpString,
  phpTruthy,
  stringParam
} from "./params.js"
import * as S from "./state.js"

/** @internal */
export interface DispatchContext {
  readonly state: Ref.Ref<S.State>
  /** Server time, unix seconds. */
  readonly now: number
  readonly allowWidgetKsForBaseEntryList: boolean
  /** Serve identical `startWidgetSession` requests from a 600 s cache, as the real API cache may. */
  readonly widgetSessionCache: boolean
  readonly count: (key: string) => Effect.Effect<void>
}

/** What an action sees once the dispatcher has run. */
interface ActionContext extends DispatchContext {
  readonly params: ParamObject
  /** The raw `ks` parameter (non-empty), exactly as received. */
  readonly ksString: string | undefined
  readonly ks: Ks.KsData | undefined
  /** The partner the request asked for with `p` / `partnerId`, if any. */
  readonly requestedPartnerId: number | undefined
  /** The requested partner if any, otherwise the KS's partner (`kCurrentContext::getCurrentPartnerId`). */
  readonly partnerId: number | undefined
  /** `KalturaSessionInfo.partnerId` as the server would emit it. */
  readonly partnerIdOut: string | number | undefined
}

type Permission =
  /** ALWAYS_ALLOWED_ACTIONS (`@ksIgnored`). */
  | "always"
  /** Any valid KS (widget, user or admin). */
  | "session"
  /** An ADMIN KS (partner admin role). */
  | "admin"
  /** Any valid KS except a widget one, unless `allowWidgetKsForBaseEntryList`. */
  | "entries"

interface Action<A> {
  readonly name: string
  readonly permission: Permission
  readonly args: (params: ParamObject, now: number) => Effect.Effect<A, ApiError>
  readonly run: (ctx: ActionContext, args: A) => Effect.Effect<unknown, ApiError>
}

const action = <A>(definition: Action<A>): Action<any> => definition

// ---------------------------------------------------------------------------------------------------------------------
// argument readers (declaration order = validation order)
// ---------------------------------------------------------------------------------------------------------------------

// `buildActionArguments` tests `array_key_exists`: a parameter sent as JSON `null` is present, and cast like any
// other value (`(string)null` is `""`, `(int)null` is 0), never "absent".

const checkChars = (name: string, value: string): Effect.Effect<string, ApiError> =>
  isXmlValid(value) ? Effect.succeed(value) : Effect.fail(Errors.invalidParameterChar(name))

const requiredString = (params: ParamObject, name: string) =>
  params[name] === undefined
    ? Effect.fail(Errors.missingParameter(name))
    : checkChars(name, phpString(params[name]))

const optionalString = (params: ParamObject, name: string) =>
  params[name] === undefined ? Effect.succeed(undefined) : checkChars(name, phpString(params[name]))

/** An integer `KalturaEnum` (`KalturaSessionType`, `KalturaAppTokenStatus`) and its constants. */
interface IntEnum {
  readonly name: string
  readonly values: ReadonlyArray<number>
}

const SESSION_TYPE: IntEnum = { name: "KalturaSessionType", values: [0, 2] }
const APP_TOKEN_STATUS: IntEnum = { name: "KalturaAppTokenStatus", values: [1, 2, 3] }

/**
 * The enum branch of `buildActionArguments` / `buildObject`: `"true"` / `"false"` (any case) become 1 / 0, then
 * `checkEnumValue`'s loose `in_array` (PHP 8: `"02"`, `" 2"`, `"2.0"` equal 2; `""` equals nothing), then `(int)`.
 * A JSON boolean, which the loose comparison would also let through, is rejected.
 */
const intEnumValue = (value: ParamValue, param: string, enumType: IntEnum): Effect.Effect<number, ApiError> => {
  if (typeof value === "boolean") {
    return Effect.fail(Errors.invalidEnumValue(phpString(value), param, enumType.name))
  }
  const lower = phpString(value).toLowerCase()
  const mapped: ParamValue = lower === "true" ? 1 : lower === "false" ? 0 : value
  return enumType.values.some((n) => phpLooseEqualsInt(mapped, n))
    ? Effect.succeed(phpInt(mapped))
    : Effect.fail(Errors.invalidEnumValue(phpString(mapped), param, enumType.name))
}

/** `KalturaSessionType $type`: absent is 0 (both actions default to `0` or `null`, cast to int). */
const sessionTypeParam = (params: ParamObject, name: string) =>
  params[name] === undefined
    ? Effect.succeed<Ks.SessionType>(0)
    : Effect.map(intEnumValue(params[name]!, name, SESSION_TYPE), (type) => type as Ks.SessionType)

/** A string enum (`KalturaAppTokenHashType`): exact, case-sensitive values; then `(string)`. */
const stringEnumValue = (
  value: ParamValue,
  param: string,
  enumType: string,
  values: ReadonlyArray<string>
): Effect.Effect<string, ApiError> =>
  typeof value === "string" && values.includes(value)
    ? checkChars(param, value)
    : Effect.fail(Errors.invalidEnumValue(phpString(value), param, enumType))

/** An `int` parameter: the default when absent, else `(int)` (JSON `null` is 0). */
const intParam = (params: ParamObject, name: string, fallback: number): number =>
  params[name] === undefined ? fallback : phpInt(params[name])

const objectParam = (params: ParamObject, name: string): ParamObject | undefined => {
  const value = params[name]
  return isObject(value) ? value : undefined
}

/**
 * `kTime::getRelativeTime`, for `time` fields: `null` or `""` is 0 (not now), -1 stays -1, a value within ±10 years
 * (`max_relative_time`) is relative to now (or to the KS's `reftime` privilege), anything else absolute.
 */
const relativeTime = (value: ParamValue, now: number): number => {
  if (value === null || phpString(value) === "") return 0
  const seconds = phpInt(value)
  if (seconds === -1) return -1
  return Math.abs(seconds) <= MAX_RELATIVE_TIME ? now + seconds : seconds
}

/** `kTime::getTime`: the KS's `reftime` privilege when set, else the server's now. */
const referenceTime = (ks: Ks.KsData | undefined, now: number): number => {
  const reftime = ks === undefined ? undefined : Ks.parsePrivileges(ks.privileges).get("reftime")?.[0]
  return reftime !== undefined && phpTruthy(reftime) ? phpInt(reftime) : now
}

// ---------------------------------------------------------------------------------------------------------------------
// API objects (`KalturaRequestDeserializer::buildObject`, `KalturaObject::validateForInsert/Update`)
// ---------------------------------------------------------------------------------------------------------------------

const MAX_RELATIVE_TIME = 315360000
const PUSER_ID = /^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$/

/** A `KalturaNullField`: what `<property>__null` sets; `toObject` writes it as `null`. */
const NullField: unique symbol = Symbol("KalturaNullField")
type FieldValue = string | number | typeof NullField

type PropertyKind = "string" | "int" | "time" | "sessionType" | "appTokenStatus" | "hashType"

interface Property {
  readonly kind: PropertyKind
  readonly readonly?: boolean
}

/** A built API object: property → value, for the properties the request set. */
type Built = ReadonlyMap<string, FieldValue>

/** `KalturaAppToken`'s properties, in declaration order (the order `validateForInsert/Update` checks them). */
const APP_TOKEN: ReadonlyArray<readonly [string, Property]> = [
  ["id", { kind: "string", readonly: true }],
  ["token", { kind: "string", readonly: true }],
  ["partnerId", { kind: "int", readonly: true }],
  ["createdAt", { kind: "time", readonly: true }],
  ["updatedAt", { kind: "time", readonly: true }],
  ["status", { kind: "appTokenStatus", readonly: true }],
  ["expiry", { kind: "time" }],
  ["sessionType", { kind: "sessionType" }],
  ["sessionUserId", { kind: "string" }],
  ["sessionDuration", { kind: "int" }],
  ["sessionPrivileges", { kind: "string" }],
  ["hashType", { kind: "hashType" }],
  ["description", { kind: "string" }]
]

/** `KalturaAppTokenFilter` (`advancedSearch` is not supported). */
const APP_TOKEN_FILTER: ReadonlyArray<readonly [string, Property]> = [
  ["orderBy", { kind: "string" }],
  ["idEqual", { kind: "string" }],
  ["idIn", { kind: "string" }],
  ["createdAtGreaterThanOrEqual", { kind: "time" }],
  ["createdAtLessThanOrEqual", { kind: "time" }],
  ["updatedAtGreaterThanOrEqual", { kind: "time" }],
  ["updatedAtLessThanOrEqual", { kind: "time" }],
  ["statusEqual", { kind: "appTokenStatus" }],
  ["statusIn", { kind: "string" }],
  ["sessionUserIdEqual", { kind: "string" }]
]

/** `KalturaFilterPager`. */
const FILTER_PAGER: ReadonlyArray<readonly [string, Property]> = [
  ["pageSize", { kind: "int" }],
  ["pageIndex", { kind: "int" }]
]

const propertyValue = (
  kind: PropertyKind,
  name: string,
  value: ParamValue,
  now: number
): Effect.Effect<FieldValue, ApiError> => {
  switch (kind) {
    case "string":
      return checkChars(name, phpString(value))
    case "int":
      return Effect.succeed(phpInt(value))
    case "time":
      return Effect.succeed(relativeTime(value, now))
    case "sessionType":
      return intEnumValue(value, name, SESSION_TYPE)
    case "appTokenStatus":
      return intEnumValue(value, name, APP_TOKEN_STATUS)
    case "hashType":
      return stringEnumValue(value, name, "KalturaAppTokenHashType", Ks.hashTypes)
  }
}

/**
 * `buildObject`: the request's keys in the order sent (so the first bad value is the one reported), unknown keys and
 * `objectType` ignored, `<property>__null` a `KalturaNullField`. Not an object → `PROPERTY_VALIDATION_WRONG_FORMAT`.
 */
const buildObject = (
  properties: ReadonlyArray<readonly [string, Property]>,
  value: ParamValue,
  objectName: string,
  now: number
): Effect.Effect<Built, ApiError> =>
  Effect.gen(function*() {
    if (typeof value !== "object" || value === null) {
      return yield* Effect.fail(Errors.wrongFormat(objectName, "array"))
    }
    const known = new Map(properties)
    const built = new Map<string, FieldValue>()
    for (const [key, inner] of Object.entries(value)) {
      if (key.endsWith("__null")) {
        const name = key.replaceAll("__null", "")
        if (known.has(name)) built.set(name, NullField)
        continue
      }
      const property = known.get(key)
      if (property === undefined) continue
      built.set(key, yield* propertyValue(property.kind, key, inner as ParamValue, now))
    }
    return built as Built
  })

/** An optional object parameter (`filter`, `pager`): absent or `null` is none. */
const optionalObject = (
  params: ParamObject,
  name: string,
  properties: ReadonlyArray<readonly [string, Property]>,
  now: number
): Effect.Effect<Built | undefined, ApiError> =>
  params[name] === undefined || params[name] === null
    ? Effect.succeed(undefined)
    : buildObject(properties, params[name]!, name, now)

/** A set value of a built object: `undefined` when not sent or sent as `__null`. */
const setValue = (built: Built | undefined, name: string): string | number | undefined => {
  const value = built?.get(name)
  return value === NullField ? undefined : value
}

/** The writable fields of a `KalturaAppToken` input. `null` leaves a field unset (the `__null` form). @internal */
export interface AppTokenInput {
  readonly expiry?: number | null
  readonly sessionType?: Ks.SessionType | null
  readonly sessionUserId?: string | null
  readonly sessionDuration?: number | null
  readonly sessionPrivileges?: string | null
  readonly hashType?: Ks.HashType | null
  readonly description?: string | null
}

/** The writable part of a built `KalturaAppToken`: `undefined` not sent, `null` sent as `__null`. */
const appTokenInput = (built: Built): AppTokenInput => {
  const result: { -readonly [K in keyof AppTokenInput]: AppTokenInput[K] } = {}
  const field = <A>(name: string): A | null | undefined => {
    const value = built.get(name)
    return value === undefined ? undefined : value === NullField ? null : value as A
  }
  const expiry = field<number>("expiry")
  if (expiry !== undefined) result.expiry = expiry
  const sessionType = field<Ks.SessionType>("sessionType")
  if (sessionType !== undefined) result.sessionType = sessionType
  const sessionUserId = field<string>("sessionUserId")
  if (sessionUserId !== undefined) result.sessionUserId = sessionUserId
  const sessionDuration = field<number>("sessionDuration")
  if (sessionDuration !== undefined) result.sessionDuration = sessionDuration
  const sessionPrivileges = field<string>("sessionPrivileges")
  if (sessionPrivileges !== undefined) result.sessionPrivileges = sessionPrivileges
  const hashType = field<Ks.HashType>("hashType")
  if (hashType !== undefined) result.hashType = hashType
  const description = field<string>("description")
  if (description !== undefined) result.description = description
  return result
}

/**
 * `AppToken::setKuserIdBySessionUserId`: a session user that does not exist yet is created, and must match
 * `kuser::PUSER_ID_REGEXP` (so `""`, what a JSON `null` becomes, is invalid). A token with no session user passes.
 */
const checkSessionUser = (state: S.State, token: AppToken): Effect.Effect<void, ApiError> =>
  token.sessionUserId === undefined || S.userExists(state, token.partnerId, token.sessionUserId) ||
    PUSER_ID.test(token.sessionUserId)
    ? Effect.void
    : Effect.fail(Errors.invalidFieldValue("sessionUserId"))

const orUndefined = <A>(value: A | null | undefined): A | undefined => value === null ? undefined : value

/** A new ACTIVE token from an input (defaults of `appToken.add`). @internal */
export const createAppToken = (
  state: S.State,
  partnerId: number,
  input: AppTokenInput,
  now: number,
  overrides?: {
    readonly id?: string | undefined
    readonly token?: string | undefined
    readonly status?: AppTokenStatus
  }
): AppToken => {
  const partner = state.partners.get(partnerId)
  return {
    id: overrides?.id ?? S.generateAppTokenId(state.appTokens),
    token: overrides?.token ?? S.generateToken(),
    partnerId,
    createdAt: now,
    updatedAt: now,
    status: overrides?.status ?? 2,
    expiry: orUndefined(input.expiry),
    sessionType: orUndefined(input.sessionType),
    sessionUserId: orUndefined(input.sessionUserId),
    // `isNull('sessionDuration')`: the partner's ksMaxExpiryInSeconds
    sessionDuration: input.sessionDuration ?? partner?.ksMaxExpiry ?? 86400,
    sessionPrivileges: orUndefined(input.sessionPrivileges),
    hashType: input.hashType ?? "SHA1",
    description: orUndefined(input.description)
  }
}

/** `toUpdatableObject`: sent fields replace, `__null` clears (a cleared hashType reads back as SHA1). */
const updateAppToken = (token: AppToken, input: AppTokenInput, now: number): AppToken => {
  const pick = <K extends keyof AppTokenInput>(key: K, current: AppToken[K]) =>
    input[key] === undefined ? current : orUndefined(input[key]) as AppToken[K]
  return {
    ...token,
    updatedAt: now,
    expiry: pick("expiry", token.expiry),
    sessionType: pick("sessionType", token.sessionType),
    sessionUserId: pick("sessionUserId", token.sessionUserId),
    sessionDuration: pick("sessionDuration", token.sessionDuration),
    sessionPrivileges: pick("sessionPrivileges", token.sessionPrivileges),
    hashType: input.hashType === undefined ? token.hashType : input.hashType ?? "SHA1",
    description: pick("description", token.description)
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------------------------------

const getState = (ctx: DispatchContext) => Ref.get(ctx.state)

/**
 * `ks::toSecureString`: the partner's KS version, encrypted (v2) or signed (v1) with its first admin secret, or, for
 * an ADMIN session, with the admin secret it was started with (`initialSecret`, e.g. a secondary one).
 */
const mintKs = (
  state: S.State,
  partnerId: number,
  options: Omit<Ks.EncodeOptions, "partnerId" | "adminSecret"> & { readonly initialSecret?: string | undefined }
): string | undefined => {
  const partner = state.partners.get(partnerId)
  if (partner === undefined) return undefined
  const { initialSecret, ...encodeOptions } = options
  const adminSecret = options.type === 2 && initialSecret !== undefined && initialSecret !== ""
    ? initialSecret
    : partner.adminSecrets[0]!
  return Ks.encode({ ...encodeOptions, partnerId, adminSecret, version: partner.ksVersion })
}

const pager = (params: ParamObject) => {
  const value = objectParam(params, "pager")
  const pageSize = value === undefined ? 30 : intParam(value, "pageSize", 30)
  const pageIndex = value === undefined ? 1 : intParam(value, "pageIndex", 1)
  const size = pageSize <= 0 ? 30 : Math.min(pageSize, 500)
  const index = pageIndex <= 0 ? 1 : pageIndex
  return <A>(items: ReadonlyArray<A>) => items.slice((index - 1) * size, index * size)
}

const csv = (value: string | undefined) =>
  value === undefined ? undefined : value.split(",").map((item) => item.trim()).filter((item) => item !== "")

// ---------------------------------------------------------------------------------------------------------------------
// actions
// ---------------------------------------------------------------------------------------------------------------------

const startWidgetSession = action({
  name: "startWidgetSession",
  permission: "always",
  args: (params) =>
    Effect.all({
      widgetId: requiredString(params, "widgetId"),
      expiry: Effect.succeed(intParam(params, "expiry", 86400))
    }),
  run: (ctx, args: { widgetId: string; expiry: number }) =>
    Effect.gen(function*() {
      const state = yield* getState(ctx)
      const cacheKey = `${args.widgetId}|${args.expiry}|${ctx.ksString ?? ""}`
      const cached = ctx.widgetSessionCache ? state.widgetCache.get(cacheKey) : undefined
      if (cached !== undefined && cached.until > ctx.now) return cached.response
      const match = /^_(\d+)$/.exec(args.widgetId)
      const partner = match === null ? undefined : state.partners.get(Number(match[1]))
      if (partner === undefined) return yield* Effect.fail(Errors.invalidWidgetId(args.widgetId))
      const expiry = partner.ksMaxExpiry > 0 ? Math.min(args.expiry, partner.ksMaxExpiry) : args.expiry
      const ks = mintKs(state, partner.id, {
        expiresAt: ctx.now + expiry,
        type: 0,
        userId: "0",
        privileges: "view:*,widget:1"
      })!
      const response = { partnerId: partner.id, ks, userId: 0, objectType: "KalturaStartWidgetSessionResponse" }
      if (ctx.widgetSessionCache) {
        yield* Ref.update(ctx.state, (current) => ({
          ...current,
          widgetCache: new Map(current.widgetCache).set(cacheKey, { response, until: ctx.now + 600 })
        }))
      }
      return response
    })
})

/**
 * `SessionService::startAction($secret, $userId = "", $type = 0, $partnerId = null, $expiry = 86400, $privileges =
 * null)`, then `kSessionUtils::startKSession` / `Partner::validateSecret`. The partner is the `partnerId` argument
 * only (absent is 0), never the KS's; an unknown partner or a wrong secret is `START_SESSION_ERROR`.
 */
const sessionStart = action({
  name: "start",
  permission: "always",
  args: (params) =>
    Effect.all({
      secret: requiredString(params, "secret"),
      userId: Effect.map(optionalString(params, "userId"), (value) => value ?? ""),
      type: sessionTypeParam(params, "type"),
      partnerId: Effect.succeed(intParam(params, "partnerId", 0)),
      expiry: Effect.succeed(intParam(params, "expiry", 86400)),
      privileges: Effect.map(optionalString(params, "privileges"), (value) => value ?? "")
    }),
  run: (
    ctx,
    args: {
      secret: string
      userId: string
      type: Ks.SessionType
      partnerId: number
      expiry: number
      privileges: string
    }
  ) =>
    Effect.gen(function*() {
      const state = yield* getState(ctx)
      const partner = state.partners.get(args.partnerId)
      // validateSecret: the admin secret (or an additional one), or the user secret unless an ADMIN session is asked
      const secretOk = partner !== undefined && !partner.blocked &&
        (partner.adminSecrets.includes(args.secret) || (args.type !== 2 && partner.secret === args.secret))
      if (partner === undefined || !secretOk) {
        return yield* Effect.fail(Errors.startSessionError(String(args.partnerId)))
      }
      // calculateExpiry: capped by ksMaxExpiryInSeconds, a partner without one (0) is capped at a day
      const max = partner.ksMaxExpiry > 0 ? partner.ksMaxExpiry : 86400
      const expiry = max < args.expiry ? max : args.expiry
      return mintKs(state, partner.id, {
        expiresAt: ctx.now + expiry,
        type: args.type,
        userId: args.userId,
        privileges: args.privileges,
        initialSecret: args.secret
      })!
    })
})

const sessionGet = action({
  name: "get",
  permission: "session",
  args: (params) => Effect.all({ session: optionalString(params, "session") }),
  run: (ctx, args: { session: string | undefined }) =>
    Effect.gen(function*() {
      const state = yield* getState(ctx)
      const ksString = args.session === undefined || args.session === "" || args.session === "0"
        ? ctx.ksString!
        : args.session
      const ks = Ks.decode(ksString, (pid) => state.partners.get(pid)?.adminSecrets)
      if (Either.isLeft(ks)) return yield* Effect.fail(Errors.invalidKs(ksString))
      // Values copied out of a parsed KS: every field is a string (playkit-ios sample of session.get).
      return {
        ks: ksString,
        sessionType: String(ks.right.type),
        partnerId: String(ks.right.partnerId),
        userId: ks.right.userId ?? "",
        expiry: String(ks.right.validUntil),
        privileges: ks.right.privileges,
        objectType: "KalturaSessionInfo"
      }
    })
})

/** `session.end` is `ALWAYS_ALLOWED_ACTIONS` (`@ksOptional`): without a KS it does nothing and returns `null`. */
const sessionEnd = action({
  name: "end",
  permission: "always",
  args: () => Effect.succeed({}),
  run: (ctx) =>
    Ref.update(ctx.state, (state) => {
      const ks = ctx.ks
      if (ks === undefined) return state
      const revoked = S.revokeKs(state, ks.hash, ks.validUntil)
      const sessionId = Ks.sessionIdOf(ks)
      return sessionId === undefined ? revoked : S.revokeSessionId(revoked, ks.partnerId, sessionId, ctx.now + 86400)
    }).pipe(Effect.as(null))
})

interface StartSessionArgs {
  readonly id: string
  readonly tokenHash: string
  readonly userId: string
  readonly type: Ks.SessionType
  readonly expiry: number
  readonly sessionPrivileges: string
}

const appTokenStartSession = action({
  name: "startSession",
  permission: "session",
  args: (params) =>
    Effect.all({
      id: requiredString(params, "id"),
      tokenHash: requiredString(params, "tokenHash"),
      userId: Effect.map(optionalString(params, "userId"), (value) => value ?? ""),
      type: sessionTypeParam(params, "type"),
      expiry: Effect.succeed(intParam(params, "expiry", 0)),
      sessionPrivileges: Effect.map(optionalString(params, "sessionPrivileges"), (value) => value ?? "")
    }),
  run: (ctx, args: StartSessionArgs) =>
    Effect.gen(function*() {
      const state = yield* getState(ctx)
      const token = ctx.partnerId === undefined ? undefined : S.findAppToken(state, ctx.partnerId, args.id)
      if (token === undefined) return yield* Effect.fail(Errors.appTokenIdNotFound(args.id))
      if (token.status !== 2) return yield* Effect.fail(Errors.appTokenNotActive(args.id))
      if (Ks.appTokenHash(token.hashType, ctx.ksString!, token.token) !== args.tokenHash) {
        return yield* Effect.fail(Errors.invalidAppTokenHash())
      }
      // A token whose sessionDuration was cleared (`sessionDuration__null`) has a null duration: PHP's min() keeps
      // the null, `null < 0` is false, and `time() + null` gives a KS that is already expired.
      let tokenExpiry: number | undefined = token.sessionDuration
      if (token.expiry !== undefined && tokenExpiry !== undefined) {
        tokenExpiry = Math.min(tokenExpiry, token.expiry - ctx.now)
        if (tokenExpiry < 0) return yield* Effect.fail(Errors.appTokenExpired(args.id))
      }
      const expiry = tokenExpiry === undefined ? 0 : Math.min(args.expiry || tokenExpiry, tokenExpiry)
      const type = token.sessionType ?? args.type
      const userId = token.sessionUserId ?? args.userId
      const privileges = Ks.appTokenSessionPrivileges({
        tokenId: token.id,
        tokenPrivileges: token.sessionPrivileges,
        requestPrivileges: args.sessionPrivileges
      })
      const ks = mintKs(state, token.partnerId, { expiresAt: ctx.now + expiry, type, userId, privileges })
      if (ks === undefined) return yield* Effect.fail(Errors.startSessionError(String(token.partnerId)))
      return {
        ks,
        sessionType: type,
        partnerId: ctx.partnerIdOut,
        userId,
        expiry: ctx.now + expiry,
        privileges,
        objectType: "KalturaSessionInfo"
      }
    })
})

const APP_TOKEN_CLASS = "KalturaAppToken"

/**
 * `appToken.add(KalturaAppToken $appToken)`: the object is built (value errors) before the permission check; then
 * `toInsertableObject` (read-only fields → `PROPERTY_VALIDATION_NOT_UPDATABLE`), then the session user.
 */
const appTokenAdd = action({
  name: "add",
  permission: "admin",
  args: (params, now) =>
    params.appToken === undefined || params.appToken === null
      ? Effect.fail(Errors.missingParameter("appToken"))
      : buildObject(APP_TOKEN, params.appToken, "appToken", now),
  run: (ctx, built: Built) =>
    Effect.gen(function*() {
      for (const [name, property] of APP_TOKEN) {
        if (property.readonly === true && built.has(name)) {
          return yield* Effect.fail(Errors.propertyNotUpdatable(`${APP_TOKEN_CLASS}::${name}`))
        }
      }
      const state = yield* getState(ctx)
      const token = createAppToken(state, ctx.partnerId!, appTokenInput(built), ctx.now)
      yield* checkSessionUser(state, token)
      yield* Ref.update(ctx.state, (current) => S.putAppToken(current, token))
      return S.appTokenObject(token)
    })
})

const appTokenGet = action({
  name: "get",
  permission: "admin",
  args: (params) => Effect.all({ id: requiredString(params, "id") }),
  run: (ctx, args: { id: string }) =>
    Effect.flatMap(getState(ctx), (state) => {
      const token = S.findAppToken(state, ctx.partnerId!, args.id)
      return token === undefined
        ? Effect.fail(Errors.appTokenIdNotFound(args.id))
        : Effect.succeed(S.appTokenObject(token))
    })
})

/** `baseObjectFilter::createSqlIn`: split on `,` (no trimming), at most 500 values. */
const inValues = (value: string) => value.split(",").slice(0, 500)

type OrderField = "createdAt" | "updatedAt"

/** `KalturaAppTokenBaseFilter::$order_by_map`: unknown entries are dropped, the rest applied in turn. */
const orderBy = (value: string | undefined): ReadonlyArray<readonly [OrderField, 1 | -1]> =>
  (value ?? "").split(",").flatMap((entry) => {
    const match = /^([+-])(createdAt|updatedAt)$/.exec(entry)
    return match === null ? [] : [[match[2] as OrderField, match[1] === "+" ? 1 : -1] as const]
  })

/**
 * `appToken.list(KalturaAppTokenFilter $filter = null, KalturaFilterPager $pager = null)`: the partner's tokens that
 * are not deleted. Filter values of `""` are ignored (`baseObjectFilter::attachToFinalCriteria`); an unknown
 * `sessionUserIdEqual` returns `totalCount` 0 and no `objects` at all. The pager (`KalturaFilterPager`) caps
 * `pageSize` at 500, and a `pageSize` of 0 or less sets no limit.
 */
const appTokenList = action({
  name: "list",
  permission: "admin",
  args: (params, now) =>
    Effect.all({
      filter: optionalObject(params, "filter", APP_TOKEN_FILTER, now),
      pager: optionalObject(params, "pager", FILTER_PAGER, now)
    }),
  run: (ctx, args: { filter: Built | undefined; pager: Built | undefined }) =>
    Effect.map(getState(ctx), (state) => {
      const text = (name: string) => {
        const value = setValue(args.filter, name)
        return value === undefined || value === "" ? undefined : String(value)
      }
      const number = (name: string) => {
        const value = setValue(args.filter, name)
        return value === undefined ? undefined : Number(value)
      }
      const userEqual = text("sessionUserIdEqual")
      if (userEqual !== undefined && phpTruthy(userEqual) && !S.userExists(state, ctx.partnerId!, userEqual)) {
        return { totalCount: 0, objectType: "KalturaAppTokenListResponse" }
      }
      const idEqual = text("idEqual")
      const idIn = text("idIn")
      const statusEqual = number("statusEqual")
      const statusIn = text("statusIn")
      const createdFrom = number("createdAtGreaterThanOrEqual")
      const createdTo = number("createdAtLessThanOrEqual")
      const updatedFrom = number("updatedAtGreaterThanOrEqual")
      const updatedTo = number("updatedAtLessThanOrEqual")
      const matching = Array.from(state.appTokens.values()).filter((token) =>
        token.partnerId === ctx.partnerId && token.status !== 3 &&
        (idEqual === undefined || token.id === idEqual) &&
        (idIn === undefined || inValues(idIn).includes(token.id)) &&
        (statusEqual === undefined || token.status === statusEqual) &&
        (statusIn === undefined || inValues(statusIn).some((status) => phpInt(status) === token.status)) &&
        // `if ($filter->sessionUserIdEqual)`: "0" is falsy, skips the user lookup and matches no kuser id
        (userEqual === undefined || (phpTruthy(userEqual) && token.sessionUserId === userEqual)) &&
        (createdFrom === undefined || token.createdAt >= createdFrom) &&
        (createdTo === undefined || token.createdAt <= createdTo) &&
        (updatedFrom === undefined || token.updatedAt >= updatedFrom) &&
        (updatedTo === undefined || token.updatedAt <= updatedTo)
      )
      for (const [field, direction] of orderBy(text("orderBy")).slice().reverse()) {
        matching.sort((a, b) => (a[field] - b[field]) * direction)
      }
      const pageSize = Math.max(Math.min(Number(setValue(args.pager, "pageSize") ?? 30), 500), 0)
      const pageIndex = Math.max(1, Number(setValue(args.pager, "pageIndex") ?? 1))
      const page = pageSize === 0 ? matching : matching.slice((pageIndex - 1) * pageSize, pageIndex * pageSize)
      return {
        objects: page.map(S.appTokenObject),
        totalCount: matching.length,
        objectType: "KalturaAppTokenListResponse"
      }
    })
})

/**
 * `KalturaObject::validateForUpdate`: a read-only property sent with the value the token already has passes (`id`,
 * `token`, `partnerId`, `status`; `createdAt`/`updatedAt` never do, their getters return date strings).
 */
const unchangedValue = (token: AppToken, name: string): string | number | undefined => {
  switch (name) {
    case "id":
      return token.id
    case "token":
      return token.token
    case "partnerId":
      return token.partnerId
    case "status":
      return token.status
    default:
      return undefined
  }
}

/**
 * `appToken.update($id, KalturaAppToken $appToken)`: the object is built (value errors) before the permission check;
 * then the token lookup, `toUpdatableObject` (read-only fields), the session user.
 */
const appTokenUpdate = action({
  name: "update",
  permission: "admin",
  args: (params, now) =>
    Effect.gen(function*() {
      const id = yield* requiredString(params, "id")
      if (params.appToken === undefined || params.appToken === null) {
        return yield* Effect.fail(Errors.missingParameter("appToken"))
      }
      return { id, built: yield* buildObject(APP_TOKEN, params.appToken, "appToken", now) }
    }),
  run: (ctx, args: { id: string; built: Built }) =>
    Effect.gen(function*() {
      const state = yield* getState(ctx)
      const token = S.findAppToken(state, ctx.partnerId!, args.id)
      if (token === undefined) return yield* Effect.fail(Errors.appTokenIdNotFound(args.id))
      for (const [name, property] of APP_TOKEN) {
        const value = args.built.get(name)
        if (value === undefined || (value !== NullField && value === unchangedValue(token, name))) continue
        if (property.readonly === true) {
          return yield* Effect.fail(Errors.propertyNotUpdatable(`${APP_TOKEN_CLASS}::${name}`))
        }
      }
      const updated = updateAppToken(token, appTokenInput(args.built), ctx.now)
      yield* checkSessionUser(state, updated)
      yield* Ref.update(ctx.state, (current) => S.putAppToken(current, updated))
      return S.appTokenObject(updated)
    })
})

/** `appToken.delete`: status DELETED, and every KS carrying `sessionid:<id>` revoked (`INVALID_KS` `LOGOUT`). */
const appTokenDelete = action({
  name: "delete",
  permission: "admin",
  args: (params) => Effect.all({ id: requiredString(params, "id") }),
  run: (ctx, args: { id: string }) =>
    Effect.flatten(Ref.modify(ctx.state, (state): readonly [Effect.Effect<unknown, ApiError>, S.State] => {
      const token = S.findAppToken(state, ctx.partnerId!, args.id)
      if (token === undefined) return [Effect.fail(Errors.appTokenIdNotFound(args.id)), state] as const
      return [Effect.succeed(null), S.deleteAppToken(state, token, ctx.now)] as const
    }))
})

/** The `idEqual` / `idIn` part of `baseEntry.list`'s filter. */
const idFilter = (filter: ParamObject) => {
  const idEqual = stringParam(filter, "idEqual")
  const idIn = csv(stringParam(filter, "idIn"))
  return (id: string) => (idEqual === undefined || id === idEqual) && (idIn === undefined || idIn.includes(id))
}

const baseEntryList = action({
  name: "list",
  permission: "entries",
  args: (params) => Effect.succeed(params),
  run: (ctx, params: ParamObject) =>
    Effect.map(getState(ctx), (state) => {
      const filter = objectParam(params, "filter") ?? {}
      const matchesId = idFilter(filter)
      const nameLike = stringParam(filter, "nameLike")?.toLowerCase()
      const matching = state.entries.filter((entry) =>
        entry.partnerId === ctx.partnerId && matchesId(entry.id) &&
        (nameLike === undefined || entry.name.toLowerCase().includes(nameLike))
      )
      return {
        objects: pager(params)(matching).map(S.entryObject),
        totalCount: matching.length,
        objectType: "KalturaBaseEntryListResponse"
      }
    })
})

/**
 * `SystemService::pingAction`: always `true`. It needs no partner (`partnerRequired` is false for `ping`) and no KS
 * (`system->ping` is an always-allowed action); a KS sent with it is still parsed and checked by the dispatcher.
 */
const systemPing = action({
  name: "ping",
  permission: "always",
  args: () => Effect.succeed({}),
  run: () => Effect.succeed(true)
})

const services: Readonly<Record<string, Readonly<Record<string, Action<any>>>>> = {
  session: {
    startwidgetsession: startWidgetSession,
    start: sessionStart,
    get: sessionGet,
    end: sessionEnd
  },
  apptoken: {
    startsession: appTokenStartSession,
    add: appTokenAdd,
    get: appTokenGet,
    list: appTokenList,
    update: appTokenUpdate,
    delete: appTokenDelete
  },
  baseentry: {
    list: baseEntryList
  },
  system: {
    ping: systemPing
  }
}

/** The canonical `service.action` key of a request, lower-cased (used for counters and faults). @internal */
export const actionKey = (service: string | undefined, action: string | undefined): string =>
  `${(service ?? "").toLowerCase()}.${(action ?? "").toLowerCase()}`

const permitted = (ctx: ActionContext, permission: Permission): boolean => {
  // kPermissionManager::isPartnerAccessAllowed: a KS may not act on another partner (checked for every action)
  if (ctx.ks !== undefined && ctx.requestedPartnerId !== undefined && ctx.requestedPartnerId !== ctx.ks.partnerId) {
    return false
  }
  if (permission === "always") return true
  const ks = ctx.ks
  if (ks === undefined) return false
  switch (permission) {
    case "session":
      return true
    case "admin":
      return ks.type === 2
    case "entries":
      return ctx.allowWidgetKsForBaseEntryList || !Ks.isWidgetSession(ks)
  }
}

/**
 * The partner a request asks for (`KalturaDispatcher::dispatch`, `kCurrentContext::initKsPartnerUser`): `p`, else
 * `partnerId`, each only when truthy (or a KS is sent); with a KS, a requested partner that equals 0 is dropped.
 */
const requestedPartner = (params: ParamObject, hasKs: boolean): ParamValue | undefined => {
  const ksTruthy = phpTruthy(params.ks)
  const pick = (name: string) => {
    const value = params[name]
    return value !== undefined && value !== null && (phpTruthy(value) || ksTruthy) ? value : undefined
  }
  let requested = pick("p")
  if (!phpTruthy(requested)) requested = pick("partnerId")
  if (requested === undefined || phpString(requested) === "" || typeof requested === "object") return undefined
  if (hasKs && phpLooseEqualsInt(requested, 0)) return undefined
  return requested
}

/** One api_v3 call, in the server's validation order (spec §1.2). @internal */
export const dispatch = (ctx: DispatchContext, params: ParamObject): Effect.Effect<unknown, ApiError> =>
  Effect.gen(function*() {
    const serviceName = stringParam(params, "service")
    const actionName = stringParam(params, "action")
    yield* ctx.count(actionKey(serviceName, actionName))
    // 1–3. service and action
    if (serviceName === undefined || serviceName === "") return yield* Effect.fail(Errors.serviceNotSpecified())
    const service = services[serviceName.toLowerCase()]
    if (service === undefined) return yield* Effect.fail(Errors.serviceDoesNotExist(serviceName.toLowerCase()))
    if (actionName === undefined || actionName === "") return yield* Effect.fail(Errors.actionNotSpecified())
    const definition = service[actionName.toLowerCase()]
    if (definition === undefined) {
      return yield* Effect.fail(Errors.actionDoesNotExist(serviceName.toLowerCase(), actionName))
    }
    // 5. KS parse
    const state = yield* getState(ctx)
    // `if (!$ksString)`: "" and "0" are no KS at all
    const rawKs = stringParam(params, "ks")
    const ksString = rawKs === undefined || rawKs === "" || rawKs === "0" ? undefined : rawKs
    let ks: Ks.KsData | undefined
    if (ksString !== undefined) {
      const decoded = Ks.decode(ksString, (pid) => state.partners.get(pid)?.adminSecrets)
      if (Either.isLeft(decoded)) return yield* Effect.fail(Errors.invalidKs(ksString))
      ks = decoded.right
    }
    const requested = requestedPartner(params, ks !== undefined)
    const requestedPartnerId = requested === undefined ? undefined : phpInt(requested)
    // 7. arguments, in declaration order (relative times from the KS's `reftime` privilege, if any)
    const args = yield* definition.args(params, referenceTime(ks, ctx.now))
    // 8. kPermissionManager::init: KS validity, then the requested partner (unknown or not active), then the
    // operating partner (the KS's, or the requested one without a KS)
    if (ks !== undefined) {
      if (Ks.isExpired(ks, ctx.now)) return yield* Effect.fail(Errors.invalidKs("EXPIRED"))
      if (S.isRevoked(state, ks, ctx.now)) return yield* Effect.fail(Errors.invalidKs("LOGOUT"))
    }
    if (requestedPartnerId !== undefined) {
      const partner = state.partners.get(requestedPartnerId)
      if (partner === undefined || partner.blocked) return yield* Effect.fail(Errors.partnerBlocked())
    }
    if (ks !== undefined && state.partners.get(ks.partnerId)?.blocked === true) {
      return yield* Effect.fail(Errors.partnerBlocked())
    }
    const actionCtx: ActionContext = {
      ...ctx,
      params,
      ksString,
      ks,
      requestedPartnerId,
      partnerId: requestedPartnerId ?? ks?.partnerId,
      partnerIdOut: requested !== undefined
        ? requested as string | number
        : ks === undefined
        ? undefined
        : String(ks.partnerId)
    }
    // 9. permission
    if (!permitted(actionCtx, definition.permission)) {
      return yield* Effect.fail(Errors.serviceForbidden(`${serviceName.toLowerCase()}->${definition.name}`))
    }
    // 10. the action
    return yield* definition.run(actionCtx, args)
  })

// ---------------------------------------------------------------------------------------------------------------------
// multirequest (`KalturaFrontController::handleMultiRequest`)
// ---------------------------------------------------------------------------------------------------------------------

/** The references of a request: key → the matched text, or the references inside a nested object. */
interface ReferencePaths {
  readonly [key: string]: ReferencePaths | string
}

/**
 * `getMultiRequestResultsPaths`'s pattern: greedy to the last `}` of the line, so a value holding two references
 * (or text after one) yields one span from the first `{N:result` to the last `}`.
 */
const REFERENCE = /\{[0-9]+:result:?([^\n]*)?\}/
const WHOLE_REFERENCE = /^\{([0-9]+):result:?([^\n]*)?\}$/

const isContainer = (value: ParamValue | undefined): value is ParamObject | ReadonlyArray<ParamValue> =>
  typeof value === "object" && value !== null

/** `getMultiRequestResultsPaths`: the first reference-looking span of every string value, recursively. */
const referencePaths = (params: ParamObject | ReadonlyArray<ParamValue>): ReferencePaths | undefined => {
  const paths: Record<string, ReferencePaths | string> = {}
  for (const [key, value] of Object.entries(params)) {
    if (isContainer(value)) {
      const inner = referencePaths(value)
      if (inner !== undefined) paths[key] = inner
    } else if (typeof value === "string" || typeof value === "number") {
      const match = REFERENCE.exec(String(value))
      if (match !== null) paths[key] = match[0]
    }
  }
  return Object.keys(paths).length > 0 ? paths : undefined
}

/** Whether PHP sees an object there (a Kaltura object, a typed array, an exception). */
const isPhpObject = (value: unknown): boolean => typeof value === "object" && value !== null

/** `getValuesFromObjectsArray`: `"a,b,"` (each item's attribute and a comma), or null when none has it. */
const valuesFromObjectsArray = (items: ReadonlyArray<unknown>, attribute: string | undefined): string | null => {
  let result: string | null = null
  for (const item of items) {
    const value = isPhpObject(item) && attribute !== undefined
      ? (item as Record<string, unknown>)[attribute]
      : undefined
    if (value === undefined || value === null) continue
    result = (result ?? "") + phpScalarString(value) + ","
  }
  return result
}

/**
 * `getValueFromObject`: an empty path gives a scalar (an object gives null); a property of an object; an index of a
 * typed array (`objects:0:id`) or `_all` (`objects:_all:id`). Anything else is null. A failed request's result (an
 * exception) has no readable property: null (PHP would even stop on `code`, `message`, `args`, which are protected).
 */
const valueFromObject = (object: unknown, path: ReadonlyArray<string>): unknown => {
  const [head, ...rest] = path
  if (head === undefined || head === "") return isPhpObject(object) ? null : object
  if (object instanceof Errors.ApiError) return null
  if (Array.isArray(object)) {
    if (head === "_all") return valuesFromObjectsArray(object, rest[0])
    return /^(?:0|[1-9][0-9]*)$/.test(head) && Number(head) < object.length
      ? valueFromObject(object[Number(head)], rest)
      : null
  }
  if (isPhpObject(object) && Object.hasOwn(object as object, head)) {
    return valueFromObject((object as Record<string, unknown>)[head], rest)
  }
  return null
}

/** PHP's string conversion of a scalar (`true` → `"1"`, `false` and null → `""`). */
const phpScalarString = (value: unknown): string =>
  value === null || value === undefined || value === false
    ? ""
    : value === true
    ? "1"
    : typeof value === "string" || typeof value === "number"
    ? String(value)
    : "Array"

/**
 * `replaceMultiRequestResults`: after the `index`-th executed request, every recorded span naming that index is
 * replaced (`str_replace`, every occurrence) by the value at its path, `""` when there is none. A span holding two
 * references names the first one's index and a path that cannot exist, so it is replaced whole by `""`.
 */
const replaceReferences = <A extends ParamObject | ReadonlyArray<ParamValue>>(
  index: number,
  paths: ReferencePaths,
  params: A,
  result: unknown
): A => {
  const replaced: Record<string, ParamValue> = Array.isArray(params)
    ? Object.fromEntries(params.map((value, i) => [String(i), value]))
    : { ...(params as ParamObject) }
  for (const [key, path] of Object.entries(paths)) {
    const current = replaced[key]
    if (current === undefined || current === null) continue
    if (typeof path !== "string") {
      if (isContainer(current)) replaced[key] = replaceReferences(index, path, current, result)
      continue
    }
    const match = WHOLE_REFERENCE.exec(path)
    if (match === null || Number(match[1]) !== index) continue
    const value = valueFromObject(result, (match[2] ?? "").split(":"))
    replaced[key] = phpString(current).split(path).join(phpScalarString(value))
  }
  return (Array.isArray(params) ? Object.values(replaced) : replaced) as A
}

/**
 * `KalturaFrontController::handleMultiRequest`. Numeric keys (`"0"`, `"1"`, …, already grouped from `"1:service"`)
 * are the requests, everything else is common. Requests run from `min(1, lowest index)` up to the first index without
 * `service` or `action`; `ks`, `clientTag` and `partnerId` are copied into a request that lacks them, `format` is
 * dropped. After each request its result replaces the `{N:result…}` references into the later requests, N counting
 * executed requests from 1. A failed request's slot holds its error; the next ones still run.
 *
 * @internal
 */
export const multiRequest = (ctx: DispatchContext, params: ParamObject): Effect.Effect<Array<unknown>> =>
  Effect.gen(function*() {
    const requests = new Map<number, ParamValue>()
    const common: Record<string, ParamValue> = {}
    let start = 1
    let end = 1
    for (const [key, value] of Object.entries(params)) {
      if (phpIsNumeric(key)) {
        const index = phpInt(key)
        start = Math.min(start, index)
        end = Math.max(end, index)
        requests.set(index, value)
      } else {
        common[key] = value
      }
    }
    const paths = new Map<number, ReferencePaths>()
    for (const [index, request] of requests) {
      const found = isContainer(request) ? referencePaths(request) : undefined
      if (found !== undefined) paths.set(index, found)
    }
    const results: Array<unknown> = []
    for (let i = start; i <= end; i++) {
      const request = requests.get(i)
      if (!isObject(request) || request.service == null || request.action == null) break
      const current: Record<string, ParamValue> = { ...request }
      for (const key of ["clientTag", "ks", "partnerId"]) {
        if (common[key] != null && current[key] == null) current[key] = common[key]!
      }
      delete current.format
      const result = yield* Effect.merge(dispatch(ctx, current))
      results.push(result)
      for (let next = i + 1; next <= requests.size; next++) {
        const nextPaths = paths.get(next)
        const nextRequest = requests.get(next)
        if (nextPaths !== undefined && isContainer(nextRequest)) {
          requests.set(next, replaceReferences(results.length, nextPaths, nextRequest, result))
        }
      }
    }
    return results
  })
