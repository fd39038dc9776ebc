import { assert, describe, it } from "@effect/vitest"
import { Either, Option } from "effect"
import * as Ks from "../src/Ks.js"

const secret = "0123456789abcdef0123456789abcdef"
const random = Uint8Array.from({ length: 16 }, (_, i) => i)
const secretsOf = (pid: number) => pid === 12345 ? [secret] : undefined

const widgetVector =
  "djJ8MTIzNDV88V5OEYp4B7TZ2fhpMd_hJLhw_7-7BnloFOqIjtl3XGhyg-FiZfSudiQlBrcEhJvqWXZHLy9ZPJ5oyFEI8JUtEwqSz40V5t97E214Zkck1O4="
const adminVector =
  "djJ8MTIzNDV8a2E0WTCRElCNcCUIb-lETjouQNTUk6ikrRLcsvN39fmWPpO06AXLKM38FTmCMwHrI3UmTECmgpZoX6ZIXDyzDKTPEHU1Hw-iey01iHpgx7IMxnTqlIAnHhdgAYsi4PdeILTv01H2frrWx8aIbFzL7g=="
const v1Vector =
  "MGEyYjY5MGQ2NTA2Y2Q0YTc4ZmM3M2EyM2E3OTFiYTA0ZjM5NjI4NXwxMjM0NTsxMjM0NTsxNzAwMDg2NDAwOzA7MTcwMDAwMDAwMC4xMjM0OzA7dmlldzoqLHdpZGdldDoxOzs="

describe("Ks (spec §3)", () => {
  it("v2 reproduces the widget test vector of §3.3", () => {
    const ks = Ks.encodeV2({
      partnerId: 12345,
      adminSecret: secret,
      expiresAt: 1700086400,
      type: 0,
      userId: "0",
      privileges: "view:*,widget:1",
      random
    })
    assert.strictEqual(ks, widgetVector)
  })

  it("v2 reproduces the admin test vector of §3.3", () => {
    const ks = Ks.encodeV2({
      partnerId: 12345,
      adminSecret: secret,
      expiresAt: 1700003600,
      type: 2,
      userId: "",
      privileges: "sessionid:0_abcd1234,apptoken:0_abcd1234,setrole:123",
      random
    })
    assert.strictEqual(ks, adminVector)
  })

  it("v2 decodes the vectors back", () => {
    const widget = Either.getOrThrow(Ks.decode(widgetVector, secretsOf))
    assert.deepStrictEqual(widget, {
      version: 2,
      partnerId: 12345,
      validUntil: 1700086400,
      type: 0,
      userId: "0",
      privileges: "view:*,widget:1",
      masterPartnerId: undefined,
      additionalData: undefined,
      // sha1(random16 + "view=%2A&widget=1&_e=1700086400&_t=0&_u=0")
      hash: "a6a26d5366069a0ee6bb1ac3278e1a8ec2f8be2d"
    })
    assert.isTrue(Ks.isWidgetSession(widget))
    const admin = Either.getOrThrow(Ks.decode(adminVector, secretsOf))
    assert.strictEqual(admin.type, 2)
    assert.strictEqual(admin.userId, "")
    assert.strictEqual(admin.privileges, "sessionid:0_abcd1234,apptoken:0_abcd1234,setrole:123")
    assert.isFalse(Ks.isWidgetSession(admin))
  })

  it("v2 rejects a wrong secret, an unknown partner, bad base64 and a tampered KS", () => {
    assert.isTrue(Either.isLeft(Ks.decode(widgetVector, () => ["another-secret"])))
    assert.isTrue(Either.isLeft(Ks.decode(widgetVector, () => undefined)))
    assert.isTrue(Either.isLeft(Ks.decode("not base64!", secretsOf)))
    assert.isTrue(Either.isLeft(Ks.decode("", secretsOf)))
    const tampered = widgetVector.slice(0, 20) + (widgetVector[20] === "A" ? "B" : "A") + widgetVector.slice(21)
    assert.isTrue(Either.isLeft(Ks.decode(tampered, secretsOf)))
  })

  it("v2 tries every admin secret in turn", () => {
    assert.strictEqual(Either.getOrThrow(Ks.decode(widgetVector, () => ["old", secret])).partnerId, 12345)
  })

  it("v1 reproduces the §3.2 vector and reads it back", () => {
    const ks = Ks.encodeV1({
      partnerId: 12345,
      adminSecret: secret,
      expiresAt: 1700086400,
      type: 0,
      userId: "0",
      privileges: "view:*,widget:1",
      rand: "1700000000.1234"
    })
    assert.strictEqual(ks, v1Vector)
    const data = Either.getOrThrow(Ks.decode(v1Vector, secretsOf))
    assert.strictEqual(data.version, 1)
    assert.strictEqual(data.validUntil, 1700086400)
    assert.strictEqual(data.privileges, "view:*,widget:1")
    assert.isTrue(Either.isLeft(Ks.decode(v1Vector, () => ["wrong"])))
    assert.isTrue(Either.isLeft(Ks.decode(Buffer.from("abc|1;2").toString("base64"), secretsOf)))
  })

  it("reads the partner id without a secret", () => {
    assert.deepStrictEqual(Ks.partnerIdOf(widgetVector), Option.some(12345))
    assert.deepStrictEqual(Ks.partnerIdOf(v1Vector), Option.some(12345))
    assert.deepStrictEqual(Ks.partnerIdOf("@@@"), Option.none())
  })

  it("expiry is valid_until <= now", () => {
    const data = Either.getOrThrow(Ks.decode(widgetVector, secretsOf))
    assert.isFalse(Ks.isExpired(data, 1700086399))
    assert.isTrue(Ks.isExpired(data, 1700086400))
  })

  it("app token hash reproduces the §1.3 vectors", () => {
    const token = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    assert.strictEqual(Ks.appTokenHash("MD5", widgetVector, token), "b62ab44babc1d2d373c2a5a158d52da9")
    assert.strictEqual(Ks.appTokenHash("SHA1", widgetVector, token), "d1c7c2eaf56430741fdd6fa424601d370d14b1db")
    assert.strictEqual(
      Ks.appTokenHash("SHA256", widgetVector, token),
      "ae8e79c6a26c38d58bc6ca36da420e60ff1e4de1769f281e1c731d5cc85a6511"
    )
    assert.strictEqual(
      Ks.appTokenHash("SHA512", widgetVector, token),
      "dc6fec9a2fd74a331b4793e96766a207b5eaa875df60ba8075739680083116b60d86cd998542713662199e97a6e4f7151819f32cf4aed33d37c9c313ae942433"
    )
  })

  it("privileges parse, normalise and merge as in §1.5", () => {
    assert.strictEqual(Ks.buildPrivileges(Ks.parsePrivileges("edit:1_a,edit:1_b")), "edit:1_a/1_b")
    assert.strictEqual(Ks.appTokenSessionPrivileges({ tokenId: "0_x" }), "sessionid:0_x,apptoken:0_x")
    assert.strictEqual(
      Ks.appTokenSessionPrivileges({
        tokenId: "0_x",
        tokenPrivileges: "edit:1_a,edit:1_b,list:*",
        requestPrivileges: "view:*,edit:2_c,list:1_z,sessionid:evil,setrole:9,privacycontext:x,custom"
      }),
      "sessionid:0_x,apptoken:0_x,edit:1_a/1_b,list:1_z,view:*,custom"
    )
  })
})
