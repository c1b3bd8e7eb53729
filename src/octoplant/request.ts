// The one request layer: every call to the octoplant server goes through it. It owns TLS options,
// the proxy (through @actions/http-client, which honours https_proxy/no_proxy), the auth header,
// the run's abort signal and deadline, bounded reading of JSON bodies, the decoding of errors
// (google.rpc.Status JSON, proxies' HTML pages, network and certificate failures) and retries.
//
// Retries follow the one policy (base/retry.ts). What is transient here: 502/503/504, 429, connection
// resets and timeouts, an HTML page where JSON was expected. Client errors are never retried. A call
// that is not idempotent (placing an order) is re-sent only when the request provably never reached
// the server, or the server refused it (429).
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http'
import { isIP } from 'node:net'
import type { Readable } from 'node:stream'
import * as tls from 'node:tls'
import { HttpClient } from '@actions/http-client'
import { abortable, abortReason, type Clock, systemClock } from '../base/clock.js'
import type { Deadline } from '../base/deadline.js'
import type { Logger } from '../base/logger.js'
import { retryAfterMs, withRetries } from '../base/retry.js'
import { untrusted } from '../base/untrusted.js'
import { grpcCodeName, type RpcStatus } from '../../protocol/protocol.js'
import { setting } from '../base/setting-ref.js'

/** Socket inactivity limit per request. */
const SOCKET_TIMEOUT_MS = 120_000
/** Largest JSON body accepted: no API answer comes near it. */
const MAX_JSON_BYTES = 1024 * 1024

export interface TransportOptions {
  /** Base URL without a trailing slash. */
  baseUrl: string
  ignoreTlsErrors?: boolean
  clock?: Clock
  /** No retry waits past it. */
  deadline?: Deadline
  /** Jitter source, [0, 1). */
  random?: () => number
  logger?: Logger
}

export interface SendOptions {
  method: 'GET' | 'POST'
  path: string
  token?: string
  json?: unknown
  form?: Record<string, string>
  /** May the call be repeated after the request could have reached the server? Default: GET only. */
  idempotent?: boolean
  /** Tries of this call, when fewer than the policy's (an optional probe tries once). */
  attempts?: number
  /** Aborts this call (the run's deadline or cancellation, or a shorter limit of its own). */
  signal?: AbortSignal
}

/** The server answered with an error status, or with something that is not what the API sends. */
export class OctoplantError extends Error {
  constructor(
    message: string,
    readonly httpStatus: number,
    /** The gRPC code from the body, when there was one. */
    readonly grpcCode?: number,
    /** Worth another try (gateway errors, overload, a proxy's page). */
    readonly transient = isTransientStatus(httpStatus),
    /** From a Retry-After header. */
    readonly retryAfterMs?: number
  ) {
    super(message)
    this.name = 'OctoplantError'
  }
}

/** The request never got an answer: connection, TLS or timeout. */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly code?: string,
    /** False when the request provably never reached the server (refused, unresolved, TLS). */
    readonly maybeSent = true,
    readonly transient = true
  ) {
    super(message)
    this.name = 'NetworkError'
  }
}

function isTransientStatus(status: number): boolean {
  return status === 429 || status === 502 || status === 503 || status === 504
}

/** A fault that may pass if the same call is made again. */
export function isTransientError(e: unknown): boolean {
  return (e instanceof OctoplantError || e instanceof NetworkError) && e.transient
}

export interface Transport {
  /** Sends a request and parses its JSON answer; throws OctoplantError for an error status. */
  json<T>(options: SendOptions): Promise<T>
  /** Sends a request and hands over the body stream of a 2xx answer. */
  stream(options: SendOptions): Promise<{ body: Readable; contentLength?: number }>
  close(): void
}

export function createTransport(options: TransportOptions): Transport {
  return new HttpTransport(options)
}

class HttpTransport implements Transport {
  private readonly http: HttpClient
  private readonly clock: Clock
  /** The server has answered once: a later reset is a fault, not a protocol mistake. */
  private answered = false

  constructor(private readonly options: TransportOptions) {
    this.http = new HttpClient('octoplant-export-action', [bareIpv6Host], {
      ignoreSslError: options.ignoreTlsErrors ?? false,
      socketTimeout: SOCKET_TIMEOUT_MS,
      allowRetries: false,
      allowRedirects: false,
      keepAlive: true
    })
    this.clock = options.clock ?? systemClock
  }

  json<T>(o: SendOptions): Promise<T> {
    return this.retrying(o, async signal => {
      const res = await this.sendOnce(o, signal)
      const text = await readBounded(res, MAX_JSON_BYTES, signal)
      if (!isSuccess(res.statusCode)) throw decodeError(res, text, o)
      try {
        return JSON.parse(text) as T
      } catch {
        throw new OctoplantError(
          `${o.method} ${o.path} answered HTTP ${res.statusCode} with ${describeNonJson(res, text)} instead of JSON; is ${setting('server-url')} the octoplant API (port 64023)?`,
          res.statusCode ?? 0,
          undefined,
          true
        )
      }
    })
  }

