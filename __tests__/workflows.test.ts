// The workflows users copy, and our own CI, checked against action.yml: every input they pass exists,
// every required input is passed, every output they read exists. The compliance example's check runs
// for real against an export of the simulator.
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type ArtifactBackend, startArtifactBackend } from '../__fixtures__/artifact-backend.js'
import { runLocally } from '../scripts/local-runner.js'
import { type Simulator, type SimulatorOptions, startSimulator } from '../simulator/server.js'
import { extractZip } from '../src/engine/zip/extract.js'

const root = new URL('..', import.meta.url).pathname
const action = parse(readFileSync(path.join(root, 'action.yml'), 'utf8')) as {
  inputs: Record<string, { required?: boolean }>
  outputs: Record<string, unknown>
}
const files = [
  ...readdirSync(path.join(root, '.github/workflows')).map(f => `.github/workflows/${f}`),
  // GitHub workflows only; examples/other-ci/ holds GitLab, Jenkins and Azure DevOps (other-ci.test.ts).
  ...readdirSync(path.join(root, 'examples'), { withFileTypes: true }).filter(f => f.isFile()).map(f => `examples/${f.name}`)
]

interface Step {
  id?: string
  uses?: string
  run?: string
  with?: Record<string, unknown>
  env?: Record<string, string>
}
type Workflow = { on: unknown; jobs: Record<string, { 'runs-on': unknown; steps: Step[] }> }

const isOurs = (uses?: string) => uses === './' || /(^|\/)octoplant-export-action@/.test(uses ?? '')

describe.each(files)('%s', file => {
  it('is a workflow: a trigger, and jobs with runs-on and steps', () => {
    const workflow = parse(readFileSync(path.join(root, file), 'utf8')) as Workflow
    expect(workflow.on).toBeDefined()
    expect(Object.keys(workflow.jobs).length).toBeGreaterThan(0)
    for (const job of Object.values(workflow.jobs)) {
      expect(job['runs-on']).toBeDefined()
      expect(job.steps.length).toBeGreaterThan(0)
    }
  })
})

// The workflows that run this action: our CI's self-test and every example.
const usingTheAction = files.filter(f => f.startsWith('examples/') || f === '.github/workflows/ci.yml')

describe.each(usingTheAction)('%s, using the action', file => {
  const text = readFileSync(path.join(root, file), 'utf8')
  const workflow = parse(text) as Workflow

  it('passes only inputs action.yml has, and every required one', () => {
    const steps = Object.values(workflow.jobs).flatMap(j => j.steps).filter(s => isOurs(s.uses))
    expect(steps.length).toBeGreaterThan(0)
    for (const step of steps) {
      const given = Object.keys(step.with ?? {})
      expect(given.filter(k => !(k in action.inputs))).toEqual([])
      const required = Object.entries(action.inputs).filter(([, i]) => i.required).map(([k]) => k)
      expect(required.filter(k => !given.includes(k))).toEqual([])
    }
  })

  it('reads only outputs action.yml has', () => {
    const ids = Object.values(workflow.jobs).flatMap(j => j.steps).filter(s => isOurs(s.uses) && s.id).map(s => s.id!)
    const read = [...text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)].filter(m => ids.includes(m[1])).map(m => m[2])
    expect(read.length).toBeGreaterThan(0)
    expect(read.filter(o => !(o in action.outputs))).toEqual([])
  })
})

/** The example's secrets.OCTOPLANT_TOKEN, here: an access token the simulator knows. */
const CI_TOKEN = 'compliance-ci-token'

