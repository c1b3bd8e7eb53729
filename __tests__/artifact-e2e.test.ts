// The artifact round trip against a real blob store: the bundled action uploads to Azurite through
// @actions/artifact and a results-service fake; the test downloads the artifact back through
// @actions/artifact and compares it with the export.
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type ArtifactBackend, startArtifactBackend } from '../__fixtures__/artifact-backend.js'
import { runLocally } from '../scripts/local-runner.js'
import { type Simulator, startSimulator } from '../simulator/server.js'
import { checkZipFile } from '../__fixtures__/zips.js'
import { projectFiles } from '../simulator/export-zip.js'

let backend: ArtifactBackend
let sim: Simulator
const started = performance.now()

/** Runs `work` with this process's stdout held back: @actions/artifact logs every request as a
 *  ::debug:: line. What it held is written out only when the work fails. */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const held: string[] = []
  const write = process.stdout.write.bind(process.stdout)
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array) => held.push(String(chunk)) > 0) as typeof process.stdout.write)
  try {
    return await work()
  } catch (e) {
    spy.mockRestore()
    write(held.join(''))
    throw e
  } finally {
    spy.mockRestore()
  }
}

beforeAll(async () => {
  ;[backend, sim] = await Promise.all([startArtifactBackend(), startSimulator({ pendingMs: 100, runningMs: 300, payloadBytes: 3_000_000 })])
}, 60_000)
afterAll(async () => {
  await Promise.all([backend?.stop(), sim?.stop()])
  console.log(`artifact round trip: Azurite started in ${backend?.azuriteStartMs.toFixed(0)} ms; whole file ${(performance.now() - started).toFixed(0)} ms`)
})

const inputs = (extra: Record<string, string> = {}) => ({
  'server-url': sim.url,
  username: 'versiondog',
  password: 'change-it',
  'ca-certificate': sim.caPem!,
  'retention-days': '5',
  ...extra
})

