/**
 * The HTTP side of the fake server: routes, parameter reading, faults, outage, request log and the admin handle.
 *
 * @internal
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Http from "node:http"
import type {
  AppToken,
  AppTokenOptions,
  MintKsOptions,
  Options,
  Partner,
  PartnerOptions,
  PendingFault,
  RequestLogEntry,
  Service
} from "../FakeKaltura.js"
import type * as FakeKalturaFault from "../FakeKalturaFault.js"
import * as Ks from "../Ks.js"
import { actionKey, createAppToken, dispatch, type DispatchContext, multiRequest } from "./actions.js"
import { ApiError, invalidKs } from "./errors.js"
import type { ParamObject } from "./params.js"
import { fromBody, fromPairs, pathPairs, replaceRecursive, stringParam } from "./params.js"
import { renderJson, renderXml } from "./render.js"
import * as S from "./state.js"

const HOST = "127.0.0.1"
const DEFAULT_PARTNER_ID = 12345
const DEFAULT_ADMIN_SECRET = "0123456789abcdef0123456789abcdef"
const DEFAULT_USER_SECRET = "fedcba9876543210fedcba9876543210"

const HTML_503 = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>" +
  "<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body></html>\n"
const HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>" +
  "<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"

type Reply =
  | {
    readonly _tag: "Response"
    readonly status: number
    readonly body: string
    readonly contentType: string
    readonly headers?: Readonly<Record<string, string>> | undefined
    readonly errorCode?: string | undefined
  }
  | { readonly _tag: "Reset" }

const toPartner = (options: PartnerOptions): Partner => ({
  id: options.id,
  adminSecrets: options.adminSecrets ?? [options.adminSecret ?? DEFAULT_ADMIN_SECRET],
  secret: options.secret ?? DEFAULT_USER_SECRET,
  ksMaxExpiry: options.ksMaxExpiry ?? 86400,
  ksVersion: options.ksVersion ?? 2,
  blocked: options.blocked ?? false
})

/** `"appToken.startSession"` → `"apptoken.startsession"`; `"*"` and `"multirequest"` as they are. */
const normaliseAction = (action: string): string => action.toLowerCase()

