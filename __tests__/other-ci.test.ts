// The examples for GitLab CI, Jenkins and Azure DevOps: each file is parsed as its CI system would,
// and the command line it runs is run here, with its settings, against the simulator and the packed
// tarball in place of the release's; what it archives must be what the command wrote.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { packTarball } from '../__fixtures__/pack.js'
import { startSimulator, type Simulator } from '../simulator/server.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const read = (file: string) => readFileSync(path.join(root, 'examples/other-ci', file), 'utf8')
const token = 'ci-user-access-token-n1ghtly'

interface Example {
  /** The settings the file gives the command. */
  variables: Record<string, string>
  /** The shell line that runs the command. */
  script: string
  /** What the file keeps afterwards, relative to the working folder (globs as the CI system reads them). */
  archived: string[]
}

function gitlab(): Example {
  const job = (parse(read('gitlab-ci.yml')) as Record<string, { variables: Record<string, string>; script: string[]; artifacts: { paths: string[]; expire_in: string } }>)['octoplant-backup']
  expect(job.artifacts.expire_in).toBeTruthy()
  expect(job.script).toHaveLength(1)
  return { variables: job.variables, script: job.script[0], archived: job.artifacts.paths }
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
  return { variables, script: scripts[0], archived }
}

function azure(): Example {
  const pipeline = parse(read('azure-pipelines.yml')) as {
    schedules: { cron: string }[]
    variables: Record<string, string>
    steps: { script?: string; env?: Record<string, string>; publish?: string }[]
  }
  expect(pipeline.schedules[0].cron).toBeTruthy()
  const step = pipeline.steps.find(s => s.script)!
  // A secret variable reaches the script only through env:.
  expect(step.env?.OCTOPLANT_TOKEN).toMatch(/^\$\(\w+\)$/)
  return { variables: pipeline.variables, script: step.script!, archived: pipeline.steps.filter(s => s.publish).map(s => s.publish!) }
}

let sim: Simulator
let tarball: string
beforeAll(async () => {
  tarball = packTarball()
  sim = await startSimulator({ pendingMs: 100, runningMs: 400, accessTokens: { [token]: { user: 'PLANT\\svc-octoplant-backup' } } })
}, 120_000)
afterAll(async () => sim?.stop())

describe.each([
  ['GitLab CI', gitlab],
  ['Jenkins', jenkins],
  ['Azure DevOps', azure]
] as const)('the %s example', (_, load) => {
  it('runs its command line against the simulator and archives what it wrote', async () => {
    const example = load()
    expect(example.variables.OCTOPLANT_SERVER_URL).toMatch(/^https:\/\//)
    // Installed by name from npm, signed in with a token (no user name, no password).
    expect(example.variables.OCTOPLANT_EXPORT_PACKAGE).toBe('octoplant-export@1')
    expect(example.script).toMatch(/^npx --yes --package "\$OCTOPLANT_EXPORT_PACKAGE" octoplant-export /)
    expect(example.variables.OCTOPLANT_USERNAME).toBeUndefined()
    const cwd = mkdtempSync(path.join(tmpdir(), 'ci-'))
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
      OCTOPLANT_TOKEN: token
    }
    const child = spawn('bash', ['-c', example.script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    const code = await new Promise<number | null>(resolve => child.on('exit', c => resolve(c)))
    expect(code, stderr).toBe(0)
    const result = JSON.parse(readFileSync(path.join(cwd, 'export.json'), 'utf8')) as Record<string, string>
    expect(result.state).toBe('STATE_SUCCEEDED')
    expect(path.dirname(result['zip-path'])).toBe(path.join(cwd, 'backups'))
    // What the file archives matches what the command wrote.
    for (const pattern of example.archived) {
      const [dir, glob] = pattern.includes('/') ? [path.dirname(pattern), path.basename(pattern)] : [pattern, '']
      const target = path.join(cwd, dir)
      if (!glob) {
        expect(existsSync(target), pattern).toBe(true)
        continue
      }
      const re = new RegExp(`^${glob.replace(/\./g, '\\.').replace(/\*/g, '.*')}$`)
      expect(readdirSync(target).filter(f => re.test(f)), pattern).toContain(path.basename(result['zip-path']))
    }
    expect(stderr).toMatch(/Signed in with access token/)
    expect(stderr).not.toContain(token)
    for (const issued of sim.issuedTokens) expect(stderr + readFileSync(path.join(cwd, 'export.json'), 'utf8')).not.toContain(issued)
  })
})
