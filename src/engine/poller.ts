// Polls an order until it is done, under one deadline. The gap between two polls grows with the time
// already waited (15 % of it, at least 1 s, at most max-poll-interval): the end of an export is then
// noticed within about 15 % of its run time, with few requests for long exports.
import type { Clock } from '../base/clock.js'
import { type Deadline, timedOut } from '../base/deadline.js'
import { formatDuration } from '../base/format.js'
import type { Logger } from '../base/logger.js'
import { quoted, untrusted } from '../base/untrusted.js'
import type { Operation, OrderState } from '../../protocol/protocol.js'
import { setting } from '../base/setting-ref.js'

export interface PollOptions {
  name: string
  getOrder: (name: string) => Promise<Operation>
  clock: Clock
  /** When the order was placed (or the wait began), in clock time. */
  startedAt: number
  /** The run's deadline: past it, we give up. */
  deadline: Deadline
  maxIntervalMs: number
  logger: Logger
  signal?: AbortSignal
  /** Called with every answer (the action sets the `state` output from it). */
  onUpdate?: (operation: Operation) => void
  /** The state known before the first poll (from placing the order). */
  initialState?: OrderState
  /** A failed poll that passes this test is logged and polled again (until the deadline). */
  isTransient?: (error: unknown) => boolean
}

export interface PollResult {
  operation: Operation
  polls: number
  /** Time from the start until RUNNING was first seen (queued), and from then until done. */
  queuedMs: number
  runningMs: number
}

/** The deadline passed while the order was not done (explain() adds which setting it was). */
export class DeadlineError extends Error {
  constructor(
    readonly waitedMs: number,
    readonly lastState: OrderState | undefined,
    lastFailure?: string
  ) {
    super(`the order was not done after ${formatDuration(waitedMs)} (last state ${untrusted(lastState ?? 'unknown', 100)}${lastFailure ? `; the last poll failed: ${lastFailure}` : ''})`)
    this.name = 'DeadlineError'
  }
}

/** The server does not know the order (STATE_UNSPECIFIED again and again, or NOT_FOUND): there is
 *  nothing to resume. */
export class UnknownOrderError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnknownOrderError'
  }
}

const MIN_POLL_INTERVAL_MS = 1000
const POLL_FRACTION = 0.15
/** A log line while nothing changes, at most this often. */
const HEARTBEAT_MS = 60_000
/** Consecutive STATE_UNSPECIFIED answers before the order counts as unknown to the server. */
const UNSPECIFIED_LIMIT = 3

export function nextPollDelay(elapsedMs: number, maxIntervalMs: number): number {
  return Math.min(maxIntervalMs, Math.max(MIN_POLL_INTERVAL_MS, Math.round(elapsedMs * POLL_FRACTION)))
}

export async function waitForOrder(o: PollOptions): Promise<PollResult> {
  const seen: Seen = { state: o.initialState }
  try {
    return await poll(o, seen)
  } catch (e) {
    // The deadline may fire during a poll or a wait, before the checks below see it.
    if (timedOut(o.signal)) throw new DeadlineError(o.clock.now() - o.startedAt, seen.state, seen.failure)
    throw e
  }
}

/** The last state seen, and the last poll's failure while polls fail. */
interface Seen {
  state?: OrderState
  failure?: string
}

