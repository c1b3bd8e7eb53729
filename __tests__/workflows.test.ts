// The workflows users copy, and our own CI, checked against action.yml: every input they pass exists,
// every required input is passed, every output they read exists. The compliance example's check runs
// for real against an export of the simulator.
import { execFile } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { makeZip } from '../__fixtures__/zips.js'
import { runLocally } from '../scripts/local-runner.js'
import { type Simulator, startSimulator } from '../simulator/server.js'

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
const simulatorOptions = { pendingMs: 50, runningMs: 100, accessTokens: { [CI_TOKEN]: { user: 'versiondog' } } }

describe('the compliance example', () => {
  const workflow = parse(readFileSync(path.join(root, 'examples/compliance-check.yml'), 'utf8')) as Workflow
  const steps = workflow.jobs.compliance.steps as (Step & { name?: string })[]
  const exportStep = steps.find(s => s.id === 'export')!
  const check = steps.find(s => s.name === 'Fail when any job result differs from the archive')!
  const sims: Simulator[] = []
  afterAll(() => Promise.all(sims.map(s => s.stop())))

  /** Runs the example's export step against the simulator, then its check step with bash. */
  async function exportAndCheck(sim: Simulator): Promise<{ code: number; stdout: string }> {
    const inputs = Object.fromEntries(Object.entries(exportStep.with!).map(([k, v]) => [k, String(v)]))
    const run = await runLocally({
      inputs: { ...inputs, 'server-url': sim.url, token: CI_TOKEN, 'ca-certificate': sim.caPem! }
    })
    expect(run.code, run.stdout).toBe(0)
    const script = check.run!.replace(/\$\{\{ steps\.export\.outputs\.([\w-]+) \}\}/g, (_, o: string) => run.outputs[o])
    try {
      const { stdout } = await promisify(execFile)('bash', ['-e', '-c', script], { env: { ...process.env, EXPORT: run.outputs['extract-path'] } })
      return { code: 0, stdout }
    } catch (e) {
      const failed = e as { code: number; stdout: string }
      return { code: failed.code, stdout: failed.stdout }
    }
  }

  it('passes when every job result is ok', async () => {
    const sim = await startSimulator(simulatorOptions)
    sims.push(sim)
    expect(await exportAndCheck(sim)).toEqual({ code: 0, stdout: 'job results that differ: 0\n' })
  })

  it('fails the workflow when a job result differs from the archive', async () => {
    const sim = await startSimulator(simulatorOptions)
    sims.push(sim)
    const differing = await makeZip({
      'contents.json': JSON.stringify({ files: ['unequalJobResults.json'] }),
      'unequalJobResults.json': JSON.stringify({ items: [{ id: 'c1', name: 'Line 1/PLC', status: 'ok' }, { id: 'c2', name: 'Line 2/HMI', status: 'unequal' }] })
    })
    sim.intercept((_req, res, route) => {
      if (route !== 'GET /v1/order/{name}/download') return false
      res.writeHead(200, { 'content-type': 'application/zip' })
      res.end(differing)
      return true
    })
    const result = await exportAndCheck(sim)
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('job results that differ: 1\n')
    expect(result.stdout).toContain('::error::1 job result(s) differ from the archived version')
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
