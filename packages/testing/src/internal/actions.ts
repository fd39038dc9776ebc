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
import { isObject, isXmlValid, phpInt, stringParam } from "./params.js"
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
  /** `partnerId`/`p` if sent, otherwise the KS's partner. */
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

const checkChars = (name: string, value: string): Effect.Effect<string, ApiError> =>
  isXmlValid(value) ? Effect.succeed(value) : Effect.fail(Errors.invalidParameterChar(name))

const requiredString = (params: ParamObject, name: string) => {
  const value = stringParam(params, name)
  return value === undefined ? Effect.fail(Errors.missingParameter(name)) : checkChars(name, value)
}

const optionalString = (params: ParamObject, name: string) => {
  const value = stringParam(params, name)
  return value === undefined ? Effect.succeed(undefined) : checkChars(name, value)
}

const sessionTypeValue = (
  raw: string | undefined,
  name: string
): Effect.Effect<Ks.SessionType | undefined, ApiError> => {
  if (raw === undefined || raw === "") return Effect.succeed(undefined)
  // castSimpleType maps "true"/"false" to 1/0 first; "02" or " 2" are the integer 2
  const mapped = raw === "true" ? "1" : raw === "false" ? "0" : /^\s*[+-]?\d+\s*$/.test(raw) ? String(phpInt(raw)) : raw
  if (mapped === "0") return Effect.succeed(0)
  if (mapped === "2") return Effect.succeed(2)
  return Effect.fail(Errors.invalidEnumValue(mapped, name, "KalturaSessionType"))
}

const sessionTypeParam = (params: ParamObject, name: string) =>
  Effect.map(sessionTypeValue(stringParam(params, name), name), (type) => type ?? 0)

const intParam = (params: ParamObject, name: string, fallback: number): number => {
  const value = params[name]
  if (value === undefined || value === null) return fallback
  if (typeof value === "number") return Math.trunc(value)
  if (typeof value === "boolean") return value ? 1 : 0
  if (typeof value === "string") return phpInt(value)
  return 0
}

const objectParam = (params: ParamObject, name: string): ParamObject | undefined => {
  const value = params[name]
  return isObject(value) ? value : undefined
}

// ---------------------------------------------------------------------------------------------------------------------
// app token objects
// ---------------------------------------------------------------------------------------------------------------------