async function poll(o: PollOptions, seen: Seen): Promise<PollResult> {
  const { clock, logger } = o
  let polls = 0
  const log: LogMark = { key: '', at: clock.now() }
  let runningSince: number | undefined
  let unspecified = 0
  let failures = 0

  for (;;) {
    o.signal?.throwIfAborted()
    let operation: Operation
    try {
      operation = await o.getOrder(o.name)
      polls++
    } catch (e) {
      polls++
      const now = clock.now()
      if (!o.isTransient?.(e)) throw e
      seen.failure = (e as Error).message
      if (o.deadline.remaining() <= 0) throw new DeadlineError(now - o.startedAt, seen.state, seen.failure)
      // The request layer already retried; the server may be restarting. Keep waiting.
      if (failures++ === 0 || now - log.at >= HEARTBEAT_MS) {
        logger.warning(`polling order ${quoted(o.name)} failed (${(e as Error).message}); still waiting`)
        log.at = now
      }
      await clock.sleep(Math.min(nextPollDelay(now - o.startedAt, o.maxIntervalMs), o.deadline.remaining()), o.signal)
      continue
    }
    failures = 0
    const now = clock.now()
    o.onUpdate?.(operation)
    const state = operation.metadata?.state
    seen.state = state ?? seen.state
    seen.failure = undefined
    if (state === 'STATE_RUNNING' && runningSince === undefined) runningSince = now

    logProgress(o, operation, now, log)

    if (isDone(operation)) {
      const start = runningSince ?? now
      return { operation, polls, queuedMs: start - o.startedAt, runningMs: now - start }
    }
    unspecified = state === 'STATE_UNSPECIFIED' || state === undefined ? unspecified + 1 : 0
    if (unspecified >= UNSPECIFIED_LIMIT) {
      throw new UnknownOrderError(
        `the server does not know order ${quoted(o.name)} (it answered STATE_UNSPECIFIED ${unspecified} times): check ${setting('order-name')}, or the order may have expired`
      )
    }

    const remaining = o.deadline.remaining()
    if (remaining <= 0) throw new DeadlineError(now - o.startedAt, seen.state)
    await clock.sleep(Math.min(nextPollDelay(now - o.startedAt, o.maxIntervalMs), remaining), o.signal)
  }
}

/** What the log said last, and when. */
interface LogMark {
  key: string
  at: number
}

/** A line when the state or the progress changed, else a heartbeat now and then. */
function logProgress(o: PollOptions, operation: Operation, now: number, last: LogMark): void {
  const line = describeProgress(operation)
  const m = operation.metadata
  const key = `${m?.state}|${m?.currentSubProcess ?? ''}|${m?.finishedSubProcesses ?? ''}`
  if (key !== last.key) {
    o.logger.info(`${formatDuration(now - o.startedAt)}: ${line}`)
    last.key = key
    last.at = now
  } else if (now - last.at >= HEARTBEAT_MS) {
    o.logger.info(`${formatDuration(now - o.startedAt)}: still ${line}`)
    last.at = now
  }
}

/** The order is over: `done` says so (the vendor's own loop waits for it alone), or it failed — a
 *  failed order never recovers, so STATE_FAILED ends the wait even while `done` still says false.
 *  STATE_SUCCEEDED with `done: false` is polled again. */
export function isDone(op: Operation): boolean {
  return op.done === true || op.metadata?.state === 'STATE_FAILED'
}

/** Done and succeeded, as the vendor's page has it: `done: true` with STATE_SUCCEEDED (or, where a
 *  server sends no state, a response and no error). */
export function succeeded(op: Operation): boolean {
  if (op.done !== true || hasError(op)) return false
  const state = op.metadata?.state
  return state === 'STATE_SUCCEEDED' || (!state && !!op.response)
}

/** An error result with a code other than OK or a message (protojson may write `"error": null`). */
function hasError(op: Operation): boolean {
  return !!op.error && (!!op.error.code || !!op.error.message)
}

/** An int64 counter as protobuf JSON sends it (a string or a number), or undefined. */
export function toCount(v: string | number | undefined): number | undefined {
  const n = typeof v === 'string' ? Number(v) : v
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined
}

/** "STATE_RUNNING, 2 of 5 steps (40 %), now: Export project tree" */
export function describeProgress(op: Operation): string {
  const m = op.metadata ?? {}
  const parts = [m.state ? untrusted(m.state, 100) : 'no state']
  const finished = toCount(m.finishedSubProcesses)
  const open = toCount(m.openSubProcesses)
  if (finished !== undefined && open !== undefined && finished + open > 0) {
    parts.push(`${finished} of ${finished + open} steps (${Math.round((100 * finished) / (finished + open))} %)`)
  }
  if (m.currentSubProcess) parts.push(`now: ${untrusted(m.currentSubProcess, 200)}`)
  return parts.join(', ')
}
