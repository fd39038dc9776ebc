/**
 * A real `redis-server` for tests: started on a free loopback port with no persistence (`--save "" --appendonly no`)
 * in a temporary directory, stopped when the scope closes. `stop` and `start` make an outage on the same port.
 *
 * It needs the `redis-server` binary (on the `PATH`, or `REDIS_SERVER`): on Debian or Ubuntu
 * `apt-get install -y redis-server` (the repository's `.ci/run` does it), on macOS `brew install redis`. Without it,
 * {@link make} fails with a {@link RedisServerError} saying so: a test that needs Redis fails, it is never skipped.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"

/**
 * How to install `redis-server`, as the error says it.
 *
 * @since 0.2.0
 * @category Constants
 */
export const installHint =
  "install it with `apt-get install -y redis-server` (Debian/Ubuntu; `.ci/run` does it when it is missing) or " +
  "`brew install redis` (macOS), or set REDIS_SERVER to its path"

/**
 * `redis-server` is missing, or did not start.
 *
 * @since 0.2.0
 * @category Errors
 */
export class RedisServerError extends Schema.TaggedError<RedisServerError>(
  "@kaltura-effect/testing/RedisServerError"
)("RedisServerError", {
  reason: Schema.Literal("NotInstalled", "DidNotStart"),
  detail: Schema.String
}) {
  /**
   * @since 0.2.0
   */
  override get message(): string {
    return this.reason === "NotInstalled"
      ? `redis-server is not installed (${this.detail}): ${installHint}`
      : `redis-server did not start: ${this.detail}`
  }
}

/**
 * A running `redis-server`.
 *
 * @since 0.2.0
 * @category Models
 */
export interface RedisServer {
  readonly port: number
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** Kills the server (`SIGKILL`, as a crash) and waits for it to exit; its data is gone. */
  readonly stop: Effect.Effect<void>
  /** Starts it again on the same port (after {@link RedisServer.stop}), empty. */
  readonly start: Effect.Effect<void, RedisServerError>
}

/**
 * @since 0.2.0
 * @category Models
 */
export interface Options {
  /** The binary. Default `REDIS_SERVER`, else `redis-server` from the `PATH`. */
  readonly binary?: string | undefined
  /** How long to wait for it to answer `PING`. Default 10 seconds. */
  readonly startTimeoutMillis?: number | undefined
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() =>
        typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))
      )
    })
  })

const ping = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect({ host: "127.0.0.1", port })
    let answer = ""
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(500, () => done(false))
    socket.on("error", () => done(false))
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk) => {
      answer += chunk.toString("latin1")
      if (answer.includes("\r\n")) done(answer.startsWith("+PONG"))
    })
  })

/**
 * Starts a `redis-server` on a free loopback port, stopped when the scope closes.
 *
 * @since 0.2.0
 * @category Constructors
 */
export const make = (options?: Options): Effect.Effect<RedisServer, RedisServerError, Scope.Scope> =>
  Effect.gen(function*() {
    const binary = options?.binary ?? process.env.REDIS_SERVER ?? "redis-server"
    const startTimeout = options?.startTimeoutMillis ?? 10_000
    const port = yield* Effect.promise(freePort)
    const directory = Fs.mkdtempSync(Path.join(Os.tmpdir(), "kaltura-redis-"))
    let child: ChildProcess.ChildProcess | undefined
    let output = ""

    const spawn = Effect.async<ChildProcess.ChildProcess, RedisServerError>((resume) => {
      const process_ = ChildProcess.spawn(binary, [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        directory,
        "--daemonize",
        "no",
        "--loglevel",
        "warning"
      ], { stdio: ["ignore", "pipe", "pipe"] })
      output = ""
      const collect = (chunk: Buffer) => {
        output = (output + chunk.toString("utf8")).slice(-4000)
      }
      process_.stdout?.on("data", collect)
      process_.stderr?.on("data", collect)
      process_.once("error", (error: NodeJS.ErrnoException) =>
        resume(Effect.fail(
          new RedisServerError({
            reason: error.code === "ENOENT" ? "NotInstalled" : "DidNotStart",
            detail: error.code === "ENOENT" ? `no ${binary} on the PATH` : error.message
          })
        )))
      process_.once("spawn", () => resume(Effect.succeed(process_)))
    })

    const exited = (process_: ChildProcess.ChildProcess) =>
      Effect.async<void>((resume) => {
        if (process_.exitCode !== null || process_.signalCode !== null) return resume(Effect.void)
        process_.once("exit", () => resume(Effect.void))
      })

    const stop = Effect.suspend(() => {
      const current = child
      child = undefined
      if (current === undefined) return Effect.void
      current.kill("SIGKILL")
      return exited(current)
    })

    const start = Effect.gen(function*() {
      yield* stop
      const started = yield* spawn
      child = started
      const deadline = Date.now() + startTimeout
      while (!(yield* Effect.promise(() => ping(port)))) {
        if (started.exitCode !== null || Date.now() > deadline) {
          yield* stop
          return yield* new RedisServerError({
            reason: "DidNotStart",
            detail: `no PONG on port ${port} within ${startTimeout} ms; output: ${output.trim()}`
          })
        }
        yield* Effect.sleep("20 millis")
      }
    })

    yield* Effect.addFinalizer(() =>
      Effect.zipRight(stop, Effect.sync(() => Fs.rmSync(directory, { recursive: true, force: true })))
    )
    yield* start
    return { port, url: `redis://127.0.0.1:${port}`, stop, start }
  })