const READONLY_APP_TOKEN_FIELDS = ["id", "token", "partnerId", "createdAt", "updatedAt", "status"]
const PUSER_ID = /^[A-Za-z0-9,!#$%&'*+?^_`{|}~.@-]{1,320}$/
const MAX_RELATIVE_TIME = 315360000

/** The writable fields of a `KalturaAppToken` input. `null` clears a field (update). @internal */
export interface AppTokenInput {
  readonly expiry?: number | null
  readonly sessionType?: Ks.SessionType | null
  readonly sessionUserId?: string | null
  readonly sessionDuration?: number | null
  readonly sessionPrivileges?: string | null
  readonly hashType?: Ks.HashType | null
  readonly description?: string | null
}

const fieldValue = (value: ParamValue | undefined): string | null | undefined => {
  if (value === undefined) return undefined
  if (value === null) return null
  if (typeof value === "string") return value
  if (typeof value === "number") return String(value)
  if (typeof value === "boolean") return value ? "1" : ""
  return undefined
}

const appTokenInput = (input: ParamObject, now: number): Effect.Effect<AppTokenInput, ApiError> =>
  Effect.gen(function*() {
    for (const field of READONLY_APP_TOKEN_FIELDS) {
      if (input[field] !== undefined && input[field] !== null) {
        return yield* Effect.fail(Errors.propertyNotUpdatable(field))
      }
    }
    const objectType = fieldValue(input.objectType)
    if (objectType != null && objectType !== "KalturaAppToken") {
      return yield* Effect.fail(Errors.invalidObjectType(objectType))
    }
    const result: { -readonly [K in keyof AppTokenInput]: AppTokenInput[K] } = {}
    const expiry = fieldValue(input.expiry)
    if (expiry !== undefined) {
      if (expiry === null || expiry === "") result.expiry = null
      else {
        const value = phpInt(expiry)
        result.expiry = Math.abs(value) <= MAX_RELATIVE_TIME ? now + value : value
      }
    }
    const sessionType = fieldValue(input.sessionType)
    if (sessionType !== undefined) {
      result.sessionType = sessionType === null ? null : (yield* sessionTypeValue(sessionType, "sessionType")) ?? null
    }
    const sessionUserId = fieldValue(input.sessionUserId)
    if (sessionUserId !== undefined) {
      if (sessionUserId !== null && !PUSER_ID.test(sessionUserId)) {
        return yield* Effect.fail(Errors.invalidFieldValue("sessionUserId"))
      }
      result.sessionUserId = sessionUserId
    }
    const sessionDuration = fieldValue(input.sessionDuration)
    if (sessionDuration !== undefined) {
      result.sessionDuration = sessionDuration === null ? null : phpInt(sessionDuration)
    }
    const sessionPrivileges = fieldValue(input.sessionPrivileges)
    if (sessionPrivileges !== undefined) {
      if (sessionPrivileges !== null && !isXmlValid(sessionPrivileges)) {
        return yield* Effect.fail(Errors.invalidParameterChar("sessionPrivileges"))
      }
      result.sessionPrivileges = sessionPrivileges
    }
    const hashType = fieldValue(input.hashType)
    if (hashType !== undefined) {
      if (hashType !== null && !(Ks.hashTypes as ReadonlyArray<string>).includes(hashType)) {
        return yield* Effect.fail(Errors.invalidEnumValue(hashType, "hashType", "KalturaAppTokenHashType"))
      }
      result.hashType = hashType as Ks.HashType | null
    }
    const description = fieldValue(input.description)
    if (description !== undefined) result.description = description
    return result
  })

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
    sessionDuration: input.sessionDuration ?? partner?.ksMaxExpiry ?? 86400,
    sessionPrivileges: orUndefined(input.sessionPrivileges),
    hashType: input.hashType ?? "SHA1",
    description: orUndefined(input.description)
  }
}

