// The octoplant Export API: authenticate, order, poll, cancel, download. Knows nothing of GitHub
// Actions; every request goes through the transport (request.ts).
import { API_PATHS, type ExportContents, GrpcCode, type Operation } from '../../protocol/protocol.js'
import { type GatewayBody, gatewayBody } from './download-body.js'
import { isTransientError, NetworkError, OctoplantError, type Transport } from './request.js'
import { AuthenticationError, type Credentials, type Session, type SignIn, signInWith } from './sign-in.js'
import { setting } from '../base/setting-ref.js'

export interface ClientOptions {
  transport: Transport
  credentials: Credentials
  /** Called with every token received, before it is used (the front ends mask them). */
  onSecret?: (value: string) => void
  /** Clock time, to renew a token before its expires_in runs out. */
  now?: () => number
}

export { AuthenticationError, type Credentials }

export class OctoplantClient {
  private session: Session | undefined
  private readonly signIn: SignIn

  constructor(private readonly options: ClientOptions) {
    this.signIn = signInWith(options.credentials, {
      transport: options.transport,
      onSecret: value => options.onSecret?.(value),
      now: options.now
    })
  }

  /** How the run signed in, once it has ("access token, exchanged for a session token", …). */
  get signedInWith(): string | undefined {
    return this.signIn.way
  }

  /** Signs in (or in again). Throws AuthenticationError when the server refuses the credentials. */
  async authenticate(signal?: AbortSignal): Promise<void> {
    this.session = await this.signIn.session(signal)
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
          `It was not sent again, so that no second export is made. If octoplant shows the order, re-run with ${setting('order-name', '<its name>')}; otherwise re-run the job.`
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
    if (!this.session || (this.options.now && this.options.now() >= this.session.renewAt)) await this.authenticate(signal)
    try {
      return await call(this.session!.token)
    } catch (e) {
      if (!renewOn401 || !(e instanceof OctoplantError) || (e.httpStatus !== 401 && e.grpcCode !== GrpcCode.UNAUTHENTICATED)) throw e
      await this.authenticate(signal)
      return call(this.session!.token)
    }
  }
}
