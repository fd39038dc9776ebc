/**
 * The process side of the CLI: runs `Cli.run` on Node with our own exit codes and signal handling
 * (instead of `NodeRuntime.runMain`, whose error report would duplicate ours).
 *
 * @internal
 */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import * as NodeTerminal from "@effect/platform-node/NodeTerminal"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Cli from "../Cli.js"

/**
 * What `@effect/cli` needs (`CliApp.Environment`), and nothing more: `NodeContext.layer` would also load the
 * command executor (`node:child_process`) and the worker manager, which no command uses.
 */
const environment = Layer.mergeAll(NodeFileSystem.layer, NodePath.layer, NodeTerminal.layer)

const exitWhenFlushed = (code: number) => {
  process.exitCode = code
  // exit once both streams have flushed, even if a handle (a keep-alive socket) would keep Node alive
  let pending = 2
  const done = () => {
    if (--pending === 0) process.exit(code)
  }
  process.stdout.write("", done)
  process.stderr.write("", done)
}

/**
 * Runs the command line of this process (`argv` as in `process.argv`) and exits with its code.
 * `--debug` anywhere turns on debug logs and full causes on stderr.
 *
 * @internal
 */
export const main = (argv: ReadonlyArray<string>): void => {
  const args = argv.slice(2)
  const debug = args.includes("--debug")
  let waiter: ((signal: NodeJS.Signals) => void) | undefined
  let signalled: NodeJS.Signals | undefined
  const awaitShutdown = Effect.async<NodeJS.Signals>((resume) => {
    waiter = (signal) => resume(Effect.succeed(signal))
    return Effect.sync(() => {
      waiter = undefined
    })
  })
  const program = Cli.run(args.filter((arg) => arg !== "--debug"), { debug, awaitShutdown }).pipe(
    Effect.provide(environment)
  )
  const fiber = Effect.runFork(program)
  const onSignal = (signal: NodeJS.Signals) => {
    if (waiter !== undefined) {
      // a command serving until stopped: let it close cleanly and exit 0
      const wake = waiter
      waiter = undefined
      wake(signal)
    } else if (signalled === undefined) {
      signalled = signal
      fiber.unsafeInterruptAsFork(FiberId.none)
    } else {
      process.exit(signalled === "SIGTERM" ? 143 : 130) // a second signal: stop waiting for finalizers
    }
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  fiber.addObserver((exit) => {
    process.off("SIGINT", onSignal)
    process.off("SIGTERM", onSignal)
    exitWhenFlushed(Exit.isSuccess(exit) ? exit.value : signalled === "SIGTERM" ? 143 : Cli.ExitCode.Interrupted)
  })
}