describe('the artifact, in a real blob store', () => {
  it('is the export ZIP itself, and downloads back byte for byte through @actions/artifact', async () => {
    const run = await runLocally({ inputs: inputs(), env: backend.env })
    expect(run.code, run.stdout).toBe(0)
    const { outputs } = run
    const zip = readFileSync(outputs['zip-path'])
    const sha = createHash('sha256').update(zip).digest('hex')
    expect(outputs['artifact-name']).toBe(`octoplant-export-${outputs['order-name']}.zip`)
    expect(outputs['artifact-id']).toMatch(/^\d+$/)
    expect(outputs['artifact-url']).toBe(`https://github.com/plant-it/octoplant-backups/actions/runs/4242/artifacts/${outputs['artifact-id']}`)
    expect(outputs['artifact-digest']).toBe(sha)
    expect(backend.artifacts.find(a => a.name === outputs['artifact-name'])).toMatchObject({ size: zip.length, hash: `sha256:${sha}`, finalized: true })
    expect(run.summary).toContain(`[${outputs['artifact-name']}](${outputs['artifact-url']})`)

    // Download it the way a later job would.
    Object.assign(process.env, backend.env)
    const { DefaultArtifactClient } = await import('@actions/artifact')
    const client = new DefaultArtifactClient()
    const { artifact } = await quietly(() => client.getArtifact(outputs['artifact-name']))
    expect(artifact).toMatchObject({ id: Number(outputs['artifact-id']), size: zip.length, digest: `sha256:${sha}` })
    const dir = mkdtempSync(path.join(tmpdir(), 'artifact-'))
    const result = await quietly(() => client.downloadArtifact(artifact.id, { path: dir, skipDecompress: true, expectedHash: `sha256:${sha}` }))
    expect(result.digestMismatch).toBe(false)
    const back = readFileSync(path.join(dir, outputs['artifact-name']))
    expect(back.equals(zip)).toBe(true)
    // Not zipped again: the stored object opens as the export, with contents.json at its root.
    const entries = (await checkZipFile(path.join(dir, outputs['artifact-name']))).entries.map(e => e.name)
    expect(entries).toEqual(['contents.json', 'projectTree.json', ...projectFiles(0).map(([name]) => name), 'payload.bin'])

    // Without skipDecompress (actions/download-artifact's default, skip-decompress: false) the ZIP is
    // unpacked into the folder: what the README tells a later job.
    const unpacked = mkdtempSync(path.join(tmpdir(), 'artifact-'))
    await quietly(() => client.downloadArtifact(artifact.id, { path: unpacked }))
    expect(readdirSync(unpacked).sort()).toEqual(['contents.json', 'payload.bin', 'projectTree', 'projectTree.json'])
  })

  it('compare-with-previous: the next run finds the last run\'s record through GitHub\'s API and reports the changes', async () => {
    const changing = await startSimulator({ pendingMs: 50, runningMs: 150, changingTree: true })
    try {
      const common = inputs({ 'server-url': changing.url, 'ca-certificate': changing.caPem!, 'artifact-name': 'line-2', 'compare-with-previous': 'true', 'github-token': backend.githubToken })
      backend.runId = 5001
      const first = await runLocally({ inputs: common, env: { ...backend.env, GITHUB_RUN_ID: '5001' } })
      expect(first.code, first.stdout).toBe(0)
      expect(first.stdout).toContain('No earlier line-2 export in this repository.')
      expect(backend.artifacts.filter(a => a.runId === 5001).map(a => a.name)).toEqual(['line-2.zip', 'line-2.record.json', 'line-2.manifest.sha256'])

      backend.runId = 5002
      const second = await runLocally({ inputs: common, env: { ...backend.env, GITHUB_RUN_ID: '5002' } })
      expect(second.code, second.stdout).toBe(0)
      expect(second.stdout).toMatch(/Comparing with the previous export's record .*line-2\.record\.json\./)
      expect(second.outputs).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1' })
      expect(backend.calls).toContain('GET /repos/plant-it/octoplant-backups/actions/artifacts?name=line-2.record.json&per_page=100')
      const previousId = backend.artifacts.find(a => a.runId === 5001 && a.name === 'line-2.record.json')!.id
      expect(backend.calls).toContain(`GET /repos/plant-it/octoplant-backups/actions/artifacts/${previousId}/zip`)
      const report = JSON.parse(readFileSync(second.outputs['changes-path'], 'utf8')) as { comparedWith: { orderName: string }; comparedBy: string }
      expect(report).toMatchObject({ comparedWith: { orderName: first.outputs['order-name'] }, comparedBy: 'sha256' })
      expect(backend.artifacts.filter(a => a.runId === 5002).map(a => a.name)).toContain('line-2.changes.json')

      // A token that may not read the artifacts: the export still succeeds, and says why there is no report.
      backend.runId = 5003
      const denied = await runLocally({ inputs: { ...common, 'github-token': 'ghs_wrong' }, env: { ...backend.env, GITHUB_RUN_ID: '5003' } })
      expect(denied.code, denied.stdout).toBe(0)
      expect(denied.stdout).toMatch(/::warning::no change report: the previous export could not be fetched: .*Bad credentials/)
      expect(denied.outputs['entries-added']).toBeUndefined()
    } finally {
      backend.runId = 4242
      await changing.stop()
    }
  })

  it('says to choose another artifact-name when the name is taken in this run', async () => {
    const first = await runLocally({ inputs: inputs({ 'artifact-name': 'nightly-line-1' }), env: backend.env })
    expect(first.code, first.stdout).toBe(0)
    const second = await runLocally({ inputs: inputs({ 'artifact-name': 'nightly-line-1' }), env: backend.env })
    expect(second.code).toBe(1)
    expect(second.outputs['error-message']).toMatch(
      /^an artifact named nightly-line-1\.zip already exists in this workflow run \(.*\(409\).*\)\. Give each export its own artifact-name/
    )
    // The export itself is not lost: the verified ZIP and its facts are still handed on.
    expect(second.outputs['zip-sha256']).toMatch(/^[0-9a-f]{64}$/)
    expect(backend.artifacts.filter(a => a.name === 'nightly-line-1.zip')).toHaveLength(1)
  })
})
