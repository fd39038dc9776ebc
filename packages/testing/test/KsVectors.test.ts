import { assert, describe, it } from "@effect/vitest"
import { Either } from "effect"
import * as Ks from "../src/Ks.js"
import { assertDecodesAsPhp, isParsed, vectors } from "./vectors.js"

const orUndefined = <A>(value: A | null): A | undefined => value === null ? undefined : value
const randomOf = (hex: string | null) => hex === null ? undefined : Buffer.from(hex, "hex")

describe("Ks against Kaltura's own code (fixtures/ks-vectors.json)", () => {
  it("the vectors come from the script and cover every case", () => {
    assert.strictEqual(vectors.generatedBy.script, "packages/testing/scripts/ks-vectors.php")
    assert.match(vectors.generatedBy.php, /^8\./)
    assert.match(vectors.generatedBy.kalturaServerCommit, /^[0-9a-f]{40}$/)
    assert.isAtLeast(vectors.generate.length, 40)
    assert.isAtLeast(vectors.appTokenStartSession.length, 20)
    assert.isAtLeast(vectors.parse.length, 30)
  })

  describe("generateSession: byte for byte with the vector's random part", () => {
    for (const vector of vectors.generate) {
      it(vector.name, () => {
        const options = {
          version: vector.version,
          partnerId: vector.partnerId,
          adminSecret: vector.adminSecret,
          expiresAt: vector.expiresAt,
          type: vector.type,
          userId: orUndefined(vector.userId),
          privileges: vector.privileges,
          masterPartnerId: orUndefined(vector.masterPartnerId),
          additionalData: orUndefined(vector.additionalData),
          random: randomOf(vector.random),
          rand: orUndefined(vector.rand)
        }
        assert.strictEqual(Ks.encode(options), vector.ks)
        if (vector.privileges.includes("downloadasset")) {
          // the random part comes from the rounded expiry, whatever is passed
          assert.strictEqual(Ks.encode({ ...options, random: Buffer.alloc(16), rand: "1" }), vector.ks)
        }
      })
    }
  })

  describe("parseKS: the fields PHP reads", () => {
    const secretsOf = (pid: number) => pid === 12345 ? ["0123456789abcdef0123456789abcdef"] : undefined
    for (const vector of vectors.generate) {
      it(vector.name, () => assertDecodesAsPhp(vector.name, Ks.decode(vector.ks, secretsOf), vector.decoded))
    }
    for (const vector of vectors.parse) {
      it(vector.name, () => {
        const secrets = vector.adminSecrets ?? undefined
        assertDecodesAsPhp(vector.name, Ks.decode(vector.ks, () => secrets), vector.decoded)
      })
    }
  })

  it("PHP parses every ordinary KS, refuses the bracket names (TypeError) and whitespace other than space/tab/CR/LF", () => {
    const failed = vectors.generate.filter((vector) => !isParsed(vector.decoded)).map((vector) => vector.name)
    assert.deepStrictEqual(failed, [
      "brackets in a name: parse_str makes an array",
      "empty brackets in a name"
    ])
    const byName = new Map(vectors.parse.map((vector) => [vector.name, vector.decoded]))
    for (
      const name of [
        "v2 with a trailing LF",
        "v2 with a trailing CRLF",
        "v2 with a leading space",
        "v1 with a trailing LF"
      ]
    ) {
      assert.isTrue(isParsed(byName.get(name) ?? null), name)
    }
    for (
      const name of [
        "v2 with a trailing vertical tab",
        "v2 with a trailing form feed",
        "v2 with an extra padding character"
      ]
    ) {
      assert.isFalse(isParsed(byName.get(name) ?? null), name)
    }
  })

  describe("session.start: the KS and the secret it is encrypted with", () => {
    for (const vector of vectors.sessionStart) {
      it(vector.name, () => {
        // ks::toSecureString: an ADMIN session uses the secret it was started with, any other the first admin secret
        const adminSecret = vector.type === 2 ? vector.secret : vector.adminSecrets[0]!
        assert.strictEqual(adminSecret, vector.encryptedWith)
        const ks = Ks.encode({
          partnerId: vector.partnerId,
          adminSecret,
          expiresAt: vector.now + vector.expiry,
          type: vector.type,
          userId: vector.userId,
          privileges: vector.privileges,
          random: randomOf(vector.random)
        })
        assert.strictEqual(ks, vector.ks)
        assertDecodesAsPhp(vector.name, Ks.decode(ks, () => vector.adminSecrets), vector.decoded)
      })
    }
  })

  describe("appToken.startSession: privileges, KS and fields", () => {
    for (const vector of vectors.appTokenStartSession) {
      it(vector.name, () => {
        const privileges = Ks.appTokenSessionPrivileges({
          tokenId: vector.token.id,
          tokenPrivileges: vector.token.sessionPrivileges,
          requestPrivileges: vector.request.sessionPrivileges
        })
        assert.strictEqual(privileges, vector.response.privileges)
        const ks = Ks.encode({
          partnerId: vector.partnerId,
          adminSecret: vector.adminSecret,
          expiresAt: vector.response.expiry,
          type: vector.response.sessionType,
          userId: vector.response.userId,
          privileges,
          random: randomOf(vector.random)
        })
        assert.strictEqual(ks, vector.response.ks)
        assertDecodesAsPhp(vector.name, Ks.decode(ks, () => [vector.adminSecret]), vector.decoded)
      })
    }
  })

  it("app-token hashes cover the KS exactly as sent, whitespace included", () => {
    for (const vector of vectors.appTokenHash) {
      assert.strictEqual(Ks.appTokenHash(vector.hashType, vector.ks, vector.token), vector.hash, vector.ks)
    }
  })

  it("two spellings of one KS decode to the same hash, which revocation goes by", () => {
    const vector = vectors.generate[0]!
    const secretsOf = () => [vector.adminSecret]
    const plain = Either.getOrThrow(Ks.decode(vector.ks, secretsOf))
    const spelled = Either.getOrThrow(Ks.decode(` ${vector.ks.replace(/-/g, "+").replace(/_/g, "/")}\r\n`, secretsOf))
    assert.strictEqual(spelled.hash, plain.hash)
  })
})
