// A real artifact backend for tests, the shape GitHub's runner gives @actions/artifact:
// - Azurite (Microsoft's Azure Storage emulator) holds the blob bytes; @actions/artifact uploads to
//   it with @azure/storage-blob (Put Block, Put Block List) through a signed (SAS) URL.
// - A small results-service fake speaks Twirp JSON: CreateArtifact (hands out the signed upload
//   URL), FinalizeArtifact (records size and sha256 after checking the blob), ListArtifacts and
//   GetSignedArtifactURL (for downloads). It checks the ACTIONS_RUNTIME_TOKEN it minted, whose
//   `scp` claim holds Actions.Results:<runId>:<jobId>, as the library reads it.
// - GitHub's REST API for artifacts of other runs, as @actions/github's Octokit calls it (base URL
//   GITHUB_API_URL): List artifacts for a repository (filtered by name, newest first) and Download an
//   artifact (a 302 to the blob's signed URL), behind the github-token it hands out.
// Everything listens on 127.0.0.1 and stops with stop().
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BlobSASPermissions, BlobServiceClient, generateBlobSASQueryParameters, SASProtocol, StorageSharedKeyCredential } from '@azure/storage-blob'

/** Azurite's well-known development account (public, the same everywhere). */
const ACCOUNT = 'devstoreaccount1'
const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
const CONTAINER = 'actions-results'
const SERVICE = '/twirp/github.actions.results.api.v1.ArtifactService/'
const REPOSITORY = 'plant-it/octoplant-backups'

export interface StoredArtifact {
  id: number
  /** The workflow run that uploaded it (the backend's runId at the time). */
  runId: number
  name: string
  blobName: string
  size?: number
  hash?: string
  finalized: boolean
  createdAt: string
}

export interface ArtifactBackend {
  /** Environment the runner gives an action: ACTIONS_RUNTIME_TOKEN, ACTIONS_RESULTS_URL, GITHUB_*. */
  env: Record<string, string>
  artifacts: StoredArtifact[]
  calls: string[]
  /** The run the next uploads belong to; a test moves it on to be a later run. */
  runId: number
  /** The token the REST API takes (github-token). */
  githubToken: string
  azuriteStartMs: number
  stop(): Promise<void>
}