describe('the compliance example, run step by step against the simulator and a real artifact store', () => {
  const workflow = parse(readFileSync(path.join(root, 'examples/compliance-check.yml'), 'utf8')) as Workflow & { env: Record<string, string> }
  const steps = workflow.jobs.compliance.steps as (Step & { name?: string })[]
  const verify = workflow.jobs.verify.steps as (Step & { name?: string })[]
  const exportName = workflow.env.EXPORT_NAME
  let backend: ArtifactBackend
  const sims: Simulator[] = []
  beforeAll(async () => void (backend = await startArtifactBackend()), 60_000)
  afterAll(() => Promise.all([backend?.stop(), ...sims.map(s => s.stop())]))

  async function simulator(o: SimulatorOptions) {
    const sim = await startSimulator({ pendingMs: 50, runningMs: 100, accessTokens: { [CI_TOKEN]: { user: 'versiondog' } }, ...o })
    sims.push(sim)
    return sim
  }

  /** One of the compliance job's export steps, as the runner would run it in run `runId`. */
  async function runStep(id: string, sim: Simulator, runId: number) {
    const step = steps.find(s => s.id === id)!
    const inputs = Object.fromEntries(
      Object.entries(step.with!).map(([k, v]) => [k, String(v).replace('${{ env.EXPORT_NAME }}', exportName)])
    )
    backend.runId = runId
    return runLocally({
      inputs: { ...inputs, 'server-url': sim.url, token: CI_TOKEN, 'ca-certificate': sim.caPem!, 'github-token': backend.githubToken },
      env: { ...backend.env, GITHUB_RUN_ID: String(runId) }
    })
  }

  it('the job results step passes when no job differs, and fails naming the jobs when some do, keeping the evidence', async () => {
    const calm = await runStep('job-results', await simulator({ jobs: [] }), 7001)
    expect(calm.code, calm.stdout).toBe(0)
    expect(calm.outputs['unequal-job-results']).toBe('0')
    const failing = await runStep('job-results', await simulator({}), 7002)
    expect(failing.code).toBe(1)
    expect(failing.stdout).toMatch(/::error::fail-on: unequal-job-results: the unequalJobResults export \(unequalJobResults\.csv\) lists 2 job\(s\) with differences or errors: "Nightly upload Line 1 HMI/)
    expect(backend.artifacts.filter(a => a.runId === 7002).map(a => a.name)).toEqual([
      `${exportName}-job-results.zip`,
      `${exportName}-job-results.record.json`,
      `${exportName}-job-results.manifest.sha256`
    ])
  })

  it('the tree step makes a baseline, then fails on a change; the verify job proves the kept export against its manifest', async () => {
    const plant = await simulator({ changingTree: true })
    const baseline = await runStep('tree', plant, 7101)
    expect(baseline.code, baseline.stdout).toBe(0)
    expect(baseline.stdout).toContain('No previous export to compare with: this export is the baseline.')
    const changed = await runStep('tree', plant, 7102)
    expect(changed.code).toBe(1)
    expect(changed.stdout).toMatch(/::error::fail-on: changes: 3 entries differ from the previous export [\w-]+ of [^:]+:\d\d:[\d.]+Z: 1 added/)
    expect(changed.outputs).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1' })

    // The verify job, on a clean folder: download-artifact unpacks the ZIP artifact and saves the
    // manifest as its file; then the step's script runs as written.
    const work = mkdtempSync(path.join(tmpdir(), 'verify-'))
    expect(verify.map(s => s.with?.name)).toEqual(['${{ env.EXPORT_NAME }}.zip', '${{ env.EXPORT_NAME }}.manifest.sha256', undefined])
    await extractZip(changed.outputs['zip-path'], path.join(work, 'export'))
    mkdirSync(path.join(work, 'evidence'))
    copyFileSync(changed.outputs['manifest-path'], path.join(work, 'evidence', `${exportName}.manifest.sha256`))
    const script = verify.at(-1)!.run!
    const passed = await promisify(execFile)('bash', ['-e', '-c', script], { cwd: work, env: { ...process.env, EXPORT_NAME: exportName } })
    expect(passed.stdout).toBe(`all 8 files match the manifest\n`)
    // The same script fails on a file changed after the export.
    writeFileSync(path.join(work, 'export/projectTree/Plant/Line 1/HMI TP1200/Screens.xml'), '<screens/>')
    await expect(promisify(execFile)('bash', ['-e', '-c', script], { cwd: work, env: { ...process.env, EXPORT_NAME: exportName } })).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringContaining('Screens.xml: FAILED')
    })
  })
})

describe('the release machinery', () => {
  const release = parse(readFileSync(path.join(root, '.github/workflows/release.yml'), 'utf8')) as Workflow & { on: { push: { tags: string[] } } }
  const runs = (job: string) => release.jobs[job].steps.map(s => s.run ?? s.uses ?? '').join('\n')

  it('runs on version tags, checks the tag, the tests and dist/ before releasing', () => {
    expect(release.on.push.tags).toEqual(['v[0-9]+.[0-9]+.[0-9]+'])
    expect(runs('check')).toContain('require("./package.json").version')
    expect(runs('check')).toContain('npm test')
    expect(runs('check')).toContain('npm run check-dist')
    expect((release.jobs.release as unknown as { needs: string }).needs).toBe('check')
  })

  it('creates the release from the changelog with the tarball, and moves the major tag', () => {
    expect(runs('release')).toContain('npm pack')
    expect(runs('release')).toMatch(/bash scripts\/release-notes\.sh .*> notes\.md\n\s*gh release create "\$GITHUB_REF_NAME" .*--notes-file notes\.md .*octoplant-export-\*\.tgz/)
    expect(runs('release')).toContain('git push -f origin "refs/tags/$major"')
  })

  it('publishes the command to npm by name with provenance, after the checks', () => {
    const publish = release.jobs.publish as unknown as { needs: string; permissions: Record<string, string> }
    expect(publish.needs).toBe('check')
    expect(publish.permissions['id-token']).toBe('write')
    expect(runs('publish')).toContain('npm publish --provenance --access public')
    expect(runs('publish')).toContain('repository.url=git+https://github.com/${GITHUB_REPOSITORY}.git')
  })

  it('has a changelog section for the version in package.json', async () => {
    const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }
    const { stdout } = await promisify(execFile)('bash', [path.join(root, 'scripts/release-notes.sh'), version])
    expect(stdout).toContain('### Added')
    await expect(promisify(execFile)('bash', [path.join(root, 'scripts/release-notes.sh'), '0.0.0'])).rejects.toThrow(/no section for 0\.0\.0/)
  })

  it('scans the code with CodeQL and keeps dependencies fresh, grouped and weekly', () => {
    const codeql = readFileSync(path.join(root, '.github/workflows/codeql.yml'), 'utf8')
    expect(codeql).toContain('github/codeql-action/init@')
    expect(codeql).toContain('languages: javascript-typescript')
    const dependabot = parse(readFileSync(path.join(root, '.github/dependabot.yml'), 'utf8')) as {
      version: number
      updates: { 'package-ecosystem': string; schedule: { interval: string }; groups: Record<string, unknown> }[]
    }
    expect(dependabot.version).toBe(2)
    expect(dependabot.updates.map(u => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm'])
    for (const u of dependabot.updates) {
      expect(u.schedule.interval).toBe('weekly')
      expect(Object.keys(u.groups).length).toBeGreaterThan(0)
    }
  })
})
