// A simulator of the octoplant Export API, faithful to what is known of the server (the README's
// "not known" list says where it guesses) and the
// Swagger spec (spec/): grpc-gateway error bodies and statuses, the password grant with the
// published client, orders moving PENDING → RUNNING → SUCCEEDED/FAILED over time with ExportState
// metadata (int64 counters as strings), cancel, the status calls, and a streamed ZIP download.
// Unknown exportContents keys are ignored silently, as the gateway does. It shares only protocol
// names with the action.
//
// Defaults follow stock grpc-gateway (runtime/handler.go, marshal_jsonpb.go): every field written
// (EmitUnpopulated: `"error": null`, `"currentSubProcess": ""`), the download chunked with no
// Content-Length and the stream delimiter "\n" after each HttpBody message (the whole ZIP is one
// message unless messageBytes says otherwise), an error after the 200 header written as
// `{"error": {…}}` + delimiter, 501 UNIMPLEMENTED for a wrong method, 404 for an unknown path.
// Where the evidence leaves a behaviour open, an option produces each form it allows.
//
// Fault injection: `intercept(fn)` lets a test take over any request before the simulator answers.
import { randomBytes, randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { sendAsLink } from './link.js'
import { paced } from './pace.js'
import { stat } from 'node:fs/promises'
import * as http from 'node:http'
import * as https from 'node:https'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { EXPORT_KINDS, type OptionType } from '../protocol/export-schema.js'
import {
  GrpcCode,
  HTTP_STATUS_OF_GRPC_CODE,
  type Operation,
  type OrderState,
  PUBLIC_CLIENT_ID,
  PUBLIC_CLIENT_SECRET
} from '../protocol/protocol.js'
import { type ServerCertificate, createCertificateAuthority, issueServerCertificate } from './certs.js'
import { exportZip } from './export-zip.js'
import type { SimulatedJob } from './job-results.js'

export interface SimulatorOptions {
  /** user → password. Default: the vendor sample's versiondog / change-it. */
  users?: Record<string, string>
  /** 'https' with a CA of its own (default), or plain 'http'. */
  protocol?: 'https' | 'http'
  /** A certificate to serve instead of a fresh one (wrong name, expired, self-signed tests). */
  certificate?: ServerCertificate
  /** Time an order waits for resources, then runs. */
  pendingMs?: number
  runningMs?: number
  /** Sub-processes an order goes through while running. */
  subProcesses?: number
  /** Every order fails at the end of its run with this status. */
  failWith?: { code: number; message: string }
  /** Extra bytes in each export (a payload.bin entry). */
  payloadBytes?: number
  /** Deflate the entries (default) or store them. */
  compress?: boolean
  /** How the download is framed: 'gateway' (default: chunked, `delimiter` after each message, stream
   *  errors as {"error": …}) or 'content-length' (one plain body with its length, as a proxy that
   *  buffers might send it). */
  downloadFraming?: 'gateway' | 'content-length'
  /** The marshaler's stream delimiter: "\n" in stock grpc-gateway; '' where a server overrides it. */
  delimiter?: string
  /** Bytes per HttpBody message of the download stream (default: the whole ZIP in one message). */
  messageBytes?: number
  /** Write every field as protobuf JSON does by default (EmitUnpopulated), or only the set ones. */
  emitUnpopulated?: boolean
  /** The token answer: RFC 6749 fields (default), or only access_token as the vendor's client reads. */
  tokenAnswer?: 'rfc6749' | 'access-token-only'
  /** Token errors as a google.rpc.Status (default) or in OAuth2 form ({error, error_description}). */
  tokenErrors?: 'grpc' | 'oauth2'
  /** GET /v1/status/api_version and versiondog_version; null: not there (an older server, 404). */
  apiVersion?: string | null
  versiondogVersion?: string | null
  /** Users who may export but not read the status calls (403 PERMISSION_DENIED). */
  statusDeniedTo?: string[]
  /** expires_in of tokens, seconds; tokens really expire after it. */
  tokenLifetimeSec?: number
  issueRefreshTokens?: boolean
  /** What a poll of an unknown order answers: STATE_UNSPECIFIED (as the vendor documents) or 404. */
  unknownOrder?: 'unspecified' | 'not-found'
  /** Maintenance mode. Exports still run in it (reads work in maintenance mode) unless
   *  `refusesExports`, which models a server that refuses new orders with FAILED_PRECONDITION. */
  maintenance?: {
    active: boolean
    /** One of the spec's MaintenanceReason values. */
    reason?: 'UNSPECIFIED' | 'PLAIN' | 'ARCHIVE_MANAGER' | 'SERVER_SYNC' | 'PARALLELSERVER_LOSS' | 'DISK_LOW'
    activatedAt?: string
    /** The uuid of the user who switched it on. */
    activatedBy?: string
    computerName?: string
    refusesExports?: boolean
  }
  /** Port on the loopback address; 0 (default) picks a free one. */
  port?: number
  /** The loopback address to listen on: IPv4 (default) or IPv6 ('::1', in the URL as [::1]). */
  host?: '127.0.0.1' | '::1'

  /** A token stops working after this many uses (tokens that expire during a long poll). */
  tokenMaxUses?: number
  /** User access tokens made in the AdminClient: token → its user, and whether it still works. */
  accessTokens?: Record<string, { user: string; state?: 'valid' | 'expired' | 'revoked' }>
  /** POST /v1/authentication/authenticate_token and refresh_token: 'present' (default; export routes
   *  then take only the session token), or 'absent' (an older server: 404, and the export routes
   *  take the access token itself as Bearer). */
  tokenExchange?: 'present' | 'absent'
  /** Serve this ZIP file for every download instead of generating one (the benchmark's big exports). */
  exportFile?: string
  /** The download's body at most this fast (a 1 Gbit/s link: 125_000_000), as a plant network is,
   *  slowed by the reader's back-pressure. */
  paceBytesPerSecond?: number
  /** The download of `exportFile` sent as a link of this speed sends it: 256 KiB whenever due, not
   *  waiting for the reader (simulator/link.ts). */
  linkBytesPerSecond?: number
  /** The jobs the job results exports list (default: simulator/job-results.ts DEFAULT_JOBS). */
  jobs?: SimulatedJob[]
  /** The project tree changes between orders: the n-th order exports revision n (a file added, one
   *  removed, one changed against revision 0). Otherwise every order exports revision 0. */
  changingTree?: boolean
}

export interface LoggedRequest {
  method: string
  path: string
  status: number
  at: number
}

export interface SimulatedOrder {
  name: string
  createdAt: number
  exportContents: Record<string, Record<string, unknown>>
  cancelledAt?: number
  downloads: number
  /** The project tree's revision this order exports. */
  treeRevision: number
}

export interface InterceptContext {
  /** The order the path names, when the simulator knows it. */
  order?: SimulatedOrder
  /** The export ZIP of an order, as the download would stream it. */
  zipOf(order: SimulatedOrder): { stream: NodeJS.ReadableStream; size: Promise<number | undefined> }
  /** Sends these bytes as the simulator frames a download (see downloadFraming), then an optional
   *  stream error; `cutAfter` drops the connection after that many bytes of the body. */
  sendDownload(res: http.ServerResponse, bytes: Buffer, o?: { streamError?: { code: number; message: string }; cutAfter?: number }): void
}

/** Takes over a request when it returns true (fault injection; see faults.ts). */
export type Interceptor = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  route: string,
  context: InterceptContext
) => boolean | Promise<boolean>

