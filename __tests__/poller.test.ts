import { describe, expect, it } from 'vitest'
import { deadlineAfter } from '../src/base/deadline.js'
import { fakeClock } from '../__fixtures__/clock.js'
import type { Logger } from '../src/base/logger.js'
import type { Operation, OrderState } from '../protocol/protocol.js'
import { DeadlineError, describeProgress, nextPollDelay, waitForOrder } from '../src/engine/poller.js'
import { asAction } from '../__fixtures__/spelled.js'

/** An order that is PENDING for `pendingMs`, RUNNING until `doneAt`, then ends in `end`. */
function scriptedOrder(clock: { now(): number }, start: number, pendingMs: number, doneAt: number, end: OrderState = 'STATE_SUCCEEDED') {
  let polls = 0
  const getOrder = async (name: string): Promise<Operation> => {
    polls++
    const t = clock.now() - start
    const state: OrderState = t >= doneAt ? end : t >= pendingMs ? 'STATE_RUNNING' : 'STATE_PENDING'
    return {
      name,
      done: state === end,
      metadata: { state, finishedSubProcesses: state === end ? '4' : '1', openSubProcesses: state === end ? '0' : '3', currentSubProcess: 'Read archive' },
      ...(end === 'STATE_FAILED' && state === end ? { error: { code: 13, message: 'disk full' } } : {})
    }
  }
  return { getOrder, polls: () => polls }
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = []
  return { lines, debug: () => {}, info: m => void lines.push(m), warning: m => void lines.push(`warning: ${m}`) }
}