  stream(o: SendOptions): Promise<{ body: IncomingMessage; contentLength?: number }> {
    return this.retrying(o, async signal => {
      const res = await this.sendOnce(o, signal)
      if (!isSuccess(res.statusCode)) {
        const text = await readBounded(res, MAX_JSON_BYTES, signal).catch(() => '')
        throw decodeError(res, text, o)
      }
      const length = Number(res.headers['content-length'])
      return { body: res, contentLength: Number.isSafeInteger(length) ? length : undefined }
    })
  }

  close(): void {
    this.http.dispose()
  }

  private async sendOnce(o: SendOptions, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    signal?.throwIfAborted()
    const headers: OutgoingHttpHeaders = { accept: 'application/json' }
    if (o.token) headers.authorization = `Bearer ${o.token}`
    let body: string | null = null
    if (o.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded'
      body = new URLSearchParams(o.form).toString()
    } else if (o.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(o.json)
    }
    const url = this.options.baseUrl + o.path
    try {
      const res = await abortable(this.http.request(o.method, url, body, headers), signal)
      this.answered = true
      return res.message
    } catch (e) {
      if (signal?.aborted) throw abortReason(signal)
      throw await this.unanswered(e as NodeJS.ErrnoException, url)
    }
  }

  /** A request that got no answer, in words. A TLS port hangs up on plain HTTP: that is said, rather
   *  than retrying a reset that will recur. */
  private async unanswered(e: NodeJS.ErrnoException, url: string): Promise<NetworkError> {
    const described = describeNetworkError(e, url)
    if (!this.answered && described.code === 'ECONNRESET' && url.startsWith('http:') && (await speaksTls(new URL(url)))) {
      return new NetworkError(`${setting('server-url')} says http:// but ${new URL(url).host} speaks TLS: use https:// there [${described.message}]`, 'ECONNRESET', false, false)
    }
    return described
  }

  /** Runs one call, again after a transient fault, as the policy allows. */
  private retrying<T>(o: SendOptions, call: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const { options } = this
    const idempotent = o.idempotent ?? o.method === 'GET'
    const known = (raw: unknown) =>
      raw instanceof OctoplantError || raw instanceof NetworkError ? raw : describeNetworkError(raw as NodeJS.ErrnoException, options.baseUrl)
    return withRetries(() => call(o.signal).catch((raw: unknown) => Promise.reject(known(raw))), {
      clock: this.clock,
      deadline: options.deadline,
      signal: o.signal,
      attempts: o.attempts,
      random: options.random,
      retryAfter: e => (mayRetry(e as OctoplantError | NetworkError, idempotent) ? { atLeastMs: e instanceof OctoplantError ? (e.retryAfterMs ?? 0) : 0 } : undefined),
      onRetry: (e, attempt, attempts, delay) =>
        options.logger?.info(`${(e as Error).message}; retrying in ${(delay / 1000).toFixed(1)}s (attempt ${attempt + 1} of ${attempts})`),
      giveUp: (e, why) => withNote(e as OctoplantError, why.reason === 'attempts' ? `gave up after ${why.attempt} attempts` : 'no time left to retry before the timeout')
    })
  }
}

/** URL.hostname keeps an IPv6 literal's brackets ("[::1]"), and http-client hands it on as the
 *  socket's host, which then does not resolve: its request handler hook takes them off. */
const bareIpv6Host = {
  prepareRequest(options: { host?: string | null }) {
    if (options.host?.startsWith('[') && options.host.endsWith(']')) options.host = options.host.slice(1, -1)
  },
  canHandleAuthentication: () => false,
  handleAuthentication: () => Promise.reject(new Error('not used'))
}

function mayRetry(e: OctoplantError | NetworkError, idempotent: boolean): boolean {
  if (!e.transient) return false
  if (idempotent) return true
  // Not idempotent: only when the server cannot have acted on it.
  return e instanceof NetworkError ? !e.maybeSent : e.httpStatus === 429
}

function withNote<E extends OctoplantError | NetworkError>(e: E, note: string): E {
  e.message = `${e.message} (${note})`
  return e
}

function isSuccess(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300
}

async function readBounded(res: IncomingMessage, limit: number, signal?: AbortSignal): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  const read = (async () => {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length
      if (size > limit) {
        res.destroy()
        throw new OctoplantError(`the server's answer exceeds ${limit} bytes, more than any API answer should be`, res.statusCode ?? 0)
      }
      chunks.push(chunk)
    }
    return Buffer.concat(chunks).toString('utf8')
  })()
  return abortable(read, signal)
}

/** Turns an error answer into one line: the gRPC code's name and the server's message. */
function decodeError(res: IncomingMessage, text: string, o: Pick<SendOptions, 'method' | 'path'>): OctoplantError {
  const status = res.statusCode ?? 0
  const where = `${o.method} ${o.path}`
  const wait = retryAfterMs(res.headers['retry-after'])
  const transient = isTransientStatus(status)
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return new OctoplantError(`${where} failed: HTTP ${status} with ${describeNonJson(res, text)}`, status, undefined, transient, wait)
  }
  const s = rpcStatusOf(parsed)
  if (s && (s.code !== undefined || s.message)) {
    const name = s.code !== undefined ? `${grpcCodeName(s.code)} (HTTP ${status})` : `HTTP ${status}`
    return new OctoplantError(`${where} failed: ${name}: ${s.message ? untrusted(s.message) : '(no message)'}`, status, s.code, transient, wait)
  }
  return new OctoplantError(`${where} failed: HTTP ${status}: ${untrusted(text, 200)}`, status, undefined, transient, wait)
}

