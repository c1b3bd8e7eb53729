// A clock that only moves when a sleep is awaited (or a test advances it): waiting is tested without
// waiting. Its timeout signals fire as soon as its time passes theirs.
import type { Clock } from '../src/base/clock.js'

export interface FakeClock extends Clock {
  sleeps: number[]
  advance(ms: number): void
}

export function fakeClock(start = 1_000_000): FakeClock {
  let now = start
  const timers: { at: number; controller: AbortController; reason: Error }[] = []
  const move = (ms: number) => {
    now += ms
    for (const t of timers.filter(t => t.at <= now)) {
      timers.splice(timers.indexOf(t), 1)
      t.controller.abort(t.reason)
    }
  }
  const c: FakeClock = {
    sleeps: [],
    now: () => now,
    advance: move,
    async sleep(ms, signal) {
      signal?.throwIfAborted()
      c.sleeps.push(ms)
      move(ms)
      signal?.throwIfAborted()
    },
    timeout(ms, reason) {
      const controller = new AbortController()
      timers.push({ at: now + ms, controller, reason })
      return controller.signal
    }
  }
  return c
}