describe('polling an order', () => {
  it('waits 15 % of the time already waited between polls, at least 1 s and at most max-poll-interval', () => {
    expect(nextPollDelay(0, 30_000)).toBe(1000)
    expect(nextPollDelay(6_000, 30_000)).toBe(1000)
    expect(nextPollDelay(20_000, 30_000)).toBe(3000)
    expect(nextPollDelay(100_000, 30_000)).toBe(15_000)
    expect(nextPollDelay(1_000_000, 30_000)).toBe(30_000)
    expect(nextPollDelay(1_000_000, 5_000)).toBe(5_000)
  })

  // Poll counts are exact under the fake clock: 1 s gaps for the first ~7 s, then ×1.15 per poll,
  // then every 30 s (the cap). They guard against a change that polls more.
  it.each([
    { runMs: 30_000, maxPolls: 19 },
    { runMs: 5 * 60_000, maxPolls: 36 },
    { runMs: 60 * 60_000, maxPolls: 146 }
  ])('notices an export of $runMs ms within 15 % of its run time, in at most $maxPolls polls', async ({ runMs, maxPolls }) => {
    const clock = fakeClock()
    const start = clock.now()
    const order = scriptedOrder(clock, start, 0, runMs)
    const result = await waitForOrder({
      name: 'o1', getOrder: order.getOrder, clock, startedAt: start, deadline: deadlineAfter(clock, 2 * runMs), maxIntervalMs: 30_000, logger: recordingLogger()
    })
    const noticedAfter = clock.now() - start - runMs
    expect(result.operation.metadata?.state).toBe('STATE_SUCCEEDED')
    expect(noticedAfter).toBeLessThanOrEqual(Math.max(1000, Math.min(30_000, 0.15 * runMs)))
    expect(result.polls).toBeLessThanOrEqual(maxPolls)
    // The gaps never shrink and never pass the cap.
    expect(clock.sleeps).toEqual([...clock.sleeps].sort((a, b) => a - b))
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(30_000)
  })

  it('reports how long the order was queued and how long it ran', async () => {
    const clock = fakeClock()
    const start = clock.now()
    const result = await waitForOrder({
      name: 'o1', getOrder: scriptedOrder(clock, start, 5_000, 20_000).getOrder, clock, startedAt: start, deadline: deadlineAfter(clock, 60_000),
      maxIntervalMs: 30_000, logger: recordingLogger()
    })
    expect(result.queuedMs).toBe(5_000)
    expect(result.runningMs).toBeGreaterThanOrEqual(15_000)
    expect(result.runningMs).toBeLessThanOrEqual(18_000)
  })

  it('gives up at the deadline with the last state, without polling past it', async () => {
    const clock = fakeClock()
    const start = clock.now()
    const order = scriptedOrder(clock, start, 1_000, 10 * 60_000)
    const error = await waitForOrder({
      name: 'o1', getOrder: order.getOrder, clock, startedAt: start, deadline: deadlineAfter(clock, 60_000), maxIntervalMs: 30_000, logger: recordingLogger()
    }).catch(e => e)
    expect(error).toBeInstanceOf(DeadlineError)
    expect(error.message).toBe('the order was not done after 1m (last state STATE_RUNNING)')
    expect(clock.now() - start).toBe(60_000)
    expect(order.polls()).toBeLessThan(30)
  })

  it('returns a failed order as it is, for the caller to report', async () => {
    const clock = fakeClock()
    const start = clock.now()
    const result = await waitForOrder({
      name: 'o1', getOrder: scriptedOrder(clock, start, 0, 3_000, 'STATE_FAILED').getOrder, clock, startedAt: start,
      deadline: deadlineAfter(clock, 60_000), maxIntervalMs: 30_000, logger: recordingLogger()
    })
    expect(result.operation.error).toEqual({ code: 13, message: 'disk full' })
  })

  it('logs one line per change of state and a heartbeat at most every minute', async () => {
    const clock = fakeClock()
    const start = clock.now()
    const logger = recordingLogger()
    await waitForOrder({
      name: 'o1', getOrder: scriptedOrder(clock, start, 2_000, 5 * 60_000).getOrder, clock, startedAt: start,
      deadline: deadlineAfter(clock, 10 * 60_000), maxIntervalMs: 30_000, logger
    })
    expect(logger.lines[0]).toMatch(/^0ms: STATE_PENDING, 1 of 4 steps \(25 %\), now: Read archive$/)
    expect(logger.lines[1]).toMatch(/STATE_RUNNING/)
    expect(logger.lines.at(-1)).toMatch(/STATE_SUCCEEDED/)
    const heartbeats = logger.lines.filter(l => l.includes('still'))
    expect(heartbeats.length).toBeGreaterThanOrEqual(3)
    expect(heartbeats.length).toBeLessThanOrEqual(5)
    expect(logger.lines.length).toBeLessThan(10)
  })

  it('says the server does not know the order after repeated STATE_UNSPECIFIED answers', async () => {
    const clock = fakeClock()
    let polls = 0
    const error = await waitForOrder({
      name: 'typo', getOrder: async () => (polls++, { name: 'typo', metadata: { state: 'STATE_UNSPECIFIED' }, done: false }), clock,
      startedAt: clock.now(), deadline: deadlineAfter(clock, 60_000), maxIntervalMs: 30_000, logger: recordingLogger()
    }).catch(e => e)
    expect(asAction(error.message)).toMatch(/the server does not know order "typo".*check the order-name input/)
    expect(polls).toBe(3)
  })

  it('stops waiting at once when the job is cancelled', async () => {
    const clock = fakeClock()
    const job = new AbortController()
    let polls = 0
    const error = await waitForOrder({
      name: 'o1',
      getOrder: async () => {
        if (++polls === 2) job.abort(new Error('cancelled'))
        return { metadata: { state: 'STATE_RUNNING' } }
      },
      clock, startedAt: clock.now(), deadline: deadlineAfter(clock, 60_000), maxIntervalMs: 30_000, logger: recordingLogger(), signal: job.signal
    }).catch(e => e)
    expect(error.message).toBe('cancelled')
    expect(polls).toBe(2)
  })

  it('reads int64 counters given as strings or numbers', () => {
    expect(describeProgress({ metadata: { state: 'STATE_RUNNING', finishedSubProcesses: '2', openSubProcesses: 3 } })).toBe(
      'STATE_RUNNING, 2 of 5 steps (40 %)'
    )
    expect(describeProgress({ metadata: { state: 'STATE_PENDING' } })).toBe('STATE_PENDING')
  })
})
