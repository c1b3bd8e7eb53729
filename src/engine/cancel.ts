// Cancelling an order that a run left behind (the Action's post step, after the job was killed):
// sign in, cancel, within a bound of its own. Host-free like the rest of the engine.
import type { Clock } from '../base/clock.js'
import { deadlineAfter } from '../base/deadline.js'
import type { Logger } from '../base/logger.js'
import { connect } from './connect.js'
import type { ConnectionSettings } from './settings.js'

export interface CancelHost extends Logger {
  secret(value: string): void
}

/** Cancels order `name`; resolves with undefined once cancelled, or with why it could not be. */
export async function cancelLeftOrder(settings: ConnectionSettings, name: string, host: CancelHost, deps: { clock: Clock; limitMs: number }): Promise<string | undefined> {
  const deadline = deadlineAfter(deps.clock, deps.limitMs)
  const { transport, client } = connect(settings, host, deps.clock, deadline)
  try {
    await client.cancelOrder(name, deadline.signal)
    return undefined
  } catch (e) {
    return (e as Error).message
  } finally {
    transport.close()
  }
}
