// The Action's side of the evidence: outputs, the artifacts (the record is how a later run finds this
// export), compare-with-previous across runs, the summary's change table, and a gate that fails the
// step only after everything is kept.
import { copyFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import * as tls from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { fakeCore, simulatorInputs } from '../__fixtures__/core.js'
import { startSimulator, type Simulator } from '../simulator/server.js'
import type { ArtifactClientLike } from '../src/action/artifact.js'
import { run, type RunDeps } from '../src/action/main.js'
import type { ArtifactListing, PreviousDeps } from '../src/action/previous.js'
import { systemClock } from '../src/base/clock.js'

const defaultCAs = tls.getCACertificates('default')
const GITHUB_TOKEN = 'ghs_previous-run-reader-0123456789'
let sims: Simulator[] = []
afterEach(async () => {
  tls.setDefaultCACertificates(defaultCAs)
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})

/** Earlier runs' record artifacts, as GitHub's API would list them (newest first). */
interface Repository {
  records: (ArtifactListing & { file: string })[]
}

function previousDepsOf(repo: Repository, calls: string[]): RunDeps['previousDeps'] {
  return async (token, env, tempDir): Promise<PreviousDeps> => {
    calls.push(`token ${token === GITHUB_TOKEN ? 'given' : 'other'}`)
    return {
      env,
      tempDir,
      list: async name => repo.records.filter(r => r.name === name),
      download: async (artifact, dir) => void copyFileSync(repo.records.find(r => r.id === artifact.id)!.file, path.join(dir, artifact.name))
    }
  }
}

async function runAction(sim: Simulator, runId: number, repo: Repository, inputs: Record<string, string>) {
  const core = fakeCore(simulatorInputs(sim, { 'github-token': GITHUB_TOKEN, ...inputs }))
  const uploads: string[] = []
  const client: ArtifactClientLike = {
    async uploadArtifact(name, files) {
      uploads.push(name)
      expect(files).toHaveLength(1)
      return { id: 100 + uploads.length, size: 1, digest: 'sha256:00' }
    }
  }
  const calls: string[] = []
  await run({
    core,
    env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: tmpdir(), ACTIONS_RUNTIME_TOKEN: 'x', GITHUB_REPOSITORY: 'plant-it/backups', GITHUB_RUN_ID: String(runId), GITHUB_RUN_ATTEMPT: '1', GITHUB_WORKFLOW: 'nightly' },
    clock: systemClock,
    readFile: f => readFileSync(f, 'utf8'),
    loadArtifactClient: async () => client,
    trustCertificates: pem => tls.setDefaultCACertificates([...defaultCAs, pem]),
    previousDeps: previousDepsOf(repo, calls),
    version: '1.2.3'
  })
  return { core, uploads, calls }
}

