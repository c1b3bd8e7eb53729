// A stand-in for GitHub Enterprise Server's artifact storage, as `@actions/artifact` 1.x and
// `actions/download-artifact@v3` speak to it (the legacy "pipelines" service), written from that
// client's code (internal/upload-http-client.ts, download-http-client.ts, utils.ts) and
// ../shared/platform-notes.md, never from our client:
// - POST   <runtime>_apis/pipelines/workflows/<run>/artifacts?api-version=6.0-preview
//          {Type, Name, RetentionDays?} → a file container; the same name again in the same run is
//          the same container (the service appends, it does not refuse);
// - PUT    <fileContainerResourceUrl>?itemPath=<artifact>/<file> with Content-Range, in chunks,
//          gzip bodies marked with Content-Encoding and x-tfs-filelength;
// - PATCH  …/artifacts?api-version=6.0-preview&artifactName=<name> {Size}: finalised;
// - GET    …/artifacts (this run's), <container>?itemPath=<name> (its items), and an item's
//          contentLocation with Accept: application/octet-stream (its bytes);
// - GHES's REST API under /api/v3: List artifacts for a repository (by name, newest first) and
//   Download an artifact (a 302 to a ZIP of the artifact's files).
// Faults a test asks for: a status for the next N calls of a kind, or a refused token.
import { randomUUID } from 'node:crypto'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import { zipBuffer } from './zip-writer.js'

const REPOSITORY = 'plant-it/octoplant-backups'

export interface LegacyContainer {
  id: number
  runId: number
  name: string
  retentionDays?: number
  /** Bytes of each item, as stored (gunzipped when sent gzipped), by its path in the container. */
  items: Map<string, Buffer>
  /** The Size of the PATCH that finalised it; undefined while uploading. */
  finalizedSize?: number
  createdAt: string
}

export type CallKind = 'create' | 'put' | 'patch' | 'list' | 'items' | 'content' | 'rest-list' | 'rest-zip'

export interface LegacyArtifactService {
  /** What a GHES runner gives an action: ACTIONS_RUNTIME_URL/TOKEN, GITHUB_* (API URL on the host). */
  env: Record<string, string>
  containers: LegacyContainer[]
  /** Every request: "PUT put bytes 0-99/100 gzip", … */
  calls: string[]
  /** When each call's body had arrived (performance.now()), call by call. */
  times: number[]
  runId: number
  githubToken: string
  /** Answer the next `count` calls of `kind` with `status` (and a body saying why). */
  fail(kind: CallKind, status: number, count?: number): void
  /** A token the service refuses from now on (401 on every call). */
  refuseToken(): void
  stop(): Promise<void>
}

interface Fault {
  kind: CallKind
  status: number
  left: number
}

