// The dry run: sign in and look at the server, then stop. What a person runs when setting up a new
// server or secret.
import type { Clock } from '../base/clock.js'
import { deadlineAfter } from '../base/deadline.js'
import type { Logger } from '../base/logger.js'
import { lookAtServer, type ServerInfo } from './preflight.js'
import { connect } from './connect.js'
import type { ExportSettings } from './settings.js'

export interface CheckReport {
  server: string
  signedIn: boolean
  /** How it signed in. */
  signedInWith?: string
  serverInfo?: ServerInfo
  error?: string
}

export async function checkServer(
  settings: ExportSettings,
  host: Logger & { secret(value: string): void },
  deps: { clock: Clock; signal?: AbortSignal }
): Promise<CheckReport> {
  const deadline = deadlineAfter(deps.clock, settings.timeoutMs)
  const signal = AbortSignal.any([...(deps.signal ? [deps.signal] : []), deadline.signal])
  const { transport, client } = connect(settings, host, deps.clock, deadline)
  try {
    await client.authenticate(signal)
    host.info(`Signed in with ${client.signedInWith}.`)
    return { server: settings.serverUrl, signedIn: true, signedInWith: client.signedInWith, serverInfo: await lookAtServer(client, host, { clock: deps.clock, signal }) }
  } catch (e) {
    return { server: settings.serverUrl, signedIn: false, error: (e as Error).message }
  } finally {
    transport.close()
  }
}
