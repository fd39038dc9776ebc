/**
 * The fake server's data: partners, app tokens, entries and revocations, with pure update functions.
 *
 * @internal
 */
import * as Crypto from "node:crypto"
import type { AppToken, AppTokenStatus, Entry, Partner } from "../FakeKaltura.js"
import * as Ks from "../Ks.js"

/** @internal */
export interface State {
  readonly partners: ReadonlyMap<number, Partner>
  /** Insertion order is creation order. Deleted tokens stay, with status 3. */
  readonly appTokens: ReadonlyMap<string, AppToken>
  readonly entries: ReadonlyArray<Entry>
  /** `"<pid>_<sessionid>"` → revoked until (unix seconds; `Infinity` for ever). */
  readonly revokedSessionIds: ReadonlyMap<string, number>
  /** A KS's hash (`Ks.KsData.hash`, what `invalid_session` stores) → revoked until. */
  readonly revokedKs: ReadonlyMap<string, number>
  /** `startWidgetSession` responses cached by request (the API cache's 600 s), when enabled. */
  readonly widgetCache: ReadonlyMap<string, { readonly response: unknown; readonly until: number }>
}

/** @internal */
export const emptyState: State = {
  partners: new Map(),
  appTokens: new Map(),
  entries: [],
  revokedSessionIds: new Map(),
  revokedKs: new Map(),
  widgetCache: new Map()
}

/** `<dc>_` + 8 characters of `[0-9a-z]`, like `AppToken::calculateId`. @internal */
export const generateAppTokenId = (existing: ReadonlyMap<string, unknown>): string => {
  for (;;) {
    const digest = BigInt("0x" + Crypto.randomBytes(16).toString("hex")).toString(36)
    const id = `0_${digest.slice(1, 9).padStart(8, "0")}`
    if (!existing.has(id)) return id
  }
}

/** 32 lower-case hex characters (`bin2hex(openssl_random_pseudo_bytes(16))`). @internal */
export const generateToken = (): string => Crypto.randomBytes(16).toString("hex")

/** The seeded entries of a partner. @internal */
export const defaultEntries = (partnerId: number, createdAt: number): Array<Entry> =>
  [1, 2, 3].map((n) => ({
    id: `0_entry00${n}`,
    partnerId,
    name: `Fake entry ${n}`,
    description: `Seeded entry ${n} of partner ${partnerId}`,
    status: 2,
    mediaType: 1,
    createdAt: createdAt - (4 - n) * 3600
  }))

/** @internal */
export const addPartner = (state: State, partner: Partner, now: number, seedEntries: boolean): State => ({
  ...state,
  partners: new Map(state.partners).set(partner.id, partner),
  entries: seedEntries
    ? [...state.entries.filter((entry) => entry.partnerId !== partner.id), ...defaultEntries(partner.id, now)]
    : state.entries
})

/** @internal */
export const putAppToken = (state: State, token: AppToken): State => ({
  ...state,
  appTokens: new Map(state.appTokens).set(token.id, token)
})

/** A live (non-deleted) app token of the partner. @internal */
export const findAppToken = (state: State, partnerId: number, id: string): AppToken | undefined => {
  const token = state.appTokens.get(id)
  return token !== undefined && token.partnerId === partnerId && token.status !== 3 ? token : undefined
}

/**
 * Whether a user (kuser) exists: the fake creates one for each `sessionUserId` an app token of the partner ever had
 * (deleting the token keeps the user). @internal
 */
export const userExists = (state: State, partnerId: number, userId: string): boolean => {
  for (const token of state.appTokens.values()) {
    if (token.partnerId === partnerId && token.sessionUserId === userId) return true
  }
  return false
}

/** @internal */
export const revokeSessionId = (state: State, partnerId: number, sessionId: string, until: number): State => ({
  ...state,
  revokedSessionIds: new Map(state.revokedSessionIds).set(`${partnerId}_${sessionId}`, until)
})

/** Revokes a KS by its hash, so every spelling of it (whitespace, `-` or `+`, padding) is revoked. @internal */
export const revokeKs = (state: State, hash: string, until: number): State => ({
  ...state,
  revokedKs: new Map(state.revokedKs).set(hash, until)
})

/** Deletes (status 3) and revokes every KS minted from the token (`sessionid:<id>`). @internal */
export const deleteAppToken = (state: State, token: AppToken, now: number): State =>
  revokeSessionId(
    putAppToken(state, { ...token, status: 3 satisfies AppTokenStatus, updatedAt: now }),
    token.partnerId,
    token.id,
    token.expiry ?? Infinity
  )

/**
 * `tryToValidateKS`: widget sessions skip the lookup; others are LOGOUT when revoked by their hash or by the first
 * value of their `sessionid` privilege. @internal
 */
export const isRevoked = (state: State, ks: Ks.KsData, now: number): boolean => {
  if (Ks.isWidgetSession(ks)) return false
  const byKs = state.revokedKs.get(ks.hash)
  if (byKs !== undefined && byKs > now) return true
  const sessionId = Ks.sessionIdOf(ks)
  const until = sessionId === undefined ? undefined : state.revokedSessionIds.get(`${ks.partnerId}_${sessionId}`)
  return until !== undefined && until > now
}

/** The `KalturaAppToken` JSON object, fields in declaration order, nulls dropped. @internal */
export const appTokenObject = (token: AppToken) =>
  dropUndefined({
    id: token.id,
    token: token.token,
    partnerId: token.partnerId,
    createdAt: token.createdAt,
    updatedAt: token.updatedAt,
    status: token.status,
    expiry: token.expiry,
    sessionType: token.sessionType,
    sessionUserId: token.sessionUserId,
    sessionDuration: token.sessionDuration,
    sessionPrivileges: token.sessionPrivileges,
    hashType: token.hashType,
    description: token.description,
    objectType: "KalturaAppToken"
  })

/** A `KalturaMediaEntry` JSON object. @internal */
export const entryObject = (entry: Entry) => ({
  id: entry.id,
  name: entry.name,
  description: entry.description,
  partnerId: entry.partnerId,
  status: entry.status,
  createdAt: entry.createdAt,
  mediaType: entry.mediaType,
  objectType: "KalturaMediaEntry"
})

/** @internal */
export const dropUndefined = <A extends Record<string, unknown>>(value: A): A => {
  const result: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (inner !== undefined && inner !== null) result[key] = inner
  }
  return result as A
}