const updateAppToken = (token: AppToken, input: AppTokenInput, now: number): AppToken => {
  const pick = <K extends keyof AppTokenInput>(key: K, current: AppToken[K]) =>
    input[key] === undefined ? current : orUndefined(input[key]) as AppToken[K]
  return {
    ...token,
    updatedAt: now,
    expiry: pick("expiry", token.expiry),
    sessionType: pick("sessionType", token.sessionType),
    sessionUserId: pick("sessionUserId", token.sessionUserId),
    sessionDuration: input.sessionDuration === undefined ? token.sessionDuration : input.sessionDuration ?? 86400,
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

const sessionStart = action({
  name: "start",
  permission: "always",
  args: (params) =>
    Effect.all({
      secret: requiredString(params, "secret"),
      userId: Effect.map(optionalString(params, "userId"), (value) => value ?? ""),
      type: sessionTypeParam(params, "type"),
      partnerId: Effect.succeed(stringParam(params, "partnerId")),
      expiry: Effect.succeed(intParam(params, "expiry", 86400)),
      privileges: optionalString(params, "privileges")
    }),
  run: (
    ctx,
    args: {
      secret: string
      userId: string
      type: Ks.SessionType
      partnerId: string | undefined
      expiry: number
      privileges: string | undefined
    }
  ) =>
    Effect.gen(function*() {
      const state = yield* getState(ctx)
      const partnerId = args.partnerId === undefined ? ctx.partnerId : phpInt(args.partnerId)
      const partner = partnerId === undefined ? undefined : state.partners.get(partnerId)
      const secretOk = partner !== undefined &&
        (partner.adminSecrets.includes(args.secret) || (args.type === 0 && partner.secret === args.secret))
      if (partner === undefined || !secretOk) {
        return yield* Effect.fail(Errors.startSessionError(String(partnerId ?? "")))
      }
      const expiry = partner.ksMaxExpiry > 0 ? Math.min(args.expiry, partner.ksMaxExpiry) : args.expiry
      return mintKs(state, partner.id, {
        expiresAt: ctx.now + expiry,
        type: args.type,
        userId: args.userId,
        privileges: args.privileges ?? "",
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

const sessionEnd = action({
  name: "end",
  permission: "session",
  args: () => Effect.succeed({}),
  run: (ctx) =>
    Ref.update(ctx.state, (state) => {
      const ks = ctx.ks!
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
      let tokenExpiry = token.sessionDuration
      if (token.expiry !== undefined) {
        tokenExpiry = Math.min(tokenExpiry, token.expiry - ctx.now)
        if (tokenExpiry < 0) return yield* Effect.fail(Errors.appTokenExpired(args.id))
      }
      const expiry = Math.min(args.expiry || tokenExpiry, tokenExpiry)
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

const appTokenAdd = action({
  name: "add",
  permission: "admin",
  args: (params, now) => {
    const input = objectParam(params, "appToken")
    return input === undefined ? Effect.fail(Errors.missingParameter("appToken")) : appTokenInput(input, now)
  },
  run: (ctx, input: AppTokenInput) =>
    Ref.modify(ctx.state, (state) => {
      const token = createAppToken(state, ctx.partnerId!, input, ctx.now)
      return [S.appTokenObject(token), S.putAppToken(state, token)] as const
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

/** The `idEqual` / `idIn` part of a Kaltura list filter. */
const idFilter = (filter: ParamObject) => {
  const idEqual = stringParam(filter, "idEqual")
  const idIn = csv(stringParam(filter, "idIn"))
  return (id: string) => (idEqual === undefined || id === idEqual) && (idIn === undefined || idIn.includes(id))
}

const appTokenList = action({
  name: "list",
  permission: "admin",
  args: (params) => Effect.succeed(params),
  run: (ctx, params: ParamObject) =>
    Effect.map(getState(ctx), (state) => {
      const filter = objectParam(params, "filter") ?? {}
      const matchesId = idFilter(filter)
      const statusEqual = stringParam(filter, "statusEqual")
      const statusIn = csv(stringParam(filter, "statusIn"))
      const userEqual = stringParam(filter, "sessionUserIdEqual")
      const num = (name: string) => {
        const value = stringParam(filter, name)
        return value === undefined ? undefined : phpInt(value)
      }
      const createdFrom = num("createdAtGreaterThanOrEqual")
      const createdTo = num("createdAtLessThanOrEqual")
      const updatedFrom = num("updatedAtGreaterThanOrEqual")
      const updatedTo = num("updatedAtLessThanOrEqual")
      const matching = Array.from(state.appTokens.values()).filter((token) =>
        token.partnerId === ctx.partnerId && token.status !== 3 && matchesId(token.id) &&
        (statusEqual === undefined || String(token.status) === statusEqual) &&
        (statusIn === undefined || statusIn.includes(String(token.status))) &&
        (userEqual === undefined || token.sessionUserId === userEqual) &&
        (createdFrom === undefined || token.createdAt >= createdFrom) &&
        (createdTo === undefined || token.createdAt <= createdTo) &&
        (updatedFrom === undefined || token.updatedAt >= updatedFrom) &&
        (updatedTo === undefined || token.updatedAt <= updatedTo)
      )
      return {
        objects: pager(params)(matching).map(S.appTokenObject),
        totalCount: matching.length,
        objectType: "KalturaAppTokenListResponse"
      }
    })
})

const appTokenUpdate = action({
  name: "update",
  permission: "admin",
  args: (params, now) =>
    Effect.gen(function*() {
      const id = yield* requiredString(params, "id")
      const input = objectParam(params, "appToken")
      if (input === undefined) return yield* Effect.fail(Errors.missingParameter("appToken"))
      return { id, input: yield* appTokenInput(input, now) }
    }),
  run: (ctx, args: { id: string; input: AppTokenInput }) =>
    Effect.flatten(Ref.modify(ctx.state, (state): readonly [Effect.Effect<unknown, ApiError>, S.State] => {
      const token = S.findAppToken(state, ctx.partnerId!, args.id)
      if (token === undefined) return [Effect.fail(Errors.appTokenIdNotFound(args.id)), state] as const
      const updated = updateAppToken(token, args.input, ctx.now)
      return [Effect.succeed(S.appTokenObject(updated)), S.putAppToken(state, updated)] as const
    }))
})

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
  }
}

/** The canonical `service.action` key of a request, lower-cased (used for counters and faults). @internal */
export const actionKey = (service: string | undefined, action: string | undefined): string =>
  `${(service ?? "").toLowerCase()}.${(action ?? "").toLowerCase()}`

const permitted = (ctx: ActionContext, permission: Permission): boolean => {
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
    // 7. arguments, in declaration order
    const args = yield* definition.args(params, ctx.now)
    // 8. KS validity, blocked partner
    const rawPartnerId = params.partnerId ?? params.p
    const partnerIdParam = typeof rawPartnerId === "number" || typeof rawPartnerId === "string"
      ? rawPartnerId
      : undefined
    const partnerId = partnerIdParam !== undefined && String(partnerIdParam) !== ""
      ? phpInt(partnerIdParam)
      : ks?.partnerId
    if (ks !== undefined) {
      if (Ks.isExpired(ks, ctx.now)) return yield* Effect.fail(Errors.invalidKs("EXPIRED"))
      if (S.isRevoked(state, ks, ctx.now)) return yield* Effect.fail(Errors.invalidKs("LOGOUT"))
    }
    if (partnerId !== undefined && state.partners.get(partnerId)?.blocked === true) {
      return yield* Effect.fail(Errors.partnerBlocked())
    }
    const actionCtx: ActionContext = {
      ...ctx,
      params,
      ksString,
      ks,
      partnerId,
      partnerIdOut: partnerIdParam !== undefined && String(partnerIdParam) !== ""
        ? partnerIdParam
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

/** `{N:result:path}` references, N counted from 1 over the executed requests. @internal */
const resolveReferences = (value: ParamValue, results: ReadonlyArray<unknown>): ParamValue => {
  if (typeof value === "string") {
    return value.replace(/\{(\d+):result(?::([^}]*))?\}/g, (_, index: string, path: string | undefined) => {
      let current: unknown = results[Number(index) - 1]
      if (current === undefined || current instanceof Errors.ApiError) return ""
      for (const segment of path === undefined || path === "" ? [] : path.split(":")) {
        current = typeof current === "object" && current !== null ? (current as any)[segment] : undefined
      }
      return current === undefined || current === null ? "" : typeof current === "object" ? "" : String(current)
    })
  }
  if (Array.isArray(value)) return value.map((item) => resolveReferences(item, results))
  if (isObject(value)) {
    const result: Record<string, ParamValue> = {}
    for (const [key, inner] of Object.entries(value)) result[key] = resolveReferences(inner, results)
    return result
  }
  return value
}

/** `KalturaFrontController::handleMultiRequest`. @internal */
export const multiRequest = (ctx: DispatchContext, params: ParamObject): Effect.Effect<Array<unknown>> =>
  Effect.gen(function*() {
    const indices = Object.keys(params).filter((key) => /^\d+$/.test(key)).map(Number).sort((a, b) => a - b)
    const results: Array<unknown> = []
    if (indices.length === 0) return results
    const inherited = ["ks", "clientTag", "partnerId"] as const
    for (let index = indices[0]!; index <= indices[indices.length - 1]!; index++) {
      const request = params[String(index)]
      if (!isObject(request) || stringParam(request, "service") === undefined) break
      if (stringParam(request, "action") === undefined) break
      const merged: Record<string, ParamValue> = { ...request }
      delete merged.format
      for (const key of inherited) {
        if (merged[key] === undefined && params[key] !== undefined) merged[key] = params[key]!
      }
      const resolved = resolveReferences(merged, results) as ParamObject
      results.push(yield* Effect.merge(dispatch(ctx, resolved)))
    }
    return results
  })