export async function startLegacyArtifactService(): Promise<LegacyArtifactService> {
  const token = `runtime-${randomUUID()}`
  const githubToken = `ghes-${randomUUID()}`
  const containers: LegacyContainer[] = []
  const calls: string[] = []
  const times: number[] = []
  const faults: Fault[] = []
  const uploads = new Map<string, { parts: Buffer; gzip: boolean; length?: number }>()
  let refused = false
  let nextId = 1
  let base = ''
  const service = {} as LegacyArtifactService

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks))
      } catch (e) {
        send(res, 500, { message: (e as Error).message })
      }
    })
  })

  function send(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
    const text = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body)
    res.writeHead(status, { 'content-type': Buffer.isBuffer(body) ? 'application/octet-stream' : 'application/json', ...headers })
    res.end(text)
  }

  function faulted(kind: CallKind, res: http.ServerResponse): boolean {
    const fault = faults.find(f => f.kind === kind && f.left > 0)
    if (!fault) return false
    fault.left--
    const why = fault.status === 403 ? 'Actions storage is not configured for this GitHub Enterprise Server instance' : `fault ${fault.status} asked for by the test`
    send(res, fault.status, { message: why, typeKey: 'ArtifactStorageException' })
    return true
  }

  const asContainer = (c: LegacyContainer) => ({
    containerId: c.id,
    size: c.finalizedSize ?? -1,
    signedContent: null,
    fileContainerResourceUrl: `${base}/_apis/resources/Containers/${c.id}`,
    type: 'actions_storage',
    name: c.name,
    url: `${base}/_apis/pipelines/1/runs/${c.runId}/artifacts?artifactName=${encodeURIComponent(c.name)}`,
    expiresOn: new Date(Date.parse(c.createdAt) + (c.retentionDays ?? 90) * 86_400_000).toISOString()
  })

  function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', base)
    const method = req.method ?? 'GET'
    if (url.pathname.startsWith('/api/v3/') || url.pathname.startsWith('/_download/')) return rest(req, res, url)
    const kind = callKind(method, url, req.headers.accept)
    times.push(performance.now())
    calls.push(`${method} ${kind}${req.headers['content-range'] ? ` ${req.headers['content-range']}` : ''}${req.headers['content-encoding'] === 'gzip' ? ' gzip' : ''}`)
    if (refused || req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { message: 'the runtime token is not valid' })
    if (faulted(kind, res)) return
    const run = /^\/_apis\/pipelines\/workflows\/(\d+)\/artifacts$/.exec(url.pathname)
    if (run && Number(run[1]) !== service.runId) return send(res, 404, { message: `no run ${run[1]}` })
    switch (kind) {
      case 'create': {
        const { Name: name, RetentionDays: retentionDays } = JSON.parse(body.toString()) as { Type: string; Name: string; RetentionDays?: number }
        if (!name || /[":<>|*?\\/\r\n]/.test(name)) return send(res, 400, { message: `invalid artifact name ${name}` })
        let container = containers.find(c => c.runId === service.runId && c.name === name)
        if (!container) {
          container = { id: nextId++, runId: service.runId, name, retentionDays, items: new Map(), createdAt: new Date().toISOString() }
          containers.push(container)
        }
        return send(res, 201, asContainer(container))
      }
      case 'put': {
        const container = containerOf(url)
        const itemPath = url.searchParams.get('itemPath') ?? ''
        if (!container || !itemPath.startsWith(`${container.name}/`)) return send(res, 400, { message: `itemPath ${itemPath} is not in the container` })
        const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(String(req.headers['content-range']))
        if (!range || Number(range[2]) - Number(range[1]) + 1 !== body.length) return send(res, 400, { message: 'Content-Range does not match the body' })
        const key = `${container.id}:${itemPath}`
        const gzip = req.headers['content-encoding'] === 'gzip'
        const upload = uploads.get(key) ?? { parts: Buffer.alloc(Number(range[3])), gzip, length: req.headers['x-tfs-filelength'] ? Number(req.headers['x-tfs-filelength']) : undefined }
        uploads.set(key, upload)
        body.copy(upload.parts, Number(range[1]))
        if (Number(range[2]) + 1 === Number(range[3])) {
          const bytes = upload.gzip ? gunzipSync(upload.parts) : upload.parts
          if (upload.length !== undefined && bytes.length !== upload.length) return send(res, 400, { message: 'x-tfs-filelength does not match' })
          container.items.set(itemPath, bytes)
          uploads.delete(key)
        }
        return send(res, 201, { containerId: container.id, path: itemPath })
      }
      case 'patch': {
        const name = url.searchParams.get('artifactName')
        const container = containers.find(c => c.runId === service.runId && c.name === name)
        if (!container) return send(res, 404, { message: `no artifact ${name} in this run` })
        container.finalizedSize = (JSON.parse(body.toString()) as { Size: number }).Size
        return send(res, 200, asContainer(container))
      }
      case 'list': {
        const value = containers.filter(c => c.runId === service.runId).map(asContainer)
        return send(res, 200, { count: value.length, value })
      }
      case 'items': {
        const container = containerOf(url)
        if (!container) return send(res, 404, { message: 'no such container' })
        const prefix = url.searchParams.get('itemPath') ?? ''
        const value = [...container.items]
          .filter(([p]) => p.startsWith(`${prefix}/`))
          .map(([p, bytes]) => ({
            containerId: container.id,
            path: p,
            itemType: 'file',
            status: 'created',
            fileLength: bytes.length,
            contentLocation: `${base}/_apis/resources/Containers/${container.id}?itemPath=${encodeURIComponent(p)}`
          }))
        return send(res, 200, { count: value.length, value })
      }
      case 'content': {
        const bytes = containerOf(url)?.items.get(url.searchParams.get('itemPath') ?? '')
        return bytes ? send(res, 200, bytes, { 'content-length': bytes.length }) : send(res, 404, { message: 'no such item' })
      }
      default:
        return send(res, 404, { message: `${method} ${url.pathname} is not part of the service` })
    }
  }

  function containerOf(url: URL): LegacyContainer | undefined {
    const m = /^\/_apis\/resources\/Containers\/(\d+)$/.exec(url.pathname)
    return m ? containers.find(c => c.id === Number(m[1])) : undefined
  }

  /** GHES's REST API: artifacts of every run, finalised ones only, newest first. */
  function rest(req: http.IncomingMessage, res: http.ServerResponse, url: URL): void {
    const zip = /^\/_download\/(\d+)\.zip$/.exec(url.pathname)
    const kind: CallKind = url.pathname.endsWith('/zip') || zip ? 'rest-zip' : 'rest-list'
    times.push(performance.now())
    calls.push(`${req.method} ${kind}${zip ? ' (redirected)' : ''}`)
    if (zip) {
      const container = containers.find(c => c.id === Number(zip[1]))
      if (!container) return send(res, 404, { message: 'Not Found' })
      const files = [...container.items].map(([p, data]) => ({ name: p.slice(container.name.length + 1), data }))
      return send(res, 200, zipBuffer(files), { 'content-type': 'application/zip' })
    }
    if (req.headers.authorization !== `token ${githubToken}` && req.headers.authorization !== `Bearer ${githubToken}`) return send(res, 401, { message: 'Bad credentials' })
    if (faulted(kind, res)) return
    const listing = new RegExp(`^/api/v3/repos/${REPOSITORY}/actions/artifacts$`).exec(url.pathname)
    const one = new RegExp(`^/api/v3/repos/${REPOSITORY}/actions/artifacts/(\\d+)/zip$`).exec(url.pathname)
    if (listing) {
      const name = url.searchParams.get('name')
      const artifacts = containers
        .filter(c => c.finalizedSize !== undefined && (!name || c.name === name))
        .reverse()
        .map(c => ({
          id: c.id,
          name: c.name,
          size_in_bytes: c.finalizedSize,
          expired: false,
          created_at: c.createdAt,
          archive_download_url: `${base}/api/v3/repos/${REPOSITORY}/actions/artifacts/${c.id}/zip`,
          workflow_run: { id: c.runId }
        }))
      return send(res, 200, { total_count: artifacts.length, artifacts })
    }
    if (one) return send(res, 302, '', { location: `${base}/_download/${one[1]}.zip` })
    send(res, 404, { message: 'Not Found' })
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  Object.defineProperty(service, 'env', {
    get: () => ({
      GITHUB_ACTIONS: 'true',
      GITHUB_SERVER_URL: 'https://ghes.plant.example',
      GITHUB_API_URL: `${base}/api/v3`,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_RUN_ID: String(service.runId),
      GITHUB_RETENTION_DAYS: '30',
      ACTIONS_RUNTIME_URL: `${base}/`,
      ACTIONS_RUNTIME_TOKEN: token
    })
  })
  Object.assign(service, {
    containers,
    calls,
    times,
    runId: 7001,
    githubToken,
    fail: (kind: CallKind, status: number, count = 1) => void faults.push({ kind, status, left: count }),
    refuseToken: () => void (refused = true),
    stop: () => new Promise<void>(resolve => server.close(() => resolve()))
  })
  return service
}

function callKind(method: string, url: URL, accept: string | undefined): CallKind {
  if (/\/artifacts$/.test(url.pathname)) return method === 'POST' ? 'create' : method === 'PATCH' ? 'patch' : 'list'
  if (method === 'PUT') return 'put'
  return accept?.startsWith('application/octet-stream') ? 'content' : 'items'
}

