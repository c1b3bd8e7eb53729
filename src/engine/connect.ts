// The connection of a run: the one request layer (TLS, proxy, retries under the deadline) and the
// API client over it, for these settings. Whatever talks to the server (the export, the check, the
// post step's cancel) starts here, without the rest of the flow.
import type { Clock } from '../base/clock.js'
import type { Deadline } from '../base/deadline.js'
import type { Logger } from '../base/logger.js'
import { type Credentials, OctoplantClient } from '../octoplant/client.js'
import { createTransport, type Transport, type TransportOptions } from '../octoplant/request.js'
import type { ConnectionSettings } from './settings.js'

/** What the connection needs of its front end: where tokens go to be masked. */
export interface ConnectHost extends Logger {
  secret(value: string): void
}

/** Makes the request layer for a connection: the real one (HTTP through @actions/http-client), or a
 *  test's fake. */
export type TransportFactory = (options: TransportOptions) => Transport

/** The request layer and the API client for these settings; tokens go to host.secret first. */
export function connect(settings: ConnectionSettings, host: ConnectHost, clock: Clock, deadline: Deadline, makeTransport: TransportFactory = createTransport) {
  const transport = makeTransport({ baseUrl: settings.serverUrl, ignoreTlsErrors: settings.insecureSkipTlsVerify, clock, deadline, logger: host })
  const { username, password, clientId, clientSecret, accessToken } = settings
  const credentials: Credentials = accessToken ? { accessToken } : { username, password, clientId, clientSecret }
  const client = new OctoplantClient({ transport, credentials, onSecret: value => host.secret(value), now: () => clock.now() })
  return { transport, client }
}
