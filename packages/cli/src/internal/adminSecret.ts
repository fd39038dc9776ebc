/**
 * The partner's admin secret, for `token` and `doctor`: like the App Token it has no flag (a flag would land in shell
 * history and `ps`); it is read from `KALTURA_ADMIN_SECRET` or from the file named by `--admin-secret-file`.
 *
 * @internal
 */
import * as Options from "@effect/cli/Options"
import type * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Redacted from "effect/Redacted"
import { CliInputError, readSecret } from "./settings.js"

/** @internal the admin secret's sources (`AppTokenAdmin.adminSecretEnv`, repeated so that core loads only when used) */
export const adminSecretSpec = {
  flag: "admin-secret-file",
  env: "KALTURA_ADMIN_SECRET",
  expected: "the partner's admin secret (KMC > Settings > Integration Settings)"
} as const

/** @internal `--admin-secret-file FILE` */
export const adminSecretFile = Options.text(adminSecretSpec.flag).pipe(
  Options.withPseudoName("FILE"),
  Options.withDescription(
    `File holding the partner's admin secret (trimmed); wins over ${adminSecretSpec.env}. The admin secret has no ` +
      "flag of its own, as it is a secret."
  ),
  Options.optional
)

/** @internal how to give the admin secret, for messages */
export const adminSecretSources = `set ${adminSecretSpec.env} or pass --${adminSecretSpec.flag} FILE`

/**
 * The refusal of a secret passed as a flag value (`--admin-secret`, `--admin-secret=...`), before anything is parsed,
 * so that no message can echo it.
 *
 * @internal
 */
export const refuseAdminSecretFlag = (args: ReadonlyArray<string>): CliInputError | undefined =>
  args.some((arg) => arg === "--admin-secret" || arg.startsWith("--admin-secret="))
    ? new CliInputError({
      message: `there is no --admin-secret flag, as the admin secret is a secret: ${adminSecretSources}`
    })
    : undefined

/**
 * Reads the admin secret if one is given: `--admin-secret-file FILE` (trimmed) if given, else `KALTURA_ADMIN_SECRET`
 * (trimmed), else `undefined`.
 *
 * @internal
 */
export const readAdminSecret = (
  file: Option.Option<string>
): Effect.Effect<Redacted.Redacted<string> | undefined, CliInputError, FileSystem.FileSystem> =>
  readSecret(adminSecretSpec, file)

/**
 * {@link readAdminSecret}, failing when neither source is set.
 *
 * @internal
 */
export const requireAdminSecret = (
  file: Option.Option<string>
): Effect.Effect<Redacted.Redacted<string>, CliInputError, FileSystem.FileSystem> =>
  Effect.flatMap(readAdminSecret(file), (secret) =>
    secret === undefined
      ? Effect.fail(
        new CliInputError({
          message: `missing admin secret: ${adminSecretSources} (it has no flag of its own, it is a secret): ` +
            `expected ${adminSecretSpec.expected}`
        })
      )
      : Effect.succeed(secret))
