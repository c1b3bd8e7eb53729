// The dry run: sign in and look at the server, then stop. What a person runs when setting up a new
// server or secret.
import { OctoplantClient } from '../octoplant/client.js'
import { createTransport } from '../octoplant/request.js'
import type { Clock } from '../base/clock.js'
import type { Logger } from '../base/logger.js'
import { lookAtServer, type ServerInfo } from './preflight.js'
import type { ExportSettings } from './settings.js'

export interface CheckReport {
  server: string
  signedIn: boolean
  serverInfo?: ServerInfo
  error?: string
}

export async function checkServer(
  settings: ExportSettings,
  host: Logger & { secret(value: string): void },
  deps: { clock: Clock; signal?: AbortSignal }
): Promise<CheckReport> {
  const signal = AbortSignal.any([...(deps.signal ? [deps.signal] : []), AbortSignal.timeout(settings.timeoutMs)])
  const transport = createTransport({
    baseUrl: settings.serverUrl,
    ignoreTlsErrors: settings.insecureSkipTlsVerify,
    clock: deps.clock,
    deadline: deps.clock.now() + settings.timeoutMs,
    logger: host
  })
  const client = new OctoplantClient({ transport, credentials: settings, onSecret: v => host.secret(v), now: () => deps.clock.now() })
  try {
    await client.authenticate(signal)
    host.info(`Signed in as ${settings.username}.`)
    return { server: settings.serverUrl, signedIn: true, serverInfo: await lookAtServer(client, host, { signal }) }
  } catch (e) {
    return { server: settings.serverUrl, signedIn: false, error: (e as Error).message }
  } finally {
    transport.close()
  }
}