function jwt(claims: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.${Buffer.from('not-checked-by-the-client').toString('base64url')}`
}

async function startAzurite(): Promise<{ child: ChildProcess; url: string; location: string; startMs: number }> {
  const location = mkdtempSync(path.join(tmpdir(), 'azurite-'))
  const main = fileURLToPath(new URL('../node_modules/azurite/dist/src/blob/main.js', import.meta.url))
  const started = performance.now()
  const child = spawn(
    process.execPath,
    [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--location', location, '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--loose'],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  )
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`Azurite did not start:\n${out}`)), 20_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d
      const m = /listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.stderr!.on('data', (d: Buffer) => (out += d))
    child.on('exit', code => reject(new Error(`Azurite exited with ${code}:\n${out}`)))
  })
  return { child, url, location, startMs: performance.now() - started }
}

export async function startArtifactBackend(): Promise<ArtifactBackend> {
  const azurite = await startAzurite()
  const credential = new StorageSharedKeyCredential(ACCOUNT, ACCOUNT_KEY)
  const blobService = new BlobServiceClient(`${azurite.url}/${ACCOUNT}`, credential)
  const container = blobService.getContainerClient(CONTAINER)
  await container.createIfNotExists()

  const runBackendId = randomUUID()
  const jobBackendId = randomUUID()
  const token = jwt({ scp: `Actions.ExampleScope Actions.Results:${runBackendId}:${jobBackendId}`, exp: Math.floor(Date.now() / 1000) + 3600 })
  const artifacts: StoredArtifact[] = []
  const calls: string[] = []
  let nextId = 1000

  const sas = (blobName: string, permissions: string, fileName?: string) =>
    `${container.getBlockBlobClient(blobName).url}?${generateBlobSASQueryParameters(
      {
        containerName: CONTAINER,
        blobName,
        permissions: BlobSASPermissions.parse(permissions),
        expiresOn: new Date(Date.now() + 3600_000),
        protocol: SASProtocol.HttpsAndHttp,
        ...(fileName ? { contentDisposition: `attachment; filename=${fileName}` } : {})
      },
      credential
    ).toString()}`

  const methods: Record<string, (req: Record<string, unknown>) => Promise<[number, object]>> = {
    async CreateArtifact(r) {
      const name = String(r.name)
      if (artifacts.some(a => a.name === name && a.finalized && a.runId === backend.runId)) {
        return [409, { code: 'already_exists', msg: `an artifact with this name already exists on the workflow run: ${name}` }]
      }
      const blobName = `${runBackendId}/${jobBackendId}/${backend.runId}/${name}`
      artifacts.push({ id: nextId++, runId: backend.runId, name, blobName, finalized: false, createdAt: new Date().toISOString() })
      return [200, { ok: true, signed_upload_url: sas(blobName, 'cw') }]
    },
    async FinalizeArtifact(r) {
      const a = artifacts.find(x => x.name === r.name && !x.finalized)
      if (!a) return [404, { code: 'not_found', msg: 'no such artifact to finalize' }]
      const props = await container.getBlockBlobClient(a.blobName).getProperties()
      if (String(props.contentLength) !== String(r.size)) {
        return [400, { code: 'invalid_argument', msg: `size ${r.size} does not match the blob (${props.contentLength})` }]
      }
      Object.assign(a, { size: Number(r.size), hash: r.hash as string | undefined, finalized: true })
      return [200, { ok: true, artifact_id: String(a.id) }]
    },
    async ListArtifacts(r) {
      const list = artifacts.filter(
        a => a.finalized && a.runId === backend.runId && (r.name_filter === undefined || a.name === r.name_filter) && (r.id_filter === undefined || String(a.id) === String(r.id_filter))
      )
      return [
        200,
        {
          artifacts: list.map(a => ({
            workflow_run_backend_id: runBackendId,
            workflow_job_run_backend_id: jobBackendId,
            database_id: String(a.id),
            name: a.name,
            size: String(a.size),
            created_at: a.createdAt,
            ...(a.hash ? { digest: a.hash } : {})
          }))
        }
      ]
    },
    async GetSignedArtifactURL(r) {
      const a = artifacts.find(x => x.name === r.name && x.finalized && x.runId === backend.runId)
      if (!a) return [404, { code: 'not_found', msg: 'artifact not found' }]
      return [200, { signed_url: sas(a.blobName, 'r', a.name) }]
    }
  }

  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    const method = req.url?.startsWith(SERVICE) ? req.url.slice(SERVICE.length) : ''
    calls.push(method || `${req.method} ${String(req.url)}`)
    if (req.url?.startsWith('/repos/')) return rest(req, res)
    if (req.method !== 'POST' || !methods[method]) return send(404, { code: 'bad_route', msg: `no handler for ${req.method} ${req.url}` })
    if (req.headers.authorization !== `Bearer ${token}`) return send(401, { code: 'unauthenticated', msg: 'bad runtime token' })
    let body = ''
    for await (const chunk of req) body += chunk
    const request = JSON.parse(body) as Record<string, unknown>
    if (request.workflow_run_backend_id !== runBackendId || request.workflow_job_run_backend_id !== jobBackendId) {
      return send(400, { code: 'invalid_argument', msg: 'backend ids do not match the token' })
    }
    try {
      const [status, answer] = await methods[method](request)
      send(status, answer)
    } catch (e) {
      send(500, { code: 'internal', msg: (e as Error).message })
    }
  })

  /** GitHub's REST API, the two artifact routes: the listing (newest first) and the download. */
  function rest(req: http.IncomingMessage, res: http.ServerResponse) {
    const send = (status: number, body: object, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers })
      res.end(JSON.stringify(body))
    }
    const auth = req.headers.authorization ?? ''
    if (auth !== `token ${backend.githubToken}` && auth !== `Bearer ${backend.githubToken}`) return send(401, { message: 'Bad credentials' })
    const url = new URL(req.url!, 'http://localhost')
    const m = /^\/repos\/([^/]+)\/([^/]+)\/actions\/artifacts(?:\/(\d+)\/zip)?$/.exec(url.pathname)
    if (!m || `${m[1]}/${m[2]}` !== REPOSITORY || req.method !== 'GET') return send(404, { message: 'Not Found' })
    const finalized = artifacts.filter(a => a.finalized)
    if (m[3]) {
      const a = finalized.find(x => String(x.id) === m[3])
      if (!a) return send(404, { message: 'Not Found' })
      return send(302, {}, { location: sas(a.blobName, 'r', a.name) })
    }
    const name = url.searchParams.get('name')
    const list = finalized.filter(a => name === null || a.name === name).reverse()
    send(200, {
      total_count: list.length,
      artifacts: list.map(a => ({
        id: a.id,
        name: a.name,
        size_in_bytes: a.size,
        expired: false,
        created_at: a.createdAt,
        workflow_run: { id: a.runId, repository_id: 1, head_branch: 'main' }
      }))
    })
  }

  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const backend: ArtifactBackend = {
    env: {
      ACTIONS_RUNTIME_TOKEN: token,
      ACTIONS_RESULTS_URL: `${baseUrl}/`,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_API_URL: baseUrl,
      GITHUB_REPOSITORY: REPOSITORY,
      GITHUB_RUN_ID: '4242'
    },
    runId: 4242,
    githubToken: `ghs_${randomUUID().replace(/-/g, '')}`,
    artifacts,
    calls,
    azuriteStartMs: azurite.startMs,
    stop: async () => {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
      azurite.child.kill('SIGTERM')
      await new Promise(resolve => azurite.child.once('exit', resolve))
      rmSync(azurite.location, { recursive: true, force: true })
    }
  }
  return backend
}
