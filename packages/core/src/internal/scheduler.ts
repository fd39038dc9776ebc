/**
 * One timer for many sessions: a min-heap of wake-up times served by a single fiber, so that a process holding
 * thousands of keyed sessions keeps one sleeping fiber, not one per session (a sleeping fiber is ~6 KiB). Each session owns a `Timer` that it
 * sets to its next wake-up (or clears); a replaced entry is cancelled in place and skipped when it surfaces.
 *
 * Internal to the package: not part of its public API.
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"

/** A session's slot in the scheduler. */
export interface Timer {
  /** Runs the timer's action at `at` (`Clock` ms), replacing what was set before; `undefined` clears it. */
  readonly set: (at: number | undefined) => Effect.Effect<void>
}

/** The scheduler. */
export interface Scheduler {
  /** A timer that runs `action` when it fires. `action` must not fail and should not take long. */
  readonly timer: (action: Effect.Effect<void>) => Timer
}

interface Entry {
  readonly at: number
  readonly seq: number
  readonly action: Effect.Effect<void>
  cancelled: boolean
}

/** Effect's scheduler drops timers beyond 2^31-1 ms (~24.8 days): never sleep more than a day at once. */
const maxSleepMillis = 86_400_000

const before = (a: Entry, b: Entry) => a.at < b.at || (a.at === b.at && a.seq < b.seq)

/** A binary min-heap of entries, by time then insertion order. */
class Heap {
  private readonly items: Array<Entry> = []
  get size() {
    return this.items.length
  }
  peek(): Entry | undefined {
    return this.items[0]
  }
  push(entry: Entry) {
    const items = this.items
    items.push(entry)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!before(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }
  pop(): Entry | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length > 0 && last !== undefined) {
      items[0] = last
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        if (left < items.length && before(items[left]!, items[smallest]!)) smallest = left
        if (right < items.length && before(items[right]!, items[smallest]!)) smallest = right
        if (smallest === i) break
        ;[items[i], items[smallest]] = [items[smallest]!, items[i]!]
        i = smallest
      }
    }
    return top
  }
}

/**
 * A scheduler whose fiber runs in `scope` (started on the first timer set, stopped when `scope` closes). Actions run
 * one after the other on that fiber, in time order.
 */
export const make = (scope: Scope.Scope): Effect.Effect<Scheduler> =>
  Effect.sync(() => {
    const heap = new Heap()
    let seq = 0
    // the one fiber: sleeping until `sleepingUntil`, or running the actions that are due
    let fiber: Fiber.RuntimeFiber<void> | undefined
    let sleepingUntil = Number.POSITIVE_INFINITY
    let running = false

    const dropCancelled = () => {
      while (heap.peek()?.cancelled === true) heap.pop()
    }

    const sleepUntil = (at: number): Effect.Effect<void> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const remaining = Math.ceil(at - now)
        return remaining <= 0
          ? Effect.void
          : Effect.zipRight(Effect.sleep(Duration.millis(Math.min(remaining, maxSleepMillis))), sleepUntil(at))
      })

    const runDue = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const due: Array<Effect.Effect<void>> = []
      dropCancelled()
      while (heap.size > 0 && heap.peek()!.at <= now) {
        const entry = heap.pop()!
        if (!entry.cancelled) due.push(entry.action)
        entry.cancelled = true // fired: setting the same time again schedules it anew
        dropCancelled()
      }
      return Effect.forEach(due, (action) => action, { discard: true })
    })

    // Sleeps until the earliest entry, runs what is due, and so on; ends when nothing is scheduled.
    const loop = (self: () => Fiber.RuntimeFiber<void> | undefined): Effect.Effect<void> =>
      Effect.suspend(() => {
        dropCancelled()
        const head = heap.peek()
        if (head === undefined) {
          if (fiber === self()) fiber = undefined
          return Effect.void
        }
        sleepingUntil = head.at
        return sleepUntil(head.at).pipe(
          Effect.zipRight(Effect.sync(() => {
            running = true
            sleepingUntil = Number.POSITIVE_INFINITY
          })),
          Effect.zipRight(runDue),
          Effect.ensuring(Effect.sync(() => {
            running = false
          })),
          Effect.zipRight(loop(self))
        )
      })

    // (Re)starts the fiber in the caller's context, so that it reads the same Clock, in `scope`.
    const start = Effect.suspend(() => {
      const previous = fiber
      let started: Fiber.RuntimeFiber<void> | undefined
      return Effect.zipRight(
        previous === undefined ? Effect.void : Fiber.interruptFork(previous),
        Effect.map(Effect.forkIn(Effect.interruptible(loop(() => started)), scope), (forked) => {
          started = forked
          fiber = forked
        })
      )
    })

    return {
      timer: (action) => {
        let current: Entry | undefined
        return {
          set: (at) =>
            Effect.suspend(() => {
              if (current !== undefined && !current.cancelled && current.at === at) return Effect.void
              if (current !== undefined) current.cancelled = true
              current = undefined
              if (at === undefined) return Effect.void
              current = { at, seq: seq++, action, cancelled: false }
              heap.push(current)
              // a running fiber looks at the heap again when it is done; a sleeping one is woken only if it must
              // wake earlier
              return fiber === undefined || (!running && at < sleepingUntil) ? start : Effect.void
            })
        }
      }
    }
  })
