// The octoplant Export API: authenticate, order, poll, cancel, download. Knows nothing of GitHub
// Actions; every request goes through the transport (request.ts).
import type { IncomingMessage } from 'node:http'
import type { ExportContents } from '../export-contents.js'
import { API_PATHS, GrpcCode, type Operation } from './protocol.js'
import { OctoplantError, type Transport } from './request.js'

export interface Credentials {
  username: string
  password: string
  clientId: string
  clientSecret: string
}

export interface ClientOptions {
  transport: Transport
  credentials: Credentials
  /** Called with every token received, before it is used (the action masks it). */
  onSecret?: (value: string) => void
}

/** The server refused the credentials; retrying will not help. */
export class AuthenticationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'AuthenticationError'
  }
}

interface TokenResponse {
  access_token?: unknown
  refresh_token?: unknown
  expires_in?: unknown
  token_type?: unknown
}

export class OctoplantClient {
  private token: string | undefined

  constructor(private readonly options: ClientOptions) {}

  /** The same session (token) over another transport: cleanup after the run's signal aborted. */
  withTransport(transport: Transport): OctoplantClient {
    const other = new OctoplantClient({ ...this.options, transport })
    other.token = this.token
    return other
  }

  /** Password grant; throws AuthenticationError when the server refuses it. */
  async authenticate(): Promise<void> {
    const { username, password, clientId, clientSecret } = this.options.credentials
    let answer: TokenResponse
    try {
      answer = await this.options.transport.json<TokenResponse>({
        method: 'POST',
        path: API_PATHS.token,
        form: { grant_type: 'password', username, password, client_id: clientId, client_secret: clientSecret }
      })
    } catch (e) {
      if (e instanceof OctoplantError && [400, 401, 403].includes(e.httpStatus)) {
        throw new AuthenticationError(
          `octoplant refused to sign in user "${username}" (${e.message.replace(/^POST \S+ failed: /, '')}). ` +
            'Check the username and password inputs (a domain account is DOMAIN\\user) and, if you changed them, client-id and client-secret.'
        )
      }
      throw e
    }
    if (typeof answer.access_token !== 'string' || answer.access_token === '') {
      throw new OctoplantError('the token endpoint answered without an access_token', 200)
    }
    this.options.onSecret?.(answer.access_token)
    if (typeof answer.refresh_token === 'string' && answer.refresh_token) this.options.onSecret?.(answer.refresh_token)
    this.token = answer.access_token
  }

  placeOrder(exportContents: ExportContents): Promise<Operation> {
    return this.authorized(token =>
      this.options.transport.json<Operation>({ method: 'POST', path: API_PATHS.order, token, json: { exportContents } })
    )
  }

  getOrder(name: string): Promise<Operation> {
    return this.authorized(token => this.options.transport.json<Operation>({ method: 'GET', path: API_PATHS.orderOf(name), token }))
  }

  async cancelOrder(name: string): Promise<void> {
    await this.authorized(token => this.options.transport.json<unknown>({ method: 'POST', path: API_PATHS.cancelOf(name), token }))
  }

  download(name: string): Promise<{ body: IncomingMessage; contentLength?: number }> {
    return this.authorized(token => this.options.transport.stream({ method: 'GET', path: API_PATHS.downloadOf(name), token }))
  }

  /** Runs a call with the token; on a 401 (token expired) signs in again once and repeats it. */
  private async authorized<T>(call: (token: string) => Promise<T>): Promise<T> {
    if (!this.token) await this.authenticate()
    try {
      return await call(this.token!)
    } catch (e) {
      if (!(e instanceof OctoplantError) || (e.httpStatus !== 401 && e.grpcCode !== GrpcCode.UNAUTHENTICATED)) throw e
      await this.authenticate()
      return call(this.token!)
    }
  }
}
