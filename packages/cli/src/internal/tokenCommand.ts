/**
 * `kaltura-apptoken token add|list|get|update|delete`: the commands and their options. The handlers, and the library
 * code they use, load only when one of them runs (`./token.js`).
 *
 * @internal
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { adminSecretFile, adminSecretSpec } from "./adminSecret.js"
import * as Cache from "./cache.js"
import { sessionOptions } from "./settings.js"

const loadToken = Effect.promise(() => import("./token.js"))

/** @internal the options of every `token` command: where and who, and how to print */
export const commonOptions = {
  serviceUrl: sessionOptions.serviceUrl,
  partnerId: sessionOptions.partnerId,
  adminSecretFile,
  json: Options.boolean("json").pipe(Options.withDescription("Print JSON instead of lines."))
}

/** @internal the parsed common options */
export interface CommonInput {
  readonly serviceUrl: Option.Option<string>
  readonly partnerId: Option.Option<string>
  readonly adminSecretFile: Option.Option<string>
  readonly json: boolean
}

const optionalText = (flag: string, pseudo: string, description: string) =>
  Options.text(flag).pipe(Options.withPseudoName(pseudo), Options.withDescription(description), Options.optional)

/** @internal the fields of a token that `add` and `update` set */
export const fieldOptions = {
  sessionType: optionalText(
    "session-type",
    "USER|ADMIN",
    "Fixes the type of every session of the token (0 or 2 also accepted). Default: the caller chooses."
  ),
  sessionUserId: optionalText(
    "session-user-id",
    "ID",
    "Fixes the user of every session of the token. Default: the caller chooses."
  ),
  sessionDuration: optionalText(
    "session-duration",
    "SECONDS",
    "The longest session the token gives, in seconds (positive). Default: the partner's maximum."
  ),
  expiry: optionalText(
    "expiry",
    "UNIX_SECONDS",
    "When the token stops working, as a unix time in seconds (in the future). Default: never."
  ),
  privileges: optionalText(
    "privileges",
    "STR",
    "Privileges every session of the token gets, e.g. setrole:123 or sview:*."
  ),
  description: optionalText("description", "STR", "A description, e.g. what the token is for.")
}

/** @internal the parsed field options */
export interface FieldInput {
  readonly sessionType: Option.Option<string>
  readonly sessionUserId: Option.Option<string>
  readonly sessionDuration: Option.Option<string>
  readonly expiry: Option.Option<string>
  readonly privileges: Option.Option<string>
  readonly description: Option.Option<string>
}

const id = Args.text({ name: "ID" }).pipe(Args.withDescription("The App Token's id, e.g. 0_ab12cd34."))

const showSecret = Options.boolean("show-secret").pipe(
  Options.withDescription("Also print each token's secret `token` value (hidden by default).")
)

/** @internal `token add` */
export const add = Command.make(
  "add",
  {
    ...commonOptions,
    ...fieldOptions,
    hashType: optionalText(
      "hash-type",
      "MD5|SHA1|SHA256|SHA512",
      "The token's hash type. Default SHA256 (always sent: the server's own default is SHA1)."
    )
  },
  (input) => Effect.flatMap(loadToken, (Token) => Token.add(input))
).pipe(
  Command.withDescription(
    "Create an App Token and print its id and secret token once (store it now: list and get hide it). " +
      "Prints one `name: value` line per field, id first and token second; --json one object."
  )
)

/** @internal `token list` */
export const list = Command.make(
  "list",
  { ...commonOptions, showSecret },
  (input) => Effect.flatMap(loadToken, (Token) => Token.list(input))
).pipe(
  Command.withDescription("List the partner's App Tokens (not deleted) as a table; --json an array.")
)

/** @internal `token get ID` */
export const get = Command.make(
  "get",
  { ...commonOptions, showSecret, id },
  (input) => Effect.flatMap(loadToken, (Token) => Token.get(input))
).pipe(
  Command.withDescription("Print one App Token, one `name: value` line per field; --json one object.")
)

/** @internal `token update ID` */
export const update = Command.make(
  "update",
  { ...commonOptions, ...fieldOptions, id },
  (input) => Effect.flatMap(loadToken, (Token) => Token.update(input))
).pipe(
  Command.withDescription(
    "Change fields of an App Token (all but its hash type, fixed at creation) and print it as get does."
  )
)

/** @internal `token delete ID --yes` */
export const del = Command.make(
  "delete",
  {
    ...commonOptions,
    ...Cache.cacheOptions,
    id,
    yes: Options.boolean("yes").pipe(
      Options.withDescription("Confirm: every session the token gave stops working at once.")
    )
  },
  (input) => Effect.flatMap(loadToken, (Token) => Token.del(input))
).pipe(
  Command.withDescription(
    "Delete an App Token (needs --yes): every session it gave stops working at once (INVALID_KS LOGOUT). Its " +
      "sessions are removed from the session cache (--cache-dir / KALTURA_CACHE_DIR, or --redis / KALTURA_REDIS_URL)."
  )
)

/** @internal `token`, with its subcommands */
export const token = Command.make("token").pipe(
  Command.withDescription(
    "Manage the partner's App Tokens on an ADMIN session (session.start with the admin secret). The partner and " +
      `service URL come from --partner-id/KALTURA_PARTNER_ID and --service-url/KALTURA_SERVICE_URL, the admin ` +
      `secret from ${adminSecretSpec.env} or --${adminSecretSpec.flag} FILE.`
  ),
  Command.withSubcommands([add, list, get, update, del])
)