export interface Simulator {
  url: string
  /** PEM of the CA that signed the server's certificate (https only). */
  caPem?: string
  options: SimulatorOptions
  requests: LoggedRequest[]
  orders: Map<string, SimulatedOrder>
  /** Every access and refresh token handed out (tests check none leaks). */
  issuedTokens: string[]
  intercept(fn: Interceptor): void
  /** Counts requests by route, e.g. count('GET /v1/order/{name}'). */
  count(route: string): number
  /** Every route asked for, with its count, in order of first use: "POST /v1/order ×1, …". */
  countsText(): string
  stop(): Promise<void>
}

const DEFAULT_USERS: Record<string, string> = { versiondog: 'change-it' }
const SYSTEM_ID = 'SIM-0001'
const LICENSE = 'SIM-LICENSE-42'
const SUBPROCESS_NAMES = ['Collect components', 'Read archive', 'Write export files', 'Pack ZIP']
/** An ExportState with every field unset, as protojson writes it with EmitUnpopulated. */
const EMPTY_STATE = { name: '', systemId: '', licenseSerialNumber: '', currentSubProcess: '', finishedSubProcesses: '0', openSubProcesses: '0' }

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const o = {
    pendingMs: 300,
    runningMs: 1000,
    subProcesses: 4,
    compress: true,
    downloadFraming: 'gateway',
    delimiter: '\n',
    messageBytes: Infinity,
    emitUnpopulated: true,
    tokenAnswer: 'rfc6749',
    tokenErrors: 'grpc',
    apiVersion: '1.2.0-release-5-c845dda7',
    versiondogVersion: '10.1.0-acf932ab',
    tokenLifetimeSec: 3600,
    unknownOrder: 'unspecified',
    accessTokens: {},
    tokenExchange: 'present',
    ...options
  } as const
  const users = options.users ?? DEFAULT_USERS
  const tokens = new Map<string, { user: string; expiresAt: number; uses: number }>()
  const refreshTokens = new Map<string, string>()
  const orders = new Map<string, SimulatedOrder>()
  const requests: LoggedRequest[] = []
  const interceptors: Interceptor[] = []
  const issuedTokens: string[] = []

  const stateOf = (order: SimulatedOrder, now = Date.now()): { state: OrderState; finished: number; current?: string } => {
    const age = (order.cancelledAt ?? now) - order.createdAt
    const progress = Math.min(o.subProcesses, Math.max(0, Math.floor(((age - o.pendingMs) / Math.max(1, o.runningMs)) * o.subProcesses)))
    const at = SUBPROCESS_NAMES[progress % SUBPROCESS_NAMES.length]
    // currentSubProcess is "returned on states RUNNING and ERROR" (the spec).
    if (order.cancelledAt !== undefined) return { state: 'STATE_FAILED', finished: progress, current: at }
    if (age < o.pendingMs) return { state: 'STATE_PENDING', finished: 0 }
    if (age < o.pendingMs + o.runningMs) {
      const finished = Math.min(o.subProcesses - 1, progress)
      return { state: 'STATE_RUNNING', finished, current: SUBPROCESS_NAMES[finished % SUBPROCESS_NAMES.length] }
    }
    if (o.failWith) return { state: 'STATE_FAILED', finished: o.subProcesses - 1, current: SUBPROCESS_NAMES[(o.subProcesses - 1) % SUBPROCESS_NAMES.length] }
    return { state: 'STATE_SUCCEEDED', finished: o.subProcesses }
  }

  const operationOf = (order: SimulatedOrder): Operation => {
    const { state, finished, current } = stateOf(order)
    const done = state === 'STATE_SUCCEEDED' || state === 'STATE_FAILED'
    const op: Operation = {
      name: order.name,
      metadata: {
        name: order.name,
        systemId: SYSTEM_ID,
        licenseSerialNumber: LICENSE,
        state,
        currentSubProcess: current ?? '',
        finishedSubProcesses: String(finished),
        openSubProcesses: String(o.subProcesses - finished)
      },
      done,
      error: null,
      response: null
    }
    if (state === 'STATE_FAILED') {
      op.error = order.cancelledAt !== undefined ? { code: GrpcCode.CANCELLED, message: 'the export was cancelled', details: [] } : { ...o.failWith!, details: [] }
    } else if (state === 'STATE_SUCCEEDED') {
      op.response = { name: order.name }
    }
    return protoJson(op)
  }

  /** As protojson writes a message: every field with EmitUnpopulated (the gateway's default), else
   *  only the set ones (no empty strings, zero counters, false or null). */
  function protoJson<T>(value: T): T {
    if (o.emitUnpopulated) return value
    return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (v === null || v === '' || v === '0' || v === false ? undefined : v))) as T
  }

  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://simulator')
    // A server without the token exchange does not route its paths: the gateway answers 404.
    const route = o.tokenExchange === 'absent' && EXCHANGE_PATHS.has(url.pathname) ? 'unknown' : routeOf(req.method ?? 'GET', url.pathname)
    res.on('finish', () => requests.push({ method: req.method ?? '', path: url.pathname, status: res.statusCode, at: Date.now() }))
    res.on('close', () => {
      if (!res.writableFinished) requests.push({ method: req.method ?? '', path: url.pathname, status: -1, at: Date.now() })
    })
    try {
      const name = decodeURIComponent(url.pathname.split('/')[3] ?? '')
      const order = orders.get(name)
      const context: InterceptContext = { order, zipOf, sendDownload }
      for (const fn of interceptors) if (await fn(req, res, route, context)) return
      const body = await readBody(req)
      // grpc-gateway's routing: an unknown path is 404 NOT_FOUND, a known path with another method
      // 501 UNIMPLEMENTED ("Method Not Allowed"), before any handler runs.
      if (route === 'unknown') return sendStatus(res, GrpcCode.NOT_FOUND, 'Not Found')
      if (!ROUTES.includes(route)) return sendStatus(res, GrpcCode.UNIMPLEMENTED, 'Method Not Allowed')
      if (route === 'POST /v1/oauth2/token') return token(body, req, res)
      if (route === 'POST /v1/authentication/authenticate_token') return exchangeAccessToken(body, res)
      if (route === 'POST /v1/authentication/refresh_token') return refreshSession(body, res)
      if (route === 'GET /v1/status/api_version' && o.apiVersion === null) return sendStatus(res, GrpcCode.NOT_FOUND, 'Not Found')
      if (route === 'GET /v1/status/versiondog_version' && o.versiondogVersion === null) return sendStatus(res, GrpcCode.NOT_FOUND, 'Not Found')
      const user = authenticated(req)
      if (!user) return sendError(res, route, GrpcCode.UNAUTHENTICATED, 'invalid or expired access token')
      if (route.startsWith('GET /v1/status/') && o.statusDeniedTo?.includes(user)) {
        return sendStatus(res, GrpcCode.PERMISSION_DENIED, `user ${user} lacks the right to read the server status`)
      }
      switch (route) {
        case 'GET /v1/status/maintenance_mode':
          return sendJson(res, 200, maintenanceMode())
        case 'GET /v1/status/api_version':
          return sendJson(res, 200, { version: o.apiVersion })
        case 'GET /v1/status/versiondog_version':
          return sendJson(res, 200, { version: o.versiondogVersion })
        case 'POST /v1/order':
          if (o.maintenance?.active && o.maintenance.refusesExports) {
            return sendStatus(res, GrpcCode.FAILED_PRECONDITION, 'the server is in maintenance mode')
          }
          return placeOrder(body, res)
        case 'GET /v1/order/{name}':
          if (!order) {
            return o.unknownOrder === 'not-found'
              ? sendStatus(res, GrpcCode.NOT_FOUND, `order ${name} not found`)
              : sendJson(res, 200, protoJson({ name, metadata: { ...EMPTY_STATE, state: 'STATE_UNSPECIFIED' }, done: false, error: null, response: null }))
          }
          return sendJson(res, 200, operationOf(order))
        case 'POST /v1/order/{name}/cancel':
          if (!order) return sendStatus(res, GrpcCode.NOT_FOUND, `order ${name} not found`)
          // Cancelling a finished order changes nothing (what the real server does then is not documented).
          if (!['STATE_SUCCEEDED', 'STATE_FAILED'].includes(stateOf(order).state)) order.cancelledAt ??= Date.now()
          return sendJson(res, 200, {})
        case 'GET /v1/order/{name}/download':
          if (!order) return sendError(res, route, GrpcCode.NOT_FOUND, `order ${name} not found`)
          if (stateOf(order).state !== 'STATE_SUCCEEDED') {
            return sendError(res, route, GrpcCode.FAILED_PRECONDITION, `order ${name} is ${stateOf(order).state}; only a succeeded export can be downloaded`)
          }
          return download(order, res)
      }
    } catch (e) {
      if (!res.headersSent) sendStatus(res, GrpcCode.INTERNAL, (e as Error).message)
      else res.destroy()
    }
  }

  function token(body: string, req: http.IncomingMessage, res: http.ServerResponse) {
    /** A token error as a google.rpc.Status, or as RFC 6749 §5.2 has it (400, or 401 for the client). */
    const refuse = (code: number, oauth2: string, message: string) =>
      o.tokenErrors === 'oauth2'
        ? sendJson(res, oauth2 === 'invalid_client' ? 401 : 400, { error: oauth2, error_description: message })
        : sendStatus(res, code, message)
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      return refuse(GrpcCode.INVALID_ARGUMENT, 'invalid_request', 'expected an application/x-www-form-urlencoded body')
    }
    const form = new URLSearchParams(body)
    if (form.get('client_id') !== PUBLIC_CLIENT_ID || form.get('client_secret') !== PUBLIC_CLIENT_SECRET) {
      return refuse(GrpcCode.UNAUTHENTICATED, 'invalid_client', 'invalid client')
    }
    let user: string | undefined
    if (form.get('grant_type') === 'password') {
      const u = form.get('username') ?? ''
      if (!(u in users) || users[u] !== form.get('password')) return refuse(GrpcCode.UNAUTHENTICATED, 'invalid_grant', 'invalid username or password')
      user = u
    } else if (form.get('grant_type') === 'refresh_token' && o.issueRefreshTokens) {
      user = refreshTokens.get(form.get('refresh_token') ?? '')
      if (!user) return refuse(GrpcCode.UNAUTHENTICATED, 'invalid_grant', 'invalid refresh token')
    } else {
      return refuse(GrpcCode.INVALID_ARGUMENT, 'unsupported_grant_type', `unsupported grant_type "${form.get('grant_type')}"`)
    }
    const access = randomBytes(24).toString('base64url')
    issuedTokens.push(access)
    tokens.set(access, { user, expiresAt: Date.now() + o.tokenLifetimeSec * 1000, uses: 0 })
    const answer: Record<string, unknown> =
      o.tokenAnswer === 'access-token-only' ? { access_token: access } : { access_token: access, token_type: 'Bearer', expires_in: o.tokenLifetimeSec }
    if (o.issueRefreshTokens) {
      const refresh = randomBytes(24).toString('base64url')
      issuedTokens.push(refresh)
      refreshTokens.set(refresh, user)
      answer.refresh_token = refresh
    }
    return sendJson(res, 200, answer)
  }

  /** A token issued for `user`, kept for authenticated(); with a refresh token when asked. */
  function session(user: string, withRefresh: boolean): { token: string; refreshToken?: string } {
    const token = randomBytes(24).toString('base64url')
    issuedTokens.push(token)
    tokens.set(token, { user, expiresAt: Date.now() + o.tokenLifetimeSec * 1000, uses: 0 })
    if (!withRefresh) return { token }
    const refreshToken = randomBytes(24).toString('base64url')
    issuedTokens.push(refreshToken)
    refreshTokens.set(refreshToken, user)
    return { token, refreshToken }
  }

  /** The body of the token routes: a bare JSON string (the spec's body parameter of type string). */
  function bareString(body: string): string | undefined {
    try {
      const value: unknown = JSON.parse(body)
      return typeof value === 'string' ? value : undefined
    } catch {
      return undefined
    }
  }

  function exchangeAccessToken(body: string, res: http.ServerResponse) {
    const given = bareString(body)
    if (given === undefined) return sendStatus(res, GrpcCode.INVALID_ARGUMENT, 'invalid character in the body: expected a JSON string')
    const known = o.accessTokens[given]
    if (!known) return sendStatus(res, GrpcCode.UNAUTHENTICATED, 'invalid access token')
    if (known.state === 'expired') return sendStatus(res, GrpcCode.UNAUTHENTICATED, 'the access token has expired')
    if (known.state === 'revoked') return sendStatus(res, GrpcCode.UNAUTHENTICATED, 'the access token was revoked')
    const { token, refreshToken } = session(known.user, true)
    return sendJson(res, 200, { token, userId: { id: { data: SIM_USER_ID } }, refreshToken })
  }

  function refreshSession(body: string, res: http.ServerResponse) {
    const given = bareString(body)
    const user = given === undefined ? undefined : refreshTokens.get(given)
    if (!user) return sendStatus(res, GrpcCode.UNAUTHENTICATED, 'invalid refresh token')
    return sendJson(res, 200, session(user, true))
  }

  function authenticated(req: http.IncomingMessage): string | undefined {
    const m = /^Bearer (.+)$/i.exec(String(req.headers.authorization ?? ''))
    // An older server without the exchange takes the AdminClient's access token itself.
    const direct = m && o.tokenExchange === 'absent' ? o.accessTokens[m[1]] : undefined
    if (direct) return direct.state === undefined || direct.state === 'valid' ? direct.user : undefined
    const t = m && tokens.get(m[1])
    if (!t || t.expiresAt <= Date.now()) return undefined
    if (o.tokenMaxUses !== undefined && ++t.uses > o.tokenMaxUses) return undefined
    return t.user
  }

  function placeOrder(body: string, res: http.ServerResponse) {
    let request: unknown
    try {
      request = JSON.parse(body)
    } catch (e) {
      return sendStatus(res, GrpcCode.INVALID_ARGUMENT, `proto: syntax error: ${(e as Error).message}`)
    }
    const contents = (request as { exportContents?: unknown })?.exportContents
    if (typeof contents !== 'object' || contents === null || Array.isArray(contents)) {
      return sendStatus(res, GrpcCode.INVALID_ARGUMENT, 'exportContents is required')
    }
    const problem = protojsonProblem(contents as Record<string, unknown>)
    if (problem) return sendStatus(res, GrpcCode.INVALID_ARGUMENT, problem)
    // Like grpc-gateway (DiscardUnknown), keys the schema does not know are dropped without a word.
    const known = Object.fromEntries(
      Object.entries(contents as Record<string, Record<string, unknown>>).filter(([k]) => k in EXPORT_KINDS)
    )
    const treeRevision = o.changingTree ? orders.size : 0
    const order: SimulatedOrder = { name: randomUUID(), createdAt: Date.now(), exportContents: known, downloads: 0, treeRevision }
    orders.set(order.name, order)
    return sendJson(res, 200, operationOf(order))
  }

  function zipOf(order: SimulatedOrder): { stream: NodeJS.ReadableStream; size: Promise<number | undefined> } {
    const zip = o.exportFile
      ? { stream: createReadStream(o.exportFile, { highWaterMark: 1024 * 1024 }), size: stat(o.exportFile).then(s => s.size) }
      : exportZip({
          orderName: order.name,
          createdAt: new Date(order.createdAt),
          exportContents: order.exportContents,
          payloadBytes: o.payloadBytes,
          compress: o.compress,
          jobs: o.jobs,
          treeRevision: order.treeRevision
        })
    return o.paceBytesPerSecond ? { stream: zip.stream.pipe(paced(o.paceBytesPerSecond)), size: zip.size } : zip
  }

  function maintenanceMode() {
    const m = o.maintenance
    if (!m?.active) return protoJson({ active: false, activatedAt: null, activatedBy: null, computerName: '', reason: 'UNSPECIFIED' })
    return protoJson({
      active: true,
      activatedAt: m.activatedAt ?? new Date().toISOString(),
      activatedBy: m.activatedBy ? { id: { data: m.activatedBy } } : null,
      computerName: m.computerName ?? '',
      reason: m.reason ?? 'UNSPECIFIED'
    })
  }

  /** An error of a route: the download is a server stream, whose errors the gateway writes as
   *  {"error": …} + delimiter (with the code's HTTP status, as nothing was sent yet). */
  function sendError(res: http.ServerResponse, route: string, code: number, message: string) {
    if (route !== 'GET /v1/order/{name}/download' || o.downloadFraming !== 'gateway') return sendStatus(res, code, message)
    res.writeHead(HTTP_STATUS_OF_GRPC_CODE[code] ?? 500, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
    res.end(JSON.stringify({ error: { code, message, details: [] } }) + o.delimiter)
  }

  function download(order: SimulatedOrder, res: http.ServerResponse) {
    order.downloads++
    if (o.linkBytesPerSecond && o.exportFile) return void sendAsLink(res, o.exportFile, o.linkBytesPerSecond, o.delimiter).catch(() => res.destroy())
    const zip = zipOf(order)
    if (o.downloadFraming === 'content-length') {
      void zip.size.then(async size => {
        if (size === undefined) return sendDownload(res, await streamBuffer(zip.stream))
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': size })
        zip.stream.pipe(res)
      })
      return
    }
    if (o.messageBytes !== Infinity) return void streamBuffer(zip.stream).then(bytes => sendDownload(res, bytes))
    // Stock grpc-gateway: chunked, the HttpBody message (here the whole ZIP) followed by the delimiter.
    res.writeHead(200, { 'content-type': 'application/zip', 'transfer-encoding': 'chunked' })
    zip.stream.on('end', () => res.end(o.delimiter))
    zip.stream.pipe(res, { end: false })
  }

  function sendDownload(res: http.ServerResponse, bytes: Buffer, f: { streamError?: { code: number; message: string }; cutAfter?: number } = {}) {
    let body: Buffer
    if (o.downloadFraming === 'content-length') {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': bytes.length })
      body = bytes
    } else {
      res.writeHead(200, { 'content-type': 'application/zip', 'transfer-encoding': 'chunked' })
      const parts: Buffer[] = []
      const step = o.messageBytes === Infinity ? Math.max(1, bytes.length) : o.messageBytes
      for (let at = 0; at < bytes.length; at += step) parts.push(bytes.subarray(at, at + step), Buffer.from(o.delimiter))
      if (f.streamError) parts.push(Buffer.from(JSON.stringify({ error: { ...f.streamError, details: [] } }) + o.delimiter))
      body = Buffer.concat(parts)
    }
    if (f.cutAfter !== undefined) {
      res.write(body.subarray(0, f.cutAfter), () => res.socket?.destroy())
      return
    }
    res.end(body)
  }

  const protocol = options.protocol ?? 'https'
  const certificate =
    protocol === 'https' ? (options.certificate ?? (await issueServerCertificate(await createCertificateAuthority()))) : undefined
  const server = certificate
    ? https.createServer({ cert: certificate.certPem, key: certificate.keyPem }, handler)
    : http.createServer(handler)
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>(resolve => server.listen(options.port ?? 0, host, resolve))
  const port = (server.address() as AddressInfo).port

  return {
    url: `${protocol}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    caPem: certificate?.caPem,
    options: o,
    requests,
    orders,
    issuedTokens,
    intercept: fn => void interceptors.push(fn),
    count: route => requests.filter(r => routeOf(r.method, r.path) === route).length,
    countsText: () => {
      const counts = new Map<string, number>()
      for (const r of requests) counts.set(routeOf(r.method, r.path), (counts.get(routeOf(r.method, r.path)) ?? 0) + 1)
      return [...counts].map(([route, n]) => `${route} ×${n}`).join(', ')
    },
    stop: () =>
      new Promise<void>(resolve => {
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}

/** The routes of the spec's subset that the simulator serves. */
const ROUTES = [
  'POST /v1/oauth2/token',
  'POST /v1/authentication/authenticate_token',
  'POST /v1/authentication/refresh_token',
  'POST /v1/order',
  'GET /v1/order/{name}',
  'POST /v1/order/{name}/cancel',
  'GET /v1/order/{name}/download',
  'GET /v1/status/maintenance_mode',
  'GET /v1/status/api_version',
  'GET /v1/status/versiondog_version'
]
const PATHS = new Set(ROUTES.map(r => r.split(' ')[1]))
const EXCHANGE_PATHS = new Set(['/v1/authentication/authenticate_token', '/v1/authentication/refresh_token'])
const SIM_USER_ID = '6a1f0c3e-0000-4000-8000-00000000c1c1'

/** "GET /v1/order/{name}/download" for "GET /v1/order/abc/download"; 'unknown' for a path the API
 *  does not have (a known path with another method keeps its name: the gateway answers it 501). */
export function routeOf(method: string, pathname: string): string {
  const p = pathname.replace(/^\/v1\/order\/[^/]+/, '/v1/order/{name}')
  return PATHS.has(p) ? `${method} ${p}` : 'unknown'
}

function streamBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return buffer(stream as Readable)
}

/** What protojson would refuse in exportContents: wrong types and enum values of known fields. */
function protojsonProblem(contents: Record<string, unknown>): string | undefined {
  for (const [kind, options] of Object.entries(contents)) {
    const schema = EXPORT_KINDS[kind]
    if (!schema || options === null) continue
    if (typeof options !== 'object' || Array.isArray(options)) return `proto: invalid value for message field ${kind}`
    const problem = fieldsProblem(options as Record<string, unknown>, schema)
    if (problem) return problem
  }
  return undefined
}

function fieldsProblem(given: Record<string, unknown>, fields: Readonly<Record<string, OptionType>>): string | undefined {
  for (const [name, v] of Object.entries(given)) {
    const t = fields[name]
    if (!t || v === null) continue
    const bad =
      (t.kind === 'boolean' && typeof v !== 'boolean') ||
      (t.kind === 'int32' && !(Number.isInteger(typeof v === 'string' ? Number(v) : v))) ||
      (t.kind === 'string' && typeof v !== 'string') ||
      (t.kind === 'enum' && !(t.values.includes(v as string) || Number.isInteger(v))) ||
      (t.kind === 'message' && (typeof v !== 'object' || Array.isArray(v)))
    if (bad) return `proto: invalid value for ${t.kind} field ${name}: ${JSON.stringify(v)}`
    if (t.kind === 'message') {
      const inner = fieldsProblem(v as Record<string, unknown>, t.fields)
      if (inner) return inner
    }
  }
  return undefined
}

function readBody(req: http.IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > limit) reject(new Error('request body too large'))
      else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** A grpc-gateway error: google.rpc.Status with the HTTP status of its code. */
export function sendStatus(res: http.ServerResponse, code: number, message: string, httpStatus?: number): void {
  sendJson(res, httpStatus ?? HTTP_STATUS_OF_GRPC_CODE[code] ?? 500, { code, message, details: [] })
}
