/**
 * `kaltura-apptoken doctor`: the command and its options. The checks, and the library code they use, load only when
 * it runs (`./doctorRun.js`).
 *
 * @internal
 */
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import { adminSecretFile, adminSecretSpec } from "./adminSecret.js"
import { sessionOptions } from "./settings.js"

/** @internal `doctor [session flags] [--admin-secret-file FILE] [--json]` */
export const doctor = Command.make(
  "doctor",
  {
    ...sessionOptions,
    adminSecretFile,
    json: Options.boolean("json").pipe(
      Options.withDescription("Print the report as one JSON object {ok, exitCode, checks: [{name, result, ...}]}.")
    )
  },
  (input) => Effect.flatMap(Effect.promise(() => import("./doctorRun.js")), (Doctor) => Doctor.run(input))
).pipe(
  Command.withDescription(
    "Check a configuration against Kaltura, one line per check (✓ ok, ! warning, ✗ failed, with what to do): " +
      "settings, service reachable, clock, widget session, the App Token (naming the right hash type on " +
      "INVALID_APP_TOKEN_HASH), the granted session and, with an admin secret (" + adminSecretSpec.env +
      " or --" + adminSecretSpec.flag + "), the token's status and expiry. Exit 0 when every check passes " +
      "(warnings included), else the first failure's code."
  )
)
