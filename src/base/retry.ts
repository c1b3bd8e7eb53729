// The one retry policy (Google AIP-194, gRPC's retry design): a transient fault is tried again after
// an exponential backoff with full jitter, or after the server's Retry-After when that is longer, at
// most `attempts` tries in all, and never when the wait would pass the deadline. The request layer's
// calls and the download's re-fetch both use it; a call that retries never sits inside another that
// does, so budgets do not multiply.
//
// Written here rather than taken from a library (p-retry, exponential-backoff): those count tries
// and delays but know nothing of a deadline shared with the rest of the run or of Retry-After, which
// are the two rules that matter here, and the loop itself is a dozen lines.
import type { Clock } from './clock.js'
import type { Deadline } from './deadline.js'

export interface RetryPolicy {
  /** Tries of one call, the first included. */
  attempts: number
  baseDelayMs: number
  maxDelayMs: number
}

export const RETRY_POLICY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 15_000 }

/** Why no further try is made. */
export type GiveUp = { reason: 'attempts'; attempt: number } | { reason: 'deadline'; attempt: number }

export interface RetryOptions {
  clock: Clock
  deadline?: Deadline
  signal?: AbortSignal
  /** Fewer tries than the policy's (an optional probe tries once). */
  attempts?: number
  /** Jitter source, [0, 1). */
  random?: () => number
  /** Is this failure worth another try, and after at least how long (Retry-After)? undefined: no. */
  retryAfter(e: unknown): { atLeastMs: number } | undefined
  /** Told before each wait. */
  onRetry?(e: unknown, attempt: number, attempts: number, delayMs: number): void
  /** The error to throw when no try is left (default: the last failure). */
  giveUp?(e: unknown, why: GiveUp): unknown
}

/** The full-jitter backoff before try `attempt + 1`. */
export function backoffMs(attempt: number, random: () => number, policy: RetryPolicy = RETRY_POLICY): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))
}

/** Runs `call` (with the try's number), again after each transient failure as the policy allows. */
export async function withRetries<T>(call: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  const attempts = Math.min(RETRY_POLICY.attempts, o.attempts ?? Infinity)
  const random = o.random ?? Math.random
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(attempt)
    } catch (e) {
      o.signal?.throwIfAborted()
      const again = o.retryAfter(e)
      if (!again || attempts === 1) throw e
      if (attempt >= attempts) throw o.giveUp ? o.giveUp(e, { reason: 'attempts', attempt }) : e
      const delay = Math.max(again.atLeastMs, backoffMs(attempt, random))
      if (o.deadline && delay >= o.deadline.remaining()) throw o.giveUp ? o.giveUp(e, { reason: 'deadline', attempt }) : e
      o.onRetry?.(e, attempt, attempts, delay)
      await o.clock.sleep(delay, o.signal)
    }
  }
}

/** Retry-After as seconds or an HTTP date, in ms from `now`. */
export function retryAfterMs(header: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header
  if (!v) return undefined
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}
