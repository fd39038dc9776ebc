import { assert, describe, it } from "@effect/vitest"
import { Config, ConfigProvider, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as KalturaConfig from "../src/KalturaConfig.js"
import { appTokenId, baseOptions, partnerId, tokenValue } from "./utils/fixtures.js"

const env = (entries: Readonly<Record<string, string>>) =>
  ConfigProvider.fromMap(new Map(Object.entries(entries)), { pathDelim: "_" })

const requiredEnv = {
  KALTURA_PARTNER_ID: String(partnerId),
  KALTURA_APP_TOKEN_ID: appTokenId,
  KALTURA_APP_TOKEN: tokenValue
}

const fromEnv = (entries: Readonly<Record<string, string>>) =>
  KalturaConfig.fromConfig().pipe(Effect.withConfigProvider(env(entries)))

/** Fails the test unless `effect` fails with a KalturaConfigError for `field`; returns the error. */
const expectConfigError = <A>(
  effect: Effect.Effect<A, KalturaConfig.KalturaConfigError>,
  field: keyof KalturaConfig.Options
) =>
  Effect.gen(function*() {
    const error = yield* Effect.flip(effect)
    assert.strictEqual(error._tag, "KalturaConfigError")
    assert.instanceOf(error, KalturaConfig.KalturaConfigError)
    assert.strictEqual(error.field, field)
    assert.strictEqual(error.env, KalturaConfig.envNames[field])
    // an option passed in code is named as such; a variable by its name
    assert.include(error.message, field)
    if (error.source === "environment") assert.include(error.message, KalturaConfig.envNames[field])
    else assert.notInclude(error.message, KalturaConfig.envNames[field])
    // the rejected token value is never echoed
    for (const text of [error.message, String(error), JSON.stringify(error), error.expected]) {
      assert.notInclude(text, tokenValue)
    }
    return error
  })

describe("where a bad setting came from", () => {
  it.effect("an option passed in code is named by its option, a variable by its name, a Config value by its path", () =>
    Effect.gen(function*() {
      const fromCode = yield* Effect.flip(KalturaConfig.make({ ...baseOptions, partnerId: -1 }))
      assert.strictEqual(fromCode.source, "options")
      assert.strictEqual(fromCode.message, "Invalid Kaltura option \"partnerId\": expected a positive integer")
      const fromVariables = yield* Effect.flip(fromEnv({ ...requiredEnv, KALTURA_PARTNER_ID: "-1" }))
      assert.strictEqual(fromVariables.source, "environment")
      assert.strictEqual(
        fromVariables.message,
        "Invalid Kaltura setting KALTURA_PARTNER_ID (\"partnerId\"): expected a positive integer"
      )
      const own = Config.all({
        partnerId: Config.integer("PARTNER"),
        appTokenId: Config.string("TOKEN_ID"),
        token: Config.redacted("TOKEN")
      }).pipe(Config.nested("MYAPP"))
      const missing = yield* Effect.flip(
        KalturaConfig.fromConfig(own).pipe(Effect.withConfigProvider(env({ MYAPP_TOKEN_ID: appTokenId })))
      )
      assert.strictEqual(missing.source, "config")
      assert.strictEqual(missing.env, "MYAPP.PARTNER")
      const settings = yield* KalturaConfig.fromConfig(own).pipe(
        Effect.withConfigProvider(env({ MYAPP_PARTNER: "777", MYAPP_TOKEN_ID: appTokenId, MYAPP_TOKEN: tokenValue }))
      )
      assert.strictEqual(settings.partnerId, 777)
      assert.strictEqual(Redacted.value(settings.token), tokenValue)
      const invalid = yield* Effect.flip(
        KalturaConfig.fromConfig(own).pipe(
          Effect.withConfigProvider(env({ MYAPP_PARTNER: "-3", MYAPP_TOKEN_ID: appTokenId, MYAPP_TOKEN: tokenValue }))
        )
      )
      assert.strictEqual(invalid.source, "config")
      assert.strictEqual(invalid.field, "partnerId")
    }))
})

describe("KalturaConfig.make", () => {
  it.effect("accepts the minimal options and fills the defaults", () =>
    Effect.gen(function*() {
      const settings = yield* KalturaConfig.make({ ...baseOptions, serviceUrl: undefined })
      assert.strictEqual(settings.serviceUrl, "https://www.kaltura.com")
      assert.strictEqual(settings.partnerId, partnerId)
      assert.strictEqual(settings.widgetId, "_12345")
      assert.strictEqual(settings.appTokenId, appTokenId)
      assert.strictEqual(Redacted.value(settings.token), tokenValue)
      assert.strictEqual(settings.hashType, "SHA256")
      assert.strictEqual(settings.clientTag, "kaltura-effect")
      assert.isTrue(Option.isNone(settings.userId))
      assert.isTrue(Option.isNone(settings.sessionType))
      assert.isTrue(Option.isNone(settings.expiry))
      assert.isTrue(Option.isNone(settings.sessionPrivileges))
    }))

  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    it.effect(`refuses partnerId ${bad}`, () =>
      expectConfigError(KalturaConfig.make({ ...baseOptions, partnerId: bad }), "partnerId"))
  }

  for (const bad of ["", "   "]) {
    it.effect(`refuses the token ${JSON.stringify(bad)}`, () =>
      expectConfigError(KalturaConfig.make({ ...baseOptions, token: Redacted.make(bad) }), "token"))
    it.effect(`refuses the app token id ${JSON.stringify(bad)}`, () =>
      expectConfigError(KalturaConfig.make({ ...baseOptions, appTokenId: bad }), "appTokenId"))
  }

  it.effect("refuses a token that is not Redacted (plain JS callers)", () =>
    expectConfigError(KalturaConfig.make({ ...baseOptions, token: tokenValue as any }), "token"))

  it.effect("refuses an unknown hash type", () =>
    expectConfigError(KalturaConfig.make({ ...baseOptions, hashType: "SHA3" as any }), "hashType"))

  for (const hashType of ["MD5", "SHA1", "SHA256", "SHA512"] as const) {
    it.effect(`accepts hash type ${hashType}`, () =>
      Effect.map(KalturaConfig.make({ ...baseOptions, hashType }), (s) => assert.strictEqual(s.hashType, hashType)))
  }

  for (const bad of [0, -1, 1.5, Number.NaN]) {
    it.effect(`refuses expiry ${bad}`, () =>
      expectConfigError(KalturaConfig.make({ ...baseOptions, expiry: bad }), "expiry"))
  }

  for (const bad of [1, 3, -1, "ROOT", "1", ""] as const) {
    it.effect(`refuses session type ${JSON.stringify(bad)}`, () =>
      expectConfigError(KalturaConfig.make({ ...baseOptions, sessionType: bad as any }), "sessionType"))
  }

  for (
    const [input, expected] of [[0, 0], [2, 2], ["USER", 0], ["ADMIN", 2], ["admin", 2], ["0", 0], ["2", 2]] as const
  ) {
    it.effect(`accepts session type ${JSON.stringify(input)} as ${expected}`, () =>
      Effect.map(
        KalturaConfig.make({ ...baseOptions, sessionType: input as any }),
        (s) => assert.deepStrictEqual(s.sessionType, Option.some(expected))
      ))
  }

  for (
    const bad of [
      "not a url",
      "www.kaltura.com",
      "ftp://www.kaltura.com",
      "http://www.kaltura.com",
      "http://10.0.0.1",
      "https://user:pass@www.kaltura.com",
      "https://www.kaltura.com/?ks=x"
    ]
  ) {
    it.effect(`refuses the service URL ${bad}`, () =>
      expectConfigError(KalturaConfig.make({ ...baseOptions, serviceUrl: bad }), "serviceUrl"))
  }

  for (
    const [input, expected] of [
      ["http://127.0.0.1:1234", "http://127.0.0.1:1234"],
      ["http://localhost", "http://localhost"],
      ["http://localhost:8080/", "http://localhost:8080"],
      ["http://[::1]", "http://[::1]"],
      ["http://[::1]:9000", "http://[::1]:9000"],
      ["https://www.kaltura.com/", "https://www.kaltura.com"],
      ["https://kaltura.example/proxy/", "https://kaltura.example/proxy"]
    ] as const
  ) {
    it.effect(`accepts the service URL ${input}`, () =>
      Effect.map(
        KalturaConfig.make({ ...baseOptions, serviceUrl: input }),
        (s) => assert.strictEqual(s.serviceUrl, expected)
      ))
  }

  it.effect("refuses an empty widget id, user id, privileges and client tag", () =>
    Effect.gen(function*() {
      yield* expectConfigError(KalturaConfig.make({ ...baseOptions, widgetId: " " }), "widgetId")
      yield* expectConfigError(KalturaConfig.make({ ...baseOptions, userId: "" }), "userId")
      yield* expectConfigError(KalturaConfig.make({ ...baseOptions, sessionPrivileges: "" }), "sessionPrivileges")
      yield* expectConfigError(KalturaConfig.make({ ...baseOptions, clientTag: "" }), "clientTag")
    }))

  it.effect("layer fails with the KalturaConfigError when the layer is built", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        Layer.build(KalturaConfig.layer({ ...baseOptions, partnerId: 0 })).pipe(Effect.scoped)
      )
      assert.isTrue(Exit.isFailure(exit))
      yield* expectConfigError(
        Layer.build(KalturaConfig.layer({ ...baseOptions, partnerId: 0 })).pipe(Effect.scoped),
        "partnerId"
      )
    }))
})

