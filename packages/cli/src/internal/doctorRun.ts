/**
 * The handler of `kaltura-apptoken doctor`: the settings check, then the checks of `./doctor.js` on the library's
 * services built here (the transport, the hasher, the widget session and, with an admin secret, `AppTokenAdmin`):
 * never a session, nor a session store, so that every check talks to Kaltura.
 *
 * @internal
 */
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as AppTokenAdmin from "@kaltura-effect/core/AppTokenAdmin"
import * as KalturaApi from "@kaltura-effect/core/KalturaApi"
import * as KalturaConfig from "@kaltura-effect/core/KalturaConfig"
import * as WidgetSession from "@kaltura-effect/core/WidgetSession"
import * as NodeTokenHasher from "@kaltura-effect/node/NodeTokenHasher"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import { adminSecretSources, adminSecretSpec, readAdminSecret } from "./adminSecret.js"
import * as Doctor from "./doctor.js"
import { classify, CliFailure, ExitCode, withFlags } from "./errors.js"
import * as Http from "./nodeHttp.js"
import { colorsEnabled, makeStyles, stdout } from "./output.js"
import { resolveSession, type SessionFlags } from "./settings.js"

/** @internal the parsed options of `doctor` */
export interface Input extends SessionFlags {
  readonly adminSecretFile: Option.Option<string>
  readonly json: boolean
}

/** The settings, validated as the library does it, and the admin service when an admin secret is given. */
const prepare = (input: Input) =>
  Effect.gen(function*() {
    const settings = yield* Effect.flatMap(resolveSession(input), KalturaConfig.make)
    const adminSecret = yield* readAdminSecret(input.adminSecretFile)
    const admin = adminSecret === undefined ? undefined : yield* AppTokenAdmin.make({
      serviceUrl: settings.serviceUrl,
      partnerId: settings.partnerId,
      adminSecret,
      clientTag: settings.clientTag
    })
    const source = adminSecret === undefined
      ? undefined
      : input.adminSecretFile._tag === "Some"
      ? `--${adminSecretSpec.flag}`
      : adminSecretSpec.env
    return { settings, admin, source }
  })

const settingsCheck = (
  settings: KalturaConfig.KalturaSettings,
  adminSource: string | undefined
): Doctor.Check => ({
  name: "settings",
  result: "ok",
  detail: `partner ${settings.partnerId}, app token ${settings.appTokenId}, hash type ${settings.hashType}, ` +
    `service ${settings.serviceUrl}; ` +
    (adminSource === undefined
      ? `no admin secret (${adminSecretSources} to check the token's status and expiry too)`
      : `admin secret from ${adminSource}`),
  data: {
    serviceUrl: settings.serviceUrl,
    partnerId: settings.partnerId,
    widgetId: settings.widgetId,
    appTokenId: settings.appTokenId,
    hashType: settings.hashType,
    adminSecret: adminSource ?? null
  }
})

/** The checks, from the settings on. */
const report = (input: Input): Effect.Effect<Doctor.Report, never, FileSystem.FileSystem> =>
  Effect.gen(function*(): Effect.fn.Return<Doctor.Report, never, FileSystem.FileSystem | HttpClient.HttpClient> {
    const prepared = yield* Effect.either(prepare(input))
    if (Either.isLeft(prepared)) {
      const outcome = classify(prepared.left)
      return {
        checks: [{
          name: "settings",
          result: "failed",
          detail: outcome.line ?? "invalid settings",
          hint: "see kaltura-apptoken doctor --help for the flags and their environment variables"
        }],
        exitCode: outcome.code
      }
    }
    const { admin, settings, source } = prepared.right
    const api = yield* KalturaApi.make({ serviceUrl: settings.serviceUrl, clientTag: settings.clientTag })
    const widget = yield* WidgetSession.make.pipe(
      Effect.provideService(KalturaApi.KalturaApi, api),
      Effect.provideService(KalturaConfig.KalturaConfig, settings)
    )
    const result = yield* Doctor.run({
      settings,
      api,
      hasher: yield* NodeTokenHasher.make,
      startWidget: widget.start,
      admin
    })
    // the library's messages name the environment variables; the flags are named too
    const checks = result.checks.map((check) => ({
      ...check,
      detail: withFlags(check.detail),
      hint: check.hint === undefined ? undefined : withFlags(check.hint)
    }))
    return { checks: [settingsCheck(settings, source), ...checks], exitCode: result.exitCode }
  }).pipe(Effect.provide(Http.layer))

/**
 * Runs the checks and prints the report (stdout); fails with the first failure's exit code and one line naming it.
 *
 * @internal
 */
export const run = (input: Input): Effect.Effect<void, CliFailure, FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const result = yield* report(input)
    if (input.json) {
      yield* stdout(JSON.stringify(Doctor.toJson(result), null, 2))
    } else {
      const styles = makeStyles(colorsEnabled())
      const mark: Record<string, (text: string) => string> = { "✓": styles.green, "!": styles.yellow, "✗": styles.red }
      yield* stdout(
        Doctor.render(result).map((line) => (mark[line[0]!] ?? String)(line[0]!) + line.slice(1)).join("\n")
      )
    }
    if (result.exitCode !== ExitCode.Ok) {
      const failed = result.checks.find((check) => check.result === "failed")
      return yield* new CliFailure({
        code: result.exitCode,
        message: `doctor: the ${failed?.name ?? "last"} check failed (see the report above)`
      })
    }
  })