/** @internal */
export const make = (options?: Options) =>
  Effect.gen(function*() {
    const clock = options?.liveClock === true ? Clock.make() : yield* Effect.clock
    const offset = yield* Ref.make(options?.clockOffsetMillis ?? 0)
    const nowMillis = Effect.map(Ref.get(offset), (millis) => clock.unsafeCurrentTimeMillis() + millis)
    const nowSeconds = Effect.map(nowMillis, (millis) => Math.floor(millis / 1000))

    const defaultPartner = toPartner({ id: DEFAULT_PARTNER_ID, ...options?.partner })
    const state = yield* Ref.make(
      S.addPartner(S.emptyState, defaultPartner, yield* nowSeconds, options?.partner?.seedEntries ?? true)
    )
    const faults = yield* Ref.make<ReadonlyArray<PendingFault>>([])
    const log = yield* Ref.make<ReadonlyArray<RequestLogEntry>>([])
    const sequence = yield* Ref.make(0)
    const counters = yield* Ref.make<ReadonlyMap<string, number>>(new Map())
    const count = (key: string) =>
      Ref.update(counters, (current) => new Map(current).set(key, (current.get(key) ?? 0) + 1))

    // -----------------------------------------------------------------------------------------------------------------
    // the listener
    // -----------------------------------------------------------------------------------------------------------------

    const nodeServer = Http.createServer()
    const httpServer = yield* NodeHttpServer.make(() => nodeServer, { host: HOST, port: options?.port ?? 0 })
    const address = httpServer.address
    const port = address._tag === "TcpAddress" ? address.port : 0
    const url = `http://${HOST}:${port}`
    const scope = yield* Effect.scope

    const takeFault = (key: string) =>
      Ref.modify(faults, (pending): [Option.Option<FakeKalturaFault.FakeKalturaFault>, ReadonlyArray<PendingFault>] => {
        const index = pending.findIndex((entry) => entry.action === key || entry.action === "*")
        if (index === -1) return [Option.none(), pending]
        const entry = pending[index]!
        const rest = entry.remaining <= 1
          ? [...pending.slice(0, index), ...pending.slice(index + 1)]
          : pending.map((item, i) => i === index ? { ...item, remaining: item.remaining - 1 } : item)
        return [Option.some(entry.fault), rest]
      })

    const render = (value: unknown, json: boolean, started: number): Effect.Effect<Reply> =>
      Effect.map(nowMillis, (now) => {
        const error = value instanceof ApiError ? value : undefined
        return {
          _tag: "Response",
          status: 200,
          body: json ? renderJson(value) : renderXml(value, Math.max(0, now - started) / 1000),
          contentType: json ? "application/json" : "text/xml",
          headers: error?.code === "SERVICE_FORBIDDEN"
            ? { "x-kaltura": "error-SERVICE_FORBIDDEN", "x-kaltura-app": `exiting on error ${error.message}` }
            : undefined,
          errorCode: error?.code
        }
      })

    const execute = (params: ParamObject, multi: boolean, json: boolean, started: number) =>
      Effect.gen(function*() {
        const ctx: DispatchContext = {
          state,
          now: Math.floor(started / 1000),
          allowWidgetKsForBaseEntryList: options?.allowWidgetKsForBaseEntryList ?? false,
          widgetSessionCache: options?.widgetSessionCache ?? false,
          count
        }
        const result = multi ? yield* multiRequest(ctx, params) : yield* Effect.merge(dispatch(ctx, params))
        return yield* render(result, json, started)
      })

    const handle = (route: "action" | "multirequest" | "legacy" | "service") =>
      Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        const routeParams = yield* HttpRouter.params
        const started = yield* nowMillis
        const body = yield* Effect.orElseSucceed(request.text, () => "")
        const parsedUrl = new URL(request.url, url)
        const fromPath: Array<readonly [string, string]> = []
        if (route === "multirequest") fromPath.push(["service", "multirequest"])
        if (route === "action" || route === "service") fromPath.push(["service", routeParams.service ?? ""])
        if (route === "action") fromPath.push(["action", routeParams.action ?? ""])
        fromPath.push(...pathPairs(routeParams["*"] ?? ""))
        const urlParams = replaceRecursive(fromPairs(parsedUrl.searchParams), fromPairs(fromPath))
        const params = replaceRecursive(fromBody(request.headers["content-type"], body), urlParams)
        // `$this->service == "multirequest"`: case-sensitive (`MultiRequest` is dispatched, and is no service)
        const multi = stringParam(params, "service") === "multirequest"
        const service = stringParam(params, "service")?.toLowerCase()
        const action = multi ? undefined : stringParam(params, "action")?.toLowerCase()
        const key = multi ? "multirequest" : actionKey(service, action)
        const json = stringParam(params, "format") === "1"

        if (request.method === "OPTIONS") {
          return yield* respond(request, started, body, params, service, action, undefined, {
            _tag: "Response",
            status: 200,
            body: "",
            contentType: "text/plain",
            headers: {
              "access-control-allow-origin": "*",
              "access-control-allow-headers": "Origin, X-Requested-With, Content-Type, Accept, Range, Cache-Control",
              "access-control-allow-methods": "POST, GET, HEAD, OPTIONS"
            }
          })
        }

        if (multi) yield* count("multirequest")
        const fault = yield* takeFault(key)
        const reply: Reply = yield* Option.match(fault, {
          onNone: () => execute(params, multi, json, started),
          onSome: (fault) => applyFault(fault, () => execute(params, multi, json, started), json, started)
        })
        return yield* respond(
          request,
          started,
          body,
          params,
          service,
          action,
          Option.getOrUndefined(Option.map(fault, (fault) => fault._tag)),
          reply
        )
      })

    const applyFault = (
      fault: FakeKalturaFault.FakeKalturaFault,
      normal: () => Effect.Effect<Reply>,
      json: boolean,
      started: number
    ): Effect.Effect<Reply> => {
      switch (fault._tag) {
        case "ServiceUnavailable":
          return Effect.succeed({ _tag: "Response", status: 503, body: HTML_503, contentType: "text/html" })
        case "BadGateway":
          return Effect.succeed({ _tag: "Response", status: 502, body: HTML_502, contentType: "text/html" })
        case "ConnectionReset":
          return Effect.succeed({ _tag: "Reset" })
        case "Delay":
          return Effect.zipRight(clock.sleep(Duration.decode(fault.duration)), normal())
        case "TruncatedJson":
          return Effect.map(normal(), (reply) =>
            reply._tag === "Response"
              ? {
                ...reply,
                contentType: "application/json",
                body: reply.body.slice(0, Math.max(1, Math.floor(reply.body.length / 2)))
              }
              : reply)
        case "KsExpired":
          return render(invalidKs("EXPIRED"), json, started)
        case "ApiError":
          return render(
            new ApiError({
              code: fault.code,
              message: fault.message,
              args: fault.args === undefined || Object.keys(fault.args).length === 0 ? [] : fault.args
            }),
            json,
            started
          )
        case "Raw":
          return Effect.succeed({
            _tag: "Response",
            status: fault.status,
            body: fault.body,
            contentType: fault.contentType ?? "text/plain",
            headers: fault.headers
          })
      }
    }

    const respond = (
      request: HttpServerRequest.HttpServerRequest,
      started: number,
      body: string,
      params: ParamObject,
      service: string | undefined,
      action: string | undefined,
      fault: FakeKalturaFault.FakeKalturaFault["_tag"] | undefined,
      reply: Reply
    ) =>
      Effect.gen(function*() {
        const seq = yield* Ref.updateAndGet(sequence, (n) => n + 1)
        yield* Ref.update(log, (entries) => [...entries, {
          sequence: seq,
          time: started,
          method: request.method,
          url: request.url,
          headers: { ...request.headers },
          body,
          params,
          service,
          action,
          status: reply._tag === "Response" ? reply.status : undefined,
          errorCode: reply._tag === "Response" ? reply.errorCode : undefined,
          fault,
          responseBody: reply._tag === "Response" ? reply.body : undefined
        }])
        if (reply._tag === "Reset") {
          NodeHttpServerRequest.toIncomingMessage(request).socket.destroy()
          return yield* Effect.never
        }
        return HttpServerResponse.text(reply.body, {
          status: reply.status,
          contentType: reply.contentType,
          headers: { ...reply.headers, "x-me": "fake-kaltura", "x-kaltura-session": String(seq) }
        })
      })

    const notFound = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const started = yield* nowMillis
      const body = yield* Effect.orElseSucceed(request.text, () => "")
      return yield* respond(request, started, body, {}, undefined, undefined, undefined, {
        _tag: "Response",
        status: 404,
        body: "Not Found",
        contentType: "text/plain"
      })
    })

    const withDate = (response: HttpServerResponse.HttpServerResponse) =>
      Effect.map(nowMillis, (now) => HttpServerResponse.setHeader(response, "date", new Date(now).toUTCString()))

    const router = HttpRouter.empty.pipe(
      HttpRouter.all("/api_v3/service/multirequest", handle("multirequest")),
      HttpRouter.all("/api_v3/service/multirequest/*", handle("multirequest")),
      HttpRouter.all("/api_v3/service/:service/action/:action", handle("action")),
      HttpRouter.all("/api_v3/service/:service/action/:action/*", handle("action")),
      HttpRouter.all("/api_v3/service/:service", handle("service")),
      HttpRouter.all("/api_v3/index.php", handle("legacy")),
      HttpRouter.all("/api_v3/index.php/*", handle("legacy"))
    )

    const app = router.pipe(
      Effect.catchTag("RouteNotFound", () => notFound),
      Effect.flatMap(withDate)
    )

    yield* httpServer.serve(app)

    // -----------------------------------------------------------------------------------------------------------------
    // outage
    // -----------------------------------------------------------------------------------------------------------------

    const lifecycle = yield* Effect.makeSemaphore(1)
    const up = yield* Ref.make(true)
    const pendingRestore = yield* Ref.make<Option.Option<Fiber.RuntimeFiber<void>>>(Option.none())

    const closeListener = Effect.async<void>((resume) => {
      nodeServer.close(() => resume(Effect.void))
      nodeServer.closeAllConnections()
    })

    const listen = Effect.async<void>((resume) => {
      const onError = (error: Error) => resume(Effect.die(error))
      nodeServer.once("error", onError)
      nodeServer.listen({ host: HOST, port }, () => {
        nodeServer.off("error", onError)
        resume(Effect.void)
      })
    })

    const cancelPendingRestore = Effect.flatMap(
      Ref.getAndSet(pendingRestore, Option.none()),
      Option.match({ onNone: () => Effect.void, onSome: (fiber) => Fiber.interrupt(fiber) })
    )

    const restoreNow = lifecycle.withPermits(1)(
      Effect.gen(function*() {
        if (yield* Ref.get(up)) return
        yield* listen
        yield* Ref.set(up, true)
      })
    )

    const restore = Effect.zipRight(cancelPendingRestore, restoreNow)

    const outage = (outageOptions?: { readonly duration?: Duration.DurationInput | undefined }) =>
      Effect.gen(function*() {
        yield* cancelPendingRestore
        yield* lifecycle.withPermits(1)(
          Effect.gen(function*() {
            if (!(yield* Ref.get(up))) return
            yield* Ref.set(up, false)
            yield* closeListener
          })
        )
        if (outageOptions?.duration !== undefined) {
          const fiber = yield* Effect.forkIn(
            Effect.zipRight(clock.sleep(Duration.decode(outageOptions.duration)), restoreNow),
            scope
          )
          yield* Ref.set(pendingRestore, Option.some(fiber))
        }
      })

    // -----------------------------------------------------------------------------------------------------------------
    // the admin handle
    // -----------------------------------------------------------------------------------------------------------------

    const seedPartner = (partnerOptions: PartnerOptions) =>
      Effect.gen(function*() {
        const partner = toPartner(partnerOptions)
        const now = yield* nowSeconds
        yield* Ref.update(state, (current) => S.addPartner(current, partner, now, partnerOptions.seedEntries ?? true))
        return partner
      })

    const seedAppToken = (tokenOptions?: AppTokenOptions) =>
      Effect.gen(function*() {
        const now = yield* nowSeconds
        const partnerId = tokenOptions?.partnerId ?? defaultPartner.id
        return yield* Effect.flatten(Ref.modify(state, (current) => {
          if (!current.partners.has(partnerId)) {
            return [Effect.dieMessage(`FakeKaltura: unknown partner ${partnerId}`), current] as const
          }
          const expiry = tokenOptions?.expiry ??
            (tokenOptions?.expiresIn === undefined ? undefined : now + tokenOptions.expiresIn)
          const token = createAppToken(
            current,
            partnerId,
            {
              expiry: expiry ?? null,
              sessionType: tokenOptions?.sessionType ?? null,
              sessionUserId: tokenOptions?.sessionUserId ?? null,
              sessionDuration: tokenOptions?.sessionDuration ?? null,
              sessionPrivileges: tokenOptions?.sessionPrivileges ?? null,
              hashType: tokenOptions?.hashType ?? null,
              description: tokenOptions?.description ?? null
            },
            now,
            {
              id: tokenOptions?.id,
              token: tokenOptions?.token,
              status: tokenOptions?.status ?? 2
            }
          )
          return [Effect.succeed(token), S.putAppToken(current, token)] as const
        }))
      })

    const modifyToken = (id: string, f: (token: AppToken, now: number) => AppToken) =>
      Effect.gen(function*() {
        const now = yield* nowSeconds
        return yield* Effect.flatten(Ref.modify(state, (current) => {
          const token = current.appTokens.get(id)
          if (token === undefined) return [Effect.dieMessage(`FakeKaltura: unknown app token ${id}`), current] as const
          const updated = f(token, now)
          return [Effect.succeed(updated), S.putAppToken(current, updated)] as const
        }))
      })

    const deleteAppToken = (id: string) =>
      Effect.gen(function*() {
        const now = yield* nowSeconds
        yield* Effect.flatten(Ref.modify(state, (current) => {
          const token = current.appTokens.get(id)
          if (token === undefined) return [Effect.dieMessage(`FakeKaltura: unknown app token ${id}`), current] as const
          return [Effect.void, S.deleteAppToken(current, token, now)] as const
        }))
      })

    const mintKs = (mintOptions?: MintKsOptions) =>
      Effect.gen(function*() {
        const now = yield* nowSeconds
        const current = yield* Ref.get(state)
        const partner = current.partners.get(mintOptions?.partnerId ?? defaultPartner.id)
        if (partner === undefined) return yield* Effect.dieMessage("FakeKaltura: unknown partner")
        return Ks.encode({
          version: mintOptions?.version ?? partner.ksVersion,
          partnerId: partner.id,
          adminSecret: partner.adminSecrets[0]!,
          expiresAt: now + (mintOptions?.expiry ?? 86400),
          type: mintOptions?.type ?? 2,
          userId: mintOptions?.userId ?? "",
          privileges: mintOptions?.privileges ?? ""
        })
      })

    const service: Service = {
      url,
      port,
      partnerId: defaultPartner.id,
      adminSecret: defaultPartner.adminSecrets[0]!,
      widgetId: `_${defaultPartner.id}`,
      seedPartner,
      seedAppToken,
      getAppToken: (id) => Effect.map(Ref.get(state), (current) => Option.fromNullable(current.appTokens.get(id))),
      appTokens: Effect.map(Ref.get(state), (current) => Array.from(current.appTokens.values())),
      updateAppToken: (id, patch) => modifyToken(id, (token, now) => ({ ...token, ...patch, updatedAt: now })),
      disableAppToken: (id) => modifyToken(id, (token, now) => ({ ...token, status: 1, updatedAt: now })),
      enableAppToken: (id) => modifyToken(id, (token, now) => ({ ...token, status: 2, updatedAt: now })),
      expireAppToken: (id) => modifyToken(id, (token, now) => ({ ...token, expiry: now - 1, updatedAt: now })),
      deleteAppToken,
      revokeKs: (ks) =>
        Ref.update(state, (current) => {
          const decoded = Ks.decode(ks, (pid) => current.partners.get(pid)?.adminSecrets)
          return Either.isRight(decoded) ? S.revokeKs(current, decoded.right.hash, decoded.right.validUntil) : current
        }),
      mintKs,
      decodeKs: (ks) =>
        Effect.map(
          Ref.get(state),
          (current) => Either.getRight(Ks.decode(ks, (pid) => current.partners.get(pid)?.adminSecrets))
        ),
      injectFault: (action, fault, faultOptions) =>
        Ref.update(faults, (pending) => [...pending, {
          action: normaliseAction(action),
          fault,
          remaining: Math.max(1, faultOptions?.times ?? 1)
        }]),
      pendingFaults: Ref.get(faults),
      clearFaults: Ref.set(faults, []),
      outage,
      restore,
      isUp: Ref.get(up),
      setClockOffset: (millis) => Ref.set(offset, millis),
      clockOffset: Ref.get(offset),
      now: nowSeconds,
      requests: Ref.get(log),
      clearRequests: Ref.set(log, []),
      callCount: (action) => Effect.map(Ref.get(counters), (current) => current.get(normaliseAction(action)) ?? 0),
      callCounts: Effect.map(Ref.get(counters), (current) => Object.fromEntries(current))
    }
    return service
  })
