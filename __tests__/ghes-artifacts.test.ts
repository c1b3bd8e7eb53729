// GitHub Enterprise Server: the legacy artifact service's stand-in, proven with the real
// @actions/artifact 1.x client (what actions/upload-artifact@v3 and download-artifact@v3 run).
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type LegacyArtifactService, startLegacyArtifactService } from '../simulator/ghes-artifacts.js'
import { runLocally } from '../scripts/local-runner.js'
import { type Simulator, startSimulator } from '../simulator/server.js'

let service: LegacyArtifactService
let sim: Simulator

/** Runs `work` with the v1 client's log lines held back (shown only when it fails). */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const held: string[] = []
  const spies = [process.stdout, process.stderr].map(s => vi.spyOn(s, 'write').mockImplementation(((c: string | Uint8Array) => held.push(String(c)) > 0) as typeof s.write))
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void held.push(a.join(' ')))
  try {
    return await work()
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${held.join('')}`)
  } finally {
    for (const s of [...spies, log]) s.mockRestore()
  }
}

beforeAll(async () => {
  ;[service, sim] = await Promise.all([startLegacyArtifactService(), startSimulator({ pendingMs: 50, runningMs: 150 })])
})
afterAll(async () => {
  await Promise.all([service?.stop(), sim?.stop()])
})

const inputs = (extra: Record<string, string> = {}) => ({
  'server-url': sim.url,
  username: 'versiondog',
  password: 'change-it',
  'ca-certificate': sim.caPem!,
  'retention-days': '60',
  ...extra
})

/** What a later job's download-artifact@v3 (name: X, path: dir) would hand it: the container's files,
 *  under the artifact's folder stripped, through the real 1.x client it runs. */
async function downloadV3(name: string, runId: number): Promise<string> {
  Object.assign(process.env, service.env, { GITHUB_RUN_ID: String(runId) })
  const legacy = await import('@actions/artifact-legacy')
  const dir = mkdtempSync(path.join(tmpdir(), 'download-v3-'))
  await quietly(() => legacy.create().downloadArtifact(name, dir, { createArtifactFolder: false }))
  return dir
}

describe('the stand-in of GHES artifact storage', () => {
  it('takes an upload of the real @actions/artifact 1.x client and hands it back to its download, byte for byte', async () => {
    Object.assign(process.env, service.env)
    const legacy = await import('@actions/artifact-legacy')
    const dir = mkdtempSync(path.join(tmpdir(), 'legacy-up-'))
    const zip = randomBytes(9 * 1024 * 1024 + 17) // more than one 8 MiB chunk
    const small = Buffer.from('{"schema": "record"}\n'.repeat(50)) // gzipped in memory by the client
    writeFileSync(path.join(dir, 'export.zip'), zip)
    writeFileSync(path.join(dir, 'export.record.json'), small)
    const client = legacy.create()
    const up = await quietly(() => client.uploadArtifact('nightly', [path.join(dir, 'export.zip'), path.join(dir, 'export.record.json')], dir, { continueOnError: false, retentionDays: 45 }))
    expect(up.failedItems).toEqual([])
    const container = service.containers.find(c => c.name === 'nightly')!
    expect(container.retentionDays).toBe(30) // capped by GITHUB_RETENTION_DAYS, as the client caps it
    expect(container.finalizedSize).toBe(zip.length + small.length)
    expect(service.calls.filter(c => c.startsWith('PUT put bytes'))).toEqual(
      expect.arrayContaining([`PUT put bytes 0-8388607/${zip.length}`, `PUT put bytes 8388608-${zip.length - 1}/${zip.length}`])
    )
    // The .zip is sent as is; the small record gzipped, and stored as the client meant it.
    expect(service.calls.some(c => c.startsWith('PUT put') && c.endsWith('gzip'))).toBe(true)
    expect(service.calls.filter(c => c.includes(`/${zip.length}`)).every(c => !c.endsWith('gzip'))).toBe(true)

    const back = mkdtempSync(path.join(tmpdir(), 'legacy-down-'))
    const down = await quietly(() => client.downloadArtifact('nightly', back, { createArtifactFolder: false }))
    expect(down.artifactName).toBe('nightly')
    expect(readFileSync(path.join(back, 'export.zip')).equals(zip)).toBe(true)
    expect(readFileSync(path.join(back, 'export.record.json')).equals(small)).toBe(true)
  })

  it('appends a second upload of the same name in the same run to the same container, as GHES does', async () => {
    Object.assign(process.env, service.env)
    const legacy = await import('@actions/artifact-legacy')
    const dir = mkdtempSync(path.join(tmpdir(), 'legacy-twice-'))
    for (const job of ['a', 'b']) {
      mkdirSync(path.join(dir, job))
      writeFileSync(path.join(dir, job, `${job}.zip`), job)
      await quietly(() => legacy.create().uploadArtifact('same', [path.join(dir, job, `${job}.zip`)], path.join(dir, job), { continueOnError: false }))
    }
    const same = service.containers.filter(c => c.name === 'same')
    expect(same).toHaveLength(1)
    expect([...same[0].items.keys()]).toEqual(['same/a.zip', 'same/b.zip'])
  })

  it('serves the REST listing and a ZIP of one artifact, as GHES\'s API does', async () => {
    const list = await fetch(`${service.env.GITHUB_API_URL}/repos/plant-it/octoplant-backups/actions/artifacts?name=nightly`, { headers: { authorization: `Bearer ${service.githubToken}` } })
    const { artifacts } = (await list.json()) as { artifacts: { id: number; workflow_run: { id: number } }[] }
    expect(artifacts).toHaveLength(1)
    expect(artifacts[0].workflow_run.id).toBe(service.runId)
    const zip = await fetch(`${service.env.GITHUB_API_URL}/repos/plant-it/octoplant-backups/actions/artifacts/${artifacts[0].id}/zip`, { headers: { authorization: `Bearer ${service.githubToken}` } })
    expect(zip.status).toBe(200)
    const bytes = Buffer.from(await zip.arrayBuffer())
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('PK\u0003\u0004')
    expect(createHash('sha256').update(bytes).digest('hex')).toMatch(/^[0-9a-f]{64}$/)
  })
})

describe('the Action on GitHub Enterprise Server', () => {
  it('keeps the ZIP and its evidence as artifacts of the legacy service, which download-artifact@v3 hands back byte for byte', async () => {
    service.runId = 8001
    const run = await runLocally({ inputs: inputs(), env: service.env })
    expect(run.code, run.stdout).toBe(0)
    const { outputs } = run
    const name = `octoplant-export-${outputs['order-name']}`
    expect(outputs['artifact-name']).toBe(`${name}.zip`)
    // The legacy service gives no id, link or digest of an artifact: those outputs stay empty.
    expect(outputs['artifact-id']).toBeUndefined()
    expect(outputs['artifact-url']).toBeUndefined()
    expect(outputs['artifact-digest']).toBeUndefined()
    expect(run.stdout).toContain('Artifacts go to GitHub Enterprise Server artifact storage')
    expect(run.summary).toMatch(/\| Artifact service \| GitHub Enterprise Server artifact storage/)
    const mine = service.containers.filter(c => c.runId === 8001)
    expect(mine.map(c => c.name)).toEqual([`${name}.zip`, `${name}.record.json`, `${name}.manifest.sha256`])
    expect(mine.every(c => c.retentionDays === 30 && c.finalizedSize !== undefined)).toBe(true) // 60 capped by the service's 30
    // Not gzipped: the ZIP travels as it is.
    expect(service.calls.filter(c => c.startsWith('PUT') && c.endsWith('gzip')).every(c => !c.includes(`/${readFileSync(outputs['zip-path']).length}`))).toBe(true)

    const zipDir = await downloadV3(`${name}.zip`, 8001)
    expect(readFileSync(path.join(zipDir, `${name}.zip`)).equals(readFileSync(outputs['zip-path']))).toBe(true)
    // The manifest, downloaded beside the ZIP, checks it as sha256sum -c would.
    const manifestDir = await downloadV3(`${name}.manifest.sha256`, 8001)
    expect(readFileSync(path.join(manifestDir, `${name}.manifest.sha256`), 'utf8')).toBe(readFileSync(outputs['manifest-path'], 'utf8'))
    // As examples/ghes-nightly.yml checks it: unzip, then sha256sum --check --strict against the manifest.
    const unpacked = mkdtempSync(path.join(tmpdir(), 'unpacked-'))
    execFileSync('unzip', ['-q', path.join(zipDir, `${name}.zip`), '-d', unpacked])
    const checked = execFileSync('sha256sum', ['--check', '--strict', path.join(manifestDir, `${name}.manifest.sha256`)], { cwd: unpacked }).toString()
    expect(checked.trim().split('\n').every(line => line.endsWith(': OK'))).toBe(true)
  })

  it('refuses a second export of the same artifact-name in one run (a matrix) instead of mixing both in one artifact', async () => {
    service.runId = 8002
    const first = await runLocally({ inputs: inputs({ 'artifact-name': 'line-1' }), env: service.env })
    expect(first.code, first.stdout).toBe(0)
    const second = await runLocally({ inputs: inputs({ 'artifact-name': 'line-1' }), env: service.env })
    expect(second.code).toBe(1)
    expect(second.outputs['error-message']).toMatch(/^an artifact named line-1\.zip already exists in this workflow run .*Give each export its own artifact-name/)
    expect(second.outputs['zip-sha256']).toMatch(/^[0-9a-f]{64}$/)
    const line1 = service.containers.filter(c => c.runId === 8002 && c.name === 'line-1.zip')
    expect(line1).toHaveLength(1)
    expect([...line1[0].items.keys()]).toEqual(['line-1.zip/line-1.zip'])
    const later = await downloadV3('line-1.zip', 8002)
    expect(readFileSync(path.join(later, 'line-1.zip')).equals(readFileSync(first.outputs['zip-path']))).toBe(true)
    // Two matrix jobs with their own names: each its own artifact.
    const other = await runLocally({ inputs: inputs({ 'artifact-name': 'line-2' }), env: service.env })
    expect(other.code, other.stdout).toBe(0)
    expect(service.containers.filter(c => c.runId === 8002).map(c => c.name)).toContain('line-2.zip')
  })

  it('keeps the export when Actions storage is not set up (403), naming what the administrator must enable, zip-path and the way back', async () => {
    service.runId = 8003
    service.fail('create', 403)
    const run = await runLocally({ inputs: inputs(), env: service.env })
    expect(run.code).toBe(1)
    const message = run.outputs['error-message']
    expect(message).toMatch(/the artifact service refused the upload \(403\): on GitHub Enterprise Server that means Actions storage is not set up/)
    expect(message).toContain('site administrator must enable it')
    expect(message).toContain(`The file stays at ${run.outputs['zip-path']}`)
    expect(message).toMatch(/re-run with order-name: \S+/)
    expect(readFileSync(run.outputs['zip-path']).length).toBe(Number(run.outputs['zip-size']))
    // Nothing half-made for a later job: download-artifact@v3 finds no artifact of this run.
    expect(service.containers.filter(c => c.runId === 8003)).toEqual([])
    await expect(downloadV3(`octoplant-export-${run.outputs['order-name']}.zip`, 8003)).rejects.toThrow(/Unable to find/)
  })

  it('keeps the export when the runner\'s token is refused (401), and says so', async () => {
    service.runId = 8004
    const refused = await startLegacyArtifactService()
    try {
      refused.refuseToken()
      const run = await runLocally({ inputs: inputs(), env: { ...refused.env, GITHUB_RUN_ID: '8004' } })
      expect(run.code).toBe(1)
      expect(run.outputs['error-message']).toMatch(/401/)
      expect(run.outputs['error-message']).toContain(`The file stays at ${run.outputs['zip-path']}`)
      expect(readFileSync(run.outputs['zip-path']).length).toBe(Number(run.outputs['zip-size']))
    } finally {
      await refused.stop()
    }
  })

  it('rides out transient 503s of the artifact service (its list and its create)', async () => {
    service.runId = 8005
    service.fail('create', 503, 1)
    service.fail('list', 503, 2)
    const run = await runLocally({ inputs: inputs(), env: service.env })
    expect(run.code, run.stdout).toBe(0)
    expect(service.calls.filter(c => c === 'POST create').length).toBeGreaterThanOrEqual(4) // one refused, then three creates
    expect(service.calls.filter(c => c === 'GET list').length).toBeGreaterThanOrEqual(5) // two refused, then one a file
    expect(service.containers.filter(c => c.runId === 8005)).toHaveLength(3)
  }, 60_000)

  it('compare-with-previous: the next run finds the last run\'s record through GHES\'s REST API and reports the changes', async () => {
    const changing = await startSimulator({ pendingMs: 50, runningMs: 150, changingTree: true })
    const common = inputs({ 'server-url': changing.url, 'ca-certificate': changing.caPem!, 'artifact-name': 'ghes-line', 'compare-with-previous': 'true', 'github-token': service.githubToken })
    service.runId = 8101
    const first = await runLocally({ inputs: common, env: service.env })
    expect(first.code, first.stdout).toBe(0)
    expect(first.stdout).toContain('No earlier ghes-line export in this repository.')
    service.runId = 8102
    const second = await runLocally({ inputs: common, env: service.env })
    expect(second.code, second.stdout).toBe(0)
    expect(second.stdout).toMatch(/Comparing with the previous export's record .*ghes-line\.record\.json\./)
    expect(second.outputs).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1' })
    expect(service.calls).toContain('GET rest-zip (redirected)')
    const report = JSON.parse(readFileSync(second.outputs['changes-path'], 'utf8')) as { comparedWith: { orderName: string } }
    expect(report.comparedWith.orderName).toBe(first.outputs['order-name'])
    // What a later job downloads: the change report, as its own artifact.
    const changes = await downloadV3('ghes-line.changes.json', 8102)
    expect(JSON.parse(readFileSync(path.join(changes, 'ghes-line.changes.json'), 'utf8'))).toEqual(report)
    await changing.stop()
  }, 60_000)
})
