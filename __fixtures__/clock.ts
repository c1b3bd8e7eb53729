// A clock that only moves when a sleep is awaited: waiting is tested without waiting.
import type { Clock } from '../src/base/clock.js'

export interface FakeClock extends Clock {
  sleeps: number[]
  advance(ms: number): void
}

export function fakeClock(start = 1_000_000): FakeClock {
  let now = start
  const c: FakeClock = {
    sleeps: [],
    now: () => now,
    advance: ms => void (now += ms),
    async sleep(ms, signal) {
      signal?.throwIfAborted()
      c.sleeps.push(ms)
      now += ms
    }
  }
  return c
}
