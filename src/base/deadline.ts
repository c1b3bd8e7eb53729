// The run's one deadline: an absolute time on the engine's clock and the signal that fires at it.
// Everything that waits (polls, retries, the download, extraction, the upload) takes this one object,
// so "is there time left?" and "has time run out?" always agree, also under a test's clock.
import type { Clock } from './clock.js'

/** The reason the deadline's signal carries. */
export class TimeoutReached extends Error {
  constructor() {
    super('the timeout was reached')
    this.name = 'TimeoutReached'
  }
}

export interface Deadline {
  /** Absolute clock time. */
  readonly at: number
  /** Aborts with a TimeoutReached at `at`. */
  readonly signal: AbortSignal
  /** Clock time left, never below 0. */
  remaining(): number
}

export function deadlineAfter(clock: Clock, ms: number): Deadline {
  const at = clock.now() + ms
  return { at, signal: clock.timeout(ms, new TimeoutReached()), remaining: () => Math.max(0, at - clock.now()) }
}

/** The signal aborted because the deadline passed (not because the job was cancelled). */
export function timedOut(signal: AbortSignal | undefined): boolean {
  return !!signal?.aborted && signal.reason instanceof TimeoutReached
}