/** google.rpc.Status at the top level, or nested under "error" (streamed answers, older gateways),
 *  or an OAuth2 error ({"error": "invalid_grant", "error_description": …}, RFC 6749 §5.2). */
export function rpcStatusOf(value: unknown): RpcStatus | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  if (typeof v.error === 'object' && v.error !== null) return rpcStatusOf(v.error)
  const code = typeof v.code === 'number' ? v.code : undefined
  const oauth2 =
    typeof v.error === 'string' ? (typeof v.error_description === 'string' && v.error_description ? `${v.error}: ${v.error_description}` : v.error) : undefined
  const message = typeof v.message === 'string' && v.message ? v.message : oauth2
  return code === undefined && message === undefined ? undefined : { code, message }
}

function describeNonJson(res: IncomingMessage, text: string): string {
  const type = String(res.headers['content-type'] ?? 'no content type').split(';')[0]
  if (/<html|<!doctype/i.test(text)) {
    const title = /<title[^>]*>([^<]{0,120})/i.exec(text)?.[1]?.trim()
    return `an HTML page${title ? ` ("${untrusted(title, 120)}")` : ''} (${untrusted(type, 80)}), likely from a proxy or web server in front of octoplant`
  }
  return text.trim() === '' ? `an empty body (${untrusted(type, 80)})` : `${untrusted(type, 80)}: "${untrusted(text.replace(/\s+/g, ' '), 80)}"`
}

const TLS_HINTS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server presents a self-signed certificate (octoplant\'s default)',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server\'s certificate chain ends in a CA that is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server\'s certificate is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the server\'s certificate is signed by an unknown CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the server\'s certificate is signed by an unknown CA',
  CERT_HAS_EXPIRED: 'the server\'s certificate has expired',
  CERT_NOT_YET_VALID: 'the server\'s certificate is not valid yet (check the clocks)',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server\'s certificate does not name this host'
}

/** Does a TLS handshake succeed at this host and port (certificate not checked)? */
function speaksTls(url: URL): Promise<boolean> {
  return new Promise(resolve => {
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
    const socket = tls.connect({ host, port: Number(url.port || 80), rejectUnauthorized: false, servername: isIP(host) ? undefined : host })
    const done = (yes: boolean) => {
      socket.destroy()
      resolve(yes)
    }
    socket.setTimeout(3000, () => done(false))
    socket.once('secureConnect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** Failures that happen before a request is written: the server cannot have acted on it. */
const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET'])

function describeNetworkError(e: NodeJS.ErrnoException, url: string): NetworkError {
  // @actions/http-client reports its socket timeout without a code.
  const code = e.code ?? (/^Request timeout/.test(e.message) ? 'ETIMEDOUT' : /aborted|socket hang up/i.test(e.message) ? 'ECONNRESET' : undefined)
  const host = new URL(url).host
  const hint = code ? TLS_HINTS[code] : undefined
  if (/wrong version number/i.test(e.message) || code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    return new NetworkError(
      `${setting('server-url')} says https:// but ${host} answers in plain HTTP, not TLS: use the octoplant API's TLS port (64023 by default) or, if this server really has no TLS, http:// (with ${setting('allow-insecure-http', 'true')} beyond loopback) [${e.message.trim()}]`,
      code,
      false,
      false
    )
  }
  if (hint) {
    const fix =
      code === 'ERR_TLS_CERT_ALTNAME_INVALID'
        ? `use the host name the certificate was issued for in ${setting('server-url')}`
        : code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID'
          ? `renew the server certificate (${setting('insecure-skip-tls-verify', 'true')} only as a stopgap)`
          : `trust the plant's CA with ${setting('ca-certificate')} (PEM text or file), or as a last resort ${setting('insecure-skip-tls-verify', 'true')}`
    return new NetworkError(`TLS check of ${host} failed: ${hint} [${code}]; ${fix}`, code, false, false)
  }
  const what: Record<string, string> = {
    ECONNREFUSED: 'the connection was refused (is the octoplant API service running and the port right?)',
    ENOTFOUND: 'the host name does not resolve',
    EAI_AGAIN: 'the host name could not be resolved (DNS)',
    ECONNRESET: 'the connection was reset',
    ETIMEDOUT: 'the connection timed out',
    EHOSTUNREACH: 'the host is unreachable',
    ENETUNREACH: 'the network is unreachable'
  }
  const text = (code && what[code]) || e.message || String(e)
  const maybeSent = !(code && NOT_SENT.has(code))
  return new NetworkError(`could not reach ${host}: ${text}${code && what[code] ? ` [${code}]` : ''}`, code, maybeSent, !!code && TRANSIENT.has(code))
}
