/**
 * Ways to tamper with a stored record (the JSON envelope of an encrypted entry, as the file and Redis stores keep
 * it): each must make the entry a miss, and the next write must replace it.
 */

export const tamperings: ReadonlyArray<readonly [string, (record: string) => string]> = [
  ["a flipped ciphertext bit", (r) => {
    const o = JSON.parse(r)
    const data = Buffer.from(o.data, "base64")
    data[9]! ^= 0x04
    return JSON.stringify({ ...o, data: data.toString("base64") })
  }],
  ["a flipped GCM tag bit", (r) => {
    const o = JSON.parse(r)
    const data = Buffer.from(o.data, "base64")
    data[data.length - 2]! ^= 0x10
    return JSON.stringify({ ...o, data: data.toString("base64") })
  }],
  ["another IV", (r) => JSON.stringify({ ...JSON.parse(r), iv: Buffer.alloc(12, 1).toString("base64") })],
  ["a forged later expiry", (r) => JSON.stringify({ ...JSON.parse(r), expiry: JSON.parse(r).expiry + 86_400 })],
  ["a forged KS tag", (r) => JSON.stringify({ ...JSON.parse(r), tag: "f".repeat(64) })],
  [
    "the data of another entry",
    (r) => JSON.stringify({ ...JSON.parse(r), data: Buffer.alloc(200, 3).toString("base64") })
  ],
  ["truncated in half", (r) => r.slice(0, Math.floor(r.length / 2))],
  ["truncated by one byte", (r) => r.slice(0, -1)],
  ["trailing bytes of a longer record", (r) => `${r}"}}}`],
  ["empty", () => ""],
  ["zero bytes", (r) => "\u0000".repeat(r.length)],
  ["not JSON", () => "<html>not a record</html>"],
  ["JSON of another shape", () => JSON.stringify({ ks: "djJ8plaintext", expiry: 9_999_999_999 })],
  ["a future format version", (r) => JSON.stringify({ ...JSON.parse(r), v: 2 })],
  ["an extra field", (r) => JSON.stringify({ ...JSON.parse(r), extra: 1 })],
  ["oversized (70 KiB)", (r) => r + " ".repeat(70 * 1024)]
]