describe("KalturaConfig.fromConfig (KALTURA_* through a ConfigProvider)", () => {
  it.effect("reads every variable, with fromMap and pathDelim \"_\"", () =>
    Effect.gen(function*() {
      const settings = yield* fromEnv({
        ...requiredEnv,
        KALTURA_SERVICE_URL: "http://127.0.0.1:8080/",
        KALTURA_WIDGET_ID: "_999",
        KALTURA_APP_TOKEN_HASH_TYPE: "sha256",
        KALTURA_USER_ID: "alice@example.com",
        KALTURA_SESSION_TYPE: "admin",
        KALTURA_SESSION_EXPIRY: "3600",
        KALTURA_SESSION_PRIVILEGES: "urirestrict:*",
        KALTURA_CLIENT_TAG: "my-app"
      })
      assert.strictEqual(settings.serviceUrl, "http://127.0.0.1:8080")
      assert.strictEqual(settings.partnerId, 12345)
      assert.strictEqual(settings.widgetId, "_999")
      assert.strictEqual(settings.appTokenId, appTokenId)
      assert.isTrue(Redacted.isRedacted(settings.token))
      assert.strictEqual(Redacted.value(settings.token), tokenValue)
      assert.strictEqual(settings.hashType, "SHA256")
      assert.deepStrictEqual(settings.userId, Option.some("alice@example.com"))
      assert.deepStrictEqual(settings.sessionType, Option.some(2))
      assert.deepStrictEqual(settings.expiry, Option.some(3600))
      assert.deepStrictEqual(settings.sessionPrivileges, Option.some("urirestrict:*"))
      assert.strictEqual(settings.clientTag, "my-app")
    }))

  it.effect("reads the three required variables alone, with the defaults for the rest", () =>
    Effect.gen(function*() {
      const settings = yield* fromEnv(requiredEnv)
      assert.strictEqual(settings.serviceUrl, "https://www.kaltura.com")
      assert.strictEqual(settings.partnerId, 12345)
      assert.strictEqual(settings.widgetId, "_12345")
      assert.strictEqual(settings.hashType, "SHA256")
      assert.isTrue(Option.isNone(settings.sessionType))
      assert.isTrue(Option.isNone(settings.expiry))
    }))

  it.effect("layerConfig provides the settings", () =>
    Effect.gen(function*() {
      const settings = yield* KalturaConfig.KalturaConfig
      assert.strictEqual(settings.partnerId, 12345)
    }).pipe(Effect.provide(KalturaConfig.layerConfig()), Effect.withConfigProvider(env(requiredEnv))))

  for (
    const [name, field] of [
      ["KALTURA_PARTNER_ID", "partnerId"],
      ["KALTURA_APP_TOKEN_ID", "appTokenId"],
      ["KALTURA_APP_TOKEN", "token"]
    ] as const
  ) {
    it.effect(`a missing ${name} is a KalturaConfigError naming it`, () =>
      Effect.gen(function*() {
        const { [name]: _, ...rest } = requiredEnv
        const error = yield* expectConfigError(fromEnv(rest), field)
        assert.include(error.expected, "not set")
      }))
  }

  it.effect("a missing variable fails layerConfig with a KalturaConfigError", () =>
    expectConfigError(
      Effect.provide(KalturaConfig.KalturaConfig, KalturaConfig.layerConfig()).pipe(
        Effect.withConfigProvider(env({ KALTURA_PARTNER_ID: "12345", KALTURA_APP_TOKEN: tokenValue }))
      ),
      "appTokenId"
    ))

  for (const bad of ["0", "-1", "1.5", "abc", "", "12345abc", "0x10"]) {
    it.effect(`refuses KALTURA_PARTNER_ID=${JSON.stringify(bad)}`, () =>
      expectConfigError(fromEnv({ ...requiredEnv, KALTURA_PARTNER_ID: bad }), "partnerId"))
  }

  it.effect("accepts KALTURA_PARTNER_ID with surrounding spaces", () =>
    Effect.map(
      fromEnv({ ...requiredEnv, KALTURA_PARTNER_ID: " 12345 " }),
      (s) => assert.strictEqual(s.partnerId, 12345)
    ))

  for (const bad of ["", "   "]) {
    it.effect(`refuses KALTURA_APP_TOKEN=${JSON.stringify(bad)}`, () =>
      expectConfigError(fromEnv({ ...requiredEnv, KALTURA_APP_TOKEN: bad }), "token"))
    it.effect(`refuses KALTURA_APP_TOKEN_ID=${JSON.stringify(bad)}`, () =>
      expectConfigError(fromEnv({ ...requiredEnv, KALTURA_APP_TOKEN_ID: bad }), "appTokenId"))
  }

  for (const bad of ["sha3", "SHA-256", "", "sha384"]) {
    it.effect(`refuses KALTURA_APP_TOKEN_HASH_TYPE=${JSON.stringify(bad)}`, () =>
      expectConfigError(fromEnv({ ...requiredEnv, KALTURA_APP_TOKEN_HASH_TYPE: bad }), "hashType"))
  }

  for (
    const [input, expected] of [["sha256", "SHA256"], ["md5", "MD5"], [" Sha1 ", "SHA1"], ["SHA512", "SHA512"]] as const
  ) {
    it.effect(`accepts KALTURA_APP_TOKEN_HASH_TYPE=${JSON.stringify(input)} as ${expected}`, () =>
      Effect.map(
        fromEnv({ ...requiredEnv, KALTURA_APP_TOKEN_HASH_TYPE: input }),
        (s) => assert.strictEqual(s.hashType, expected)
      ))
  }

  for (const bad of ["0", "-5", "1.5", "abc", "1e3"]) {
    it.effect(`refuses KALTURA_SESSION_EXPIRY=${JSON.stringify(bad)}`, () =>
      expectConfigError(fromEnv({ ...requiredEnv, KALTURA_SESSION_EXPIRY: bad }), "expiry"))
  }

  for (const bad of ["1", "ROOT", "3", ""]) {
    it.effect(`refuses KALTURA_SESSION_TYPE=${JSON.stringify(bad)}`, () =>
      expectConfigError(fromEnv({ ...requiredEnv, KALTURA_SESSION_TYPE: bad }), "sessionType"))
  }

  for (const [input, expected] of [["USER", 0], ["user", 0], ["0", 0], ["ADMIN", 2], ["2", 2]] as const) {
    it.effect(`accepts KALTURA_SESSION_TYPE=${input} as ${expected}`, () =>
      Effect.map(
        fromEnv({ ...requiredEnv, KALTURA_SESSION_TYPE: input }),
        (s) => assert.deepStrictEqual(s.sessionType, Option.some(expected))
      ))
  }

  for (const bad of ["not a url", "http://www.kaltura.com", "http://192.168.1.10:8080"]) {
    it.effect(`refuses KALTURA_SERVICE_URL=${bad}`, () =>
      expectConfigError(fromEnv({ ...requiredEnv, KALTURA_SERVICE_URL: bad }), "serviceUrl"))
  }

  it.effect("never echoes the token, whatever else is wrong", () =>
    Effect.gen(function*() {
      const error = yield* expectConfigError(
        fromEnv({ ...requiredEnv, KALTURA_APP_TOKEN_HASH_TYPE: tokenValue }),
        "hashType"
      )
      assert.notInclude(error.message, tokenValue.toUpperCase())
      const misplaced = yield* expectConfigError(
        fromEnv({ ...requiredEnv, KALTURA_PARTNER_ID: tokenValue }),
        "partnerId"
      )
      assert.notInclude(misplaced.message, tokenValue)
    }))
})