describe('compare-with-previous and fail-on in the Action', () => {
  it('a first run is the baseline; the next finds its record, reports the changes and fails the step after keeping everything', async () => {
    const sim = await startSimulator({ pendingMs: 50, runningMs: 150, changingTree: true })
    sims.push(sim)
    const repo: Repository = { records: [] }
    const inputs = { 'artifact-name': 'plant-a', 'compare-with-previous': 'true', 'fail-on': 'changes' }

    const first = await runAction(sim, 1, repo, inputs)
    expect(first.core.failed).toBeUndefined()
    expect(first.calls).toEqual(['token given'])
    expect(first.core.logs).toContain('No earlier plant-a export in this repository.')
    expect(first.core.logs).toContain('No previous export to compare with: this export is the baseline.')
    expect(first.uploads).toEqual(['plant-a.zip', 'plant-a.record.json', 'plant-a.manifest.sha256'])
    expect(first.core.outputs['entries-added']).toBeUndefined()
    expect(first.core.summaryText).toContain('| Changes | no previous export to compare with: this one is the baseline |')
    repo.records.unshift({ id: 9, name: 'plant-a.record.json', expired: false, createdAt: '2026-12-01T01:00:00Z', runId: 1, file: first.core.outputs['record-path'] })

    // A record of this very run (a re-run) and an expired one are passed over.
    repo.records.unshift({ id: 11, name: 'plant-a.record.json', expired: true, createdAt: '2026-12-02T01:00:00Z', runId: 5, file: '/nonexistent' })
    const second = await runAction(sim, 2, repo, inputs)
    expect(second.uploads).toEqual(['plant-a.zip', 'plant-a.record.json', 'plant-a.manifest.sha256', 'plant-a.changes.json'])
    const o = second.core.outputs
    expect(o).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1', state: 'STATE_SUCCEEDED' })
    expect(o['changes-path']).toMatch(/plant-a\.changes\.json$/)
    expect(second.core.failed).toMatch(/^fail-on: changes: 3 entries differ from the previous export [\w-]+ of [\d-]+T[\d:.]+Z: 1 added \("projectTree\/Plant\/Line 3\/PLC S7-1200\/Program\.awl"\)/)
    expect(o['error-message']).toBe(second.core.failed)

    const summary = second.core.summaryText
    expect(summary).toContain('## ❌ octoplant export kept, and fail-on failed it')
    expect(summary).toMatch(/### Changes since the previous export [\w-]+ of .* \(by sha256\)/)
    expect(summary).toContain('| `projectTree/Plant/Line 3/PLC S7-1200/` | 1 | 0 | 0 |')
    expect(summary).toContain('| `projectTree/Plant/Line 2/Antrieb Süd G120/` | 0 | 1 | 0 |')
    expect(summary).toContain('| Evidence artifacts | [plant-a.record.json](https://github.com/plant-it/backups/actions/runs/2/artifacts/102), [plant-a.manifest.sha256]')
    // The record names this run, and no secret reaches anything the run wrote.
    const record = JSON.parse(readFileSync(o['record-path'], 'utf8')) as { tool: object; ranBy: object }
    expect(record.tool).toEqual({ name: 'octoplant-export-action', version: '1.2.3' })
    expect(record.ranBy).toEqual({ system: 'github-actions', repository: 'plant-it/backups', runId: '2', runAttempt: '1', workflow: 'nightly', runUrl: 'https://github.com/plant-it/backups/actions/runs/2' })
    const written = [summary, JSON.stringify(o), readFileSync(o['record-path'], 'utf8'), readFileSync(o['changes-path'], 'utf8'), second.core.logs.join('\n')].join('\n')
    for (const secret of ['change-it', GITHUB_TOKEN, ...sim.issuedTokens]) expect(written).not.toContain(secret)
    expect(second.core.secrets).toContain(GITHUB_TOKEN)
  })

  it('a failed search for the previous export warns, and fails only a gate on changes (closed)', async () => {
    const sim = await startSimulator({ pendingMs: 50, runningMs: 150 })
    sims.push(sim)
    const core = await runAction(sim, 3, { records: [] }, { 'artifact-name': 'plant-b', 'compare-with-previous': 'true', 'fail-on': 'changes' })
    expect(core.core.failed).toBeUndefined()
    const broken: RunDeps['previousDeps'] = async (_token, env, tempDir) => ({
      env,
      tempDir,
      list: async () => {
        throw new Error('Resource not accessible by integration (403): the token needs actions: read')
      },
      download: async () => undefined
    })
    const failing = fakeCore(simulatorInputs(sim, { 'artifact-name': 'plant-b', 'compare-with-previous': 'true', 'fail-on': 'changes', 'upload-artifact': 'false' }))
    await run({
      core: failing,
      env: { GITHUB_ACTIONS: 'true', GITHUB_WORKSPACE: tmpdir() },
      clock: systemClock,
      readFile: f => readFileSync(f, 'utf8'),
      loadArtifactClient: async () => ({}) as ArtifactClientLike,
      trustCertificates: pem => tls.setDefaultCACertificates([...defaultCAs, pem]),
      previousDeps: broken
    })
    expect(failing.outputs.state).toBe('STATE_SUCCEEDED')
    expect(failing.logs).toContain('warning: no change report: the previous export could not be fetched: Resource not accessible by integration (403): the token needs actions: read')
    expect(failing.failed).toBe(
      'fail-on: changes: the change report could not be made, so the gate fails closed: the previous export could not be fetched: Resource not accessible by integration (403): the token needs actions: read'
    )
  })

  it('refuses compare-with-previous without a fixed artifact-name, before any connection', async () => {
    const sim = await startSimulator({})
    sims.push(sim)
    const ran = await runAction(sim, 4, { records: [] }, { 'compare-with-previous': 'true' })
    expect(ran.core.failed).toMatch(/^Input 'compare-with-previous' needs the artifact-name input: a fixed name that every run of this export shares/)
    expect(sim.requests).toHaveLength(0)
  })
})
