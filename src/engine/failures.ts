// How a run's failures read: the order's own failure, giving up (deadline or cancel), and every
// other error in one sentence. The engine adds what to do next (export.ts, wayBack).
import { grpcCodeName, type Operation } from '../../protocol/protocol.js'
import { TimeoutReached } from '../base/deadline.js'
import { formatDuration } from '../base/format.js'
import { quoted, untrusted } from '../base/untrusted.js'
import { AuthenticationError } from '../octoplant/client.js'
import { DeadlineError } from './poller.js'
import { setting } from '../base/setting-ref.js'

/** The job was cancelled while the export ran. */
export class CancelledError extends Error {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`the job was cancelled (${signal})`)
    this.name = 'CancelledError'
  }
}

/** The order failed on the server: its code and message, and the sub-process it failed in. */
export function orderFailed(name: string, op: Operation): Error {
  const e = op.error
  const during = op.metadata?.currentSubProcess ? ` during ${quoted(op.metadata.currentSubProcess)}` : ''
  const why = e ? `${grpcCodeName(e.code)}: ${e.message ? untrusted(e.message) : '(no message)'}` : `state ${untrusted(op.metadata?.state ?? 'unknown', 100)}`
  return new Error(`order ${untrusted(name)} failed on the server${during}: ${why}`)
}

/** The deadline passed or the job was cancelled while the order was not done. */
export function isGivingUp(e: unknown): boolean {
  return e instanceof DeadlineError || e instanceof CancelledError || e instanceof TimeoutReached
}

/** The failure in one sentence. */
export function explain(e: unknown, elapsedMs: number): string {
  if (e instanceof TimeoutReached) return `gave up after ${formatDuration(elapsedMs)}: ${setting('timeout')} was reached`
  if (e instanceof DeadlineError) return `${e.message}: ${setting('timeout')} was reached`
  if (e instanceof CancelledError) return `${e.message} after ${formatDuration(elapsedMs)}`
  if (e instanceof AuthenticationError) return e.message
  return e instanceof Error ? e.message : String(e)
}
