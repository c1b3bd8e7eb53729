// The octoplant Export API: authenticate, order, poll, cancel, download. Knows nothing of GitHub
// Actions; every request goes through the transport (request.ts).
import { API_PATHS, type ExportContents, GrpcCode, type Operation } from '../../protocol/protocol.js'
import { type GatewayBody, gatewayBody } from './download-body.js'
import { isTransientError, NetworkError, OctoplantError, type SettingName, type Transport } from './request.js'

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
  /** Clock time, to renew a token before its expires_in runs out. */
  now?: () => number
  /** The front end's names of settings, for the hints in error messages. */
  setting: SettingName
}

/** Renew a token this long before the server said it expires (half its lifetime when shorter). */
const RENEW_MARGIN_MS = 30_000

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
  private refreshToken: string | undefined
  /** Clock time at which to sign in again before the token expires. */
  private renewAt = Infinity

  private readonly setting: SettingName

  constructor(private readonly options: ClientOptions) {
    this.setting = options.setting
  }

  /** Signs in: the refresh grant when the server issued a refresh token, else the password grant.
   *  Throws AuthenticationError when the server refuses the credentials. */
  async authenticate(signal?: AbortSignal): Promise<void> {
    const { username, password, clientId, clientSecret } = this.options.credentials
    const client = { client_id: clientId, client_secret: clientSecret }
    let answer: TokenResponse | undefined
    if (this.refreshToken) {
      answer = await this.requestToken({ grant_type: 'refresh_token', refresh_token: this.refreshToken, ...client }, signal).catch(() => undefined)
    }
    try {
      answer ??= await this.requestToken({ grant_type: 'password', username, password, ...client }, signal)
    } catch (e) {
      if (e instanceof OctoplantError && e.httpStatus === 404) {
        throw new OctoplantError(
          `the server at ${this.setting('server-url')} answered, but has no octoplant API at that address: check it (octoplant's API listens on port 64023 by default; ` +
            `behind a reverse proxy, the address needs the proxy's path prefix, e.g. https://host/octoplant) [${e.message}]`,
          404,
          e.grpcCode,
          false
        )
      }
      if (e instanceof OctoplantError && [400, 401, 403].includes(e.httpStatus)) {
        throw new AuthenticationError(
          `octoplant refused to sign in user "${username}" (${e.message.replace(/^POST \S+ failed: /, '')}). ` +
            `Check ${this.setting('username')} and ${this.setting('password')} (a domain account is DOMAIN\\user) and, if you changed them, ${this.setting('client-id')} and ${this.setting('client-secret')}.`
        )
      }
      throw e
    }
    if (typeof answer.access_token !== 'string' || answer.access_token === '') {
      throw new OctoplantError('the token endpoint answered without an access_token', 200, undefined, false)
    }
    this.options.onSecret?.(answer.access_token)
    if (typeof answer.refresh_token === 'string' && answer.refresh_token) {
      this.options.onSecret?.(answer.refresh_token)
      this.refreshToken = answer.refresh_token
    }
    this.token = answer.access_token
    const lifetimeMs = Number(answer.expires_in) * 1000
    this.renewAt =
      Number.isFinite(lifetimeMs) && lifetimeMs > 0 && this.options.now
        ? this.options.now() + lifetimeMs - Math.min(RENEW_MARGIN_MS, lifetimeMs / 2)
        : Infinity
  }

  private requestToken(form: Record<string, string>, signal?: AbortSignal): Promise<TokenResponse> {
    // Asking for a token twice is harmless: the call may be repeated.
    return this.options.transport.json<TokenResponse>({ method: 'POST', path: API_PATHS.token, form, idempotent: true, signal })
  }

  /** A status call (GET /v1/status/…) for probes that are optional: one try, and a 401 is an answer,
   *  not a reason to sign in again. */
  status<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.authorized(token => this.options.transport.json<T>({ method: 'GET', path, token, attempts: 1, signal }), signal, false)
  }

  /** POST /v1/order has no request id: it is repeated only when the server cannot have acted on it,
   *  and an ambiguous failure says so. */
  async placeOrder(exportContents: ExportContents, signal?: AbortSignal): Promise<Operation> {
    try {
      return await this.authorized(
        token => this.options.transport.json<Operation>({ method: 'POST', path: API_PATHS.order, token, json: { exportContents }, idempotent: false, signal }),
        signal
      )
    } catch (e) {
      const refused = (e instanceof NetworkError && !e.maybeSent) || (e instanceof OctoplantError && e.httpStatus === 429)
      if (!isTransientError(e) || refused) throw e
      throw new Error(
        `placing the order failed after the request may have reached the server (${(e as Error).message}). ` +
          `It was not sent again, so that no second export is made. If octoplant shows the order, re-run with ${this.setting('order-name', '<its name>')}; otherwise re-run the job.`
      )
    }
  }

  getOrder(name: string, signal?: AbortSignal): Promise<Operation> {
    return this.authorized(token => this.options.transport.json<Operation>({ method: 'GET', path: API_PATHS.orderOf(name), token, signal }), signal)
  }

  async cancelOrder(name: string, signal?: AbortSignal): Promise<void> {
    await this.authorized(
      token => this.options.transport.json<unknown>({ method: 'POST', path: API_PATHS.cancelOf(name), token, idempotent: true, signal }),
      signal
    )
  }

  /** The export's bytes as the gateway streams them (see download-body.ts). One try: the caller's
   *  loop (engine/download.ts) owns the retries of a download, so that they do not multiply with the
   *  request layer's. */
  async download(name: string, signal?: AbortSignal): Promise<GatewayBody> {
    const { body, contentLength } = await this.authorized(
      token => this.options.transport.stream({ method: 'GET', path: API_PATHS.downloadOf(name), token, attempts: 1, signal }),
      signal
    )
    return gatewayBody(body, contentLength)
  }

  /** Runs a call with a fresh token; on a 401 (token expired) signs in again once and repeats it;
   *  a second 401 in a row is final. */
  private async authorized<T>(call: (token: string) => Promise<T>, signal: AbortSignal | undefined, renewOn401 = true): Promise<T> {
    if (!this.token || (this.options.now && this.options.now() >= this.renewAt)) await this.authenticate(signal)
    try {
      return await call(this.token!)
    } catch (e) {
      if (!renewOn401 || !(e instanceof OctoplantError) || (e.httpStatus !== 401 && e.grpcCode !== GrpcCode.UNAUTHENTICATED)) throw e
      await this.authenticate(signal)
      return call(this.token!)
    }
  }
}
