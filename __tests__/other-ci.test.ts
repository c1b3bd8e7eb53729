// The examples for GitLab CI, Jenkins and Azure DevOps: each file is parsed as its CI system would,
// and its script is run here twice, with its settings, against the simulator (whose project tree
// changes between orders) and the packed tarball in place of the registry's package. The first run is
// the baseline; the second gets the first run's record the way that CI system fetches it (GitLab: its
// artifacts API, served here by a stand-in that checks the job token; Jenkins' copyArtifacts and Azure
// DevOps' DownloadPipelineArtifact: the files they would copy) and reports the changes. What each file
// archives must be what the command wrote.
import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { parse } from 'yaml'
import { packTarball } from '../__fixtures__/pack.js'
import { startSimulator, type Simulator } from '../simulator/server.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (file: string) => readFileSync(path.join(root, 'examples/other-ci', file), 'utf8')
const token = 'ci-user-access-token-n1ghtly'

interface Example {
  /** The settings the file gives the command. */
  variables: Record<string, string>
  /** The shell script that fetches the previous record and runs the command. */
  script: string
  /** What the file keeps afterwards, relative to the working folder (globs as the CI system reads them). */
  archived: string[]
  /** Puts the previous run's record where this CI system's own step would (GitLab fetches it itself). */
  fetchPrevious(previousRun: string, cwd: string, variables: Record<string, string>): void
}

function gitlab(): Example {
  const job = (parse(read('gitlab-ci.yml')) as Record<string, { variables: Record<string, string>; script: string[]; artifacts: { paths: string[]; expire_in: string; when: string } }>)['octoplant-backup']
  expect(job.artifacts.expire_in).toBeTruthy()
  expect(job.artifacts.when).toBe('always')
  // GitLab runs the script lines in one shell.
  return { variables: job.variables, script: job.script.join('\n'), archived: job.artifacts.paths, fetchPrevious: () => undefined }
}

function jenkins(): Example {
  const text = read('Jenkinsfile')
  expect(text).toMatch(/triggers \{ cron\('[^']+'\) \}/)
  expect(text).toMatch(/withCredentials\(\[string\(credentialsId: '[\w-]+', variable: 'OCTOPLANT_TOKEN'\)\]\)/)
  const environment = /environment \{([^}]*)\}/.exec(text)![1]
  // Groovy single-quoted strings: \\ is one backslash.
  const variables = Object.fromEntries([...environment.matchAll(/^\s*(\w+) = '([^']*)'/gm)].map(m => [m[1], m[2].replace(/\\\\/g, '\\')]))
  const scripts = [...text.matchAll(/^\s*sh '([^']+)'/gm)].map(m => m[1])
  expect(scripts).toHaveLength(1)
  const archived = /archiveArtifacts artifacts: '([^']+)'/.exec(text)![1].split(',').map(s => s.trim())
  const copy = /copyArtifacts\(projectName: env\.JOB_NAME, selector: lastSuccessful\(\), filter: '([^']+)', target: '([^']+)', optional: true\)/.exec(text)!
  expect(copy).not.toBeNull()
  const [, filter, target] = copy
  return {
    variables,
    script: scripts[0],
    archived,
    // copyArtifacts copies the files the filter matches, with their paths, under the target folder.
    fetchPrevious: (previousRun, cwd) => {
      const dir = path.dirname(filter)
      const re = globRegExp(path.basename(filter))
      mkdirSync(path.join(cwd, target, dir), { recursive: true })
      for (const f of readdirSync(path.join(previousRun, dir)).filter(f => re.test(f))) copyFileSync(path.join(previousRun, dir, f), path.join(cwd, target, dir, f))
    }
  }
}

function azure(): Example {
  const pipeline = parse(read('azure-pipelines.yml')) as {
    schedules: { cron: string }[]
    variables: Record<string, string>
    steps: { script?: string; env?: Record<string, string>; publish?: string; artifact?: string; task?: string; inputs?: Record<string, string>; continueOnError?: boolean }[]
  }
  expect(pipeline.schedules[0].cron).toBeTruthy()
  const step = pipeline.steps.find(s => s.script)!
  // A secret variable reaches the script only through env:.
  expect(step.env?.OCTOPLANT_TOKEN).toMatch(/^\$\(\w+\)$/)
  const download = pipeline.steps.find(s => s.task === 'DownloadPipelineArtifact@2')!
  expect(download).toMatchObject({ continueOnError: true, inputs: { source: 'specific', runVersion: 'latest' } })
  const macro = (s: string) => s.replace(/\$\((\w+)\)/g, (_, v: string) => pipeline.variables[v])
  const published = pipeline.steps.find(s => s.artifact === download.inputs!.artifact)!
  return {
    variables: pipeline.variables,
    script: step.script!.trimEnd(),
    archived: pipeline.steps.filter(s => s.publish).map(s => macro(s.publish!)),
    // The artifact published from a single file downloads as that file into the path.
    fetchPrevious: (previousRun, cwd) => {
      const file = macro(published.publish!)
      mkdirSync(path.join(cwd, download.inputs!.path), { recursive: true })
      copyFileSync(path.join(previousRun, file), path.join(cwd, download.inputs!.path, path.basename(file)))
    }
  }
}

function globRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`)
}

/** GitLab's "download a single artifact file from the latest successful job" route, for one job's
 *  last folder: what a later pipeline's curl fetches with its CI_JOB_TOKEN. */
async function gitlabArtifacts(jobToken: string) {
  const state = { lastRun: undefined as string | undefined, requests: [] as string[] }
  const server = http.createServer((req, res) => {
    state.requests.push(`${req.method} ${req.url}`)
    const m = /^\/api\/v4\/projects\/42\/jobs\/artifacts\/main\/raw\/(.+)\?job=octoplant-backup$/.exec(req.url ?? '')
    if (req.headers['job-token'] !== jobToken) return void res.writeHead(401).end('{"message":"401 Unauthorized"}')
    const file = m && state.lastRun ? path.join(state.lastRun, decodeURIComponent(m[1])) : undefined
    if (!file || !existsSync(file)) return void res.writeHead(404).end('{"message":"404 Not Found"}')
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { state, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v4`, stop: () => new Promise<void>(resolve => server.close(() => resolve())) }
}

let tarball: string
let gitlabApi: Awaited<ReturnType<typeof gitlabArtifacts>>
beforeAll(async () => {
  tarball = packTarball()
  gitlabApi = await gitlabArtifacts('job-token-of-this-pipeline')
}, 120_000)
afterAll(async () => gitlabApi?.stop())

async function runScript(example: Example, sim: Simulator, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string; result: Record<string, string> }> {
  writeFileSync(path.join(cwd, example.variables.OCTOPLANT_CA_CERTIFICATE), sim.caPem!)
  const env = {
    PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`,
    HOME: process.env.HOME,
    npm_config_offline: 'true',
    npm_config_update_notifier: 'false',
    ...example.variables,
    // Here, not the plant's: the simulator and this checkout's tarball in place of the registry's.
    OCTOPLANT_SERVER_URL: sim.url,
    OCTOPLANT_EXPORT_PACKAGE: tarball,
    OCTOPLANT_TOKEN: token,
    // What GitLab gives every job.
    CI_API_V4_URL: gitlabApi.url,
    CI_PROJECT_ID: '42',
    CI_COMMIT_REF_NAME: 'main',
    CI_JOB_NAME: 'octoplant-backup',
    CI_JOB_TOKEN: 'job-token-of-this-pipeline'
  }
  const child = spawn('bash', ['-e', '-c', example.script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d))
  child.stderr.on('data', (d: Buffer) => (stderr += d))
  const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
  const result = existsSync(path.join(cwd, 'export.json')) ? (JSON.parse(readFileSync(path.join(cwd, 'export.json'), 'utf8')) as Record<string, string>) : {}
  return { code, stdout, stderr, result }
}

function expectArchived(example: Example, cwd: string, result: Record<string, string>) {
  const written = ['zip-path', 'record-path', 'manifest-path', 'changes-path'].filter(k => result[k]).map(k => path.relative(cwd, result[k]))
  const archived = (file: string) =>
    example.archived.some(pattern => {
      if (!pattern.includes('*')) return file === pattern || file.startsWith(`${pattern}/`)
      return path.dirname(file) === path.dirname(pattern) && globRegExp(path.basename(pattern)).test(path.basename(file))
    })
  for (const file of [...written, 'export.json']) expect(archived(file), `${file} is archived`).toBe(true)
}

describe.each([
  ['GitLab CI', gitlab],
  ['Jenkins', jenkins],
  ['Azure DevOps', azure]
] as const)('the %s example', (_, load) => {
  it('exports a baseline, then compares the next export with its record, and archives what it wrote', async () => {
    const example = load()
    // A plant of its own: its tree changes between this example's two orders.
    const sim = await startSimulator({ pendingMs: 100, runningMs: 300, changingTree: true, accessTokens: { [token]: { user: 'PLANT\\svc-octoplant-backup' } } })
    onTestFinished(() => sim.stop())
    expect(example.variables.OCTOPLANT_SERVER_URL).toMatch(/^https:\/\//)
    // Installed by name from npm, signed in with a token (no user name, no password).
    expect(example.variables.OCTOPLANT_EXPORT_PACKAGE).toBe('octoplant-export@1')
    expect(example.script).toMatch(/npx --yes --package "\$OCTOPLANT_EXPORT_PACKAGE" octoplant-export --path backups > export\.json$/)
    expect(example.variables.OCTOPLANT_USERNAME).toBeUndefined()
    const name = example.variables.OCTOPLANT_ARTIFACT_NAME
    expect(name).toBeTruthy()

    const first = mkdtempSync(path.join(tmpdir(), 'ci-'))
    gitlabApi.state.lastRun = undefined
    const baseline = await runScript(example, sim, first)
    expect(baseline.code, baseline.stderr).toBe(0)
    expect(baseline.stdout).toContain('no previous export to compare with: this one is the baseline')
    expect(baseline.result.state).toBe('STATE_SUCCEEDED')
    expect(baseline.result['record-path']).toBe(path.join(first, 'backups', `${name}.record.json`))
    expect(baseline.result['changes-path']).toBeUndefined()
    expect(baseline.stderr).toMatch(/Signed in with access token/)
    expectArchived(example, first, baseline.result)

    const second = mkdtempSync(path.join(tmpdir(), 'ci-'))
    example.fetchPrevious(first, second, example.variables)
    gitlabApi.state.lastRun = first
    const next = await runScript(example, sim, second)
    expect(next.code, next.stderr).toBe(0)
    expect(next.result).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1' })
    const changes = JSON.parse(readFileSync(next.result['changes-path'], 'utf8')) as { comparedWith: { kind: string; orderName: string } }
    expect(changes.comparedWith).toMatchObject({ kind: 'record', orderName: baseline.result['order-name'] })
    expectArchived(example, second, next.result)
    for (const text of [baseline.stderr, next.stderr, JSON.stringify(next.result)]) {
      expect(text).not.toContain(token)
      for (const issued of sim.issuedTokens) expect(text).not.toContain(issued)
    }
  })
})
