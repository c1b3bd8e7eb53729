// The compliance evidence, made by the command against the simulator: a manifest that `sha256sum -c`
// accepts on the real extraction, a record that passes its schema and holds no secret, a change
// report that is right against a previous ZIP and a previous record, and a gate that fails with exit
// 3 while keeping the evidence, and fails closed on a job results file it cannot read.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { afterEach, describe, expect, it } from 'vitest'
import { runCommand } from '../__fixtures__/command.js'
import { makeZip } from '../__fixtures__/zips.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'
import { parseSha256sumLine, sha256sumLine } from '../src/engine/evidence/manifest.js'

const password = 'evidence-pw-3f9c'
const CONTENTS = '{"projectTree": {}, "unequalJobResults": {}, "jobResults": {"exportType": "EXPORT_TYPE_JSON"}}'
const schema = JSON.parse(readFileSync(new URL('../schemas/export-record.schema.json', import.meta.url), 'utf8')) as object

interface Side {
  size: number
  crc32: string
  sha256?: string
}
interface ChangesFile {
  comparedBy: string
  comparedWith: Record<string, string>
  counts: Record<string, number>
  changes: { change: string; path: string; old?: Side; new?: Side }[]
}
interface RecordFile {
  server: object
  order: object
  zip: object
  manifest: { sha256: string; files: number }
  ranBy: object
  startedAt: string
  finishedAt: string
  entries: ({ path: string } & Side)[]
}

let sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})

async function simulator(o: SimulatorOptions = {}) {
  const sim = await startSimulator({ pendingMs: 50, runningMs: 150, users: { backup: password }, ...o })
  sims.push(sim)
  return sim
}

/** The command in a folder of its own, with the simulator's settings in its environment. */
async function exportWith(sim: Simulator, args: string[], cwd = mkdtempSync(path.join(tmpdir(), 'evidence-')), env: Record<string, string> = {}) {
  writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
  const ran = await runCommand(args, { OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_USERNAME: 'backup', OCTOPLANT_PASSWORD: password, OCTOPLANT_CA_CERTIFICATE: 'ca.pem', ...env }, cwd)
  return { ...ran, cwd, out: ran.json as Record<string, string> }
}

function expectNoSecret(sim: Simulator, ...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(password)
    for (const token of sim.issuedTokens) expect(text).not.toContain(token)
  }
}

describe('the manifest', () => {
  it('is checked by sha256sum -c in the extracted folder: non-ASCII names, spaces, an empty file', async () => {
    const sim = await simulator()
    const run = await exportWith(sim, ['--export-contents', CONTENTS, '--extract'])
    expect(run.code, run.stderr).toBe(0)
    const manifest = run.out['manifest-path']
    const lines = readFileSync(manifest, 'utf8').trimEnd().split('\n')
    // Every file entry, as in the ZIP, in sha256sum's format; the empty file too.
    expect(lines).toContain('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855  projectTree/Plant/Line 1/PLC S7-1500/Notes.txt')
    expect(lines.every(l => /^[0-9a-f]{64} {2}\S/.test(l))).toBe(true)
    const check = spawnSync('sha256sum', ['--check', '--strict', manifest], { cwd: run.out['extract-path'], encoding: 'utf8' })
    expect(check.status, check.stdout + check.stderr).toBe(0)
    expect(check.stdout).toContain('projectTree/Plant/Line 2/Antrieb Süd G120/Parameter.txt: OK')
    expect(check.stdout.trim().split('\n')).toHaveLength(lines.length)

    // And it catches a changed file.
    writeFileSync(path.join(run.out['extract-path'], 'projectTree/Plant/Line 1/PLC S7-1500/Notes.txt'), 'tampered')
    const tampered = spawnSync('sha256sum', ['--check', '--strict', manifest], { cwd: run.out['extract-path'], encoding: 'utf8' })
    expect(tampered.status).toBe(1)
    expect(tampered.stdout).toContain('Notes.txt: FAILED')
  })
})

describe('the export record', () => {
  it('passes its schema, says where the export came from and who made it, and holds no secret', async () => {
    const sim = await simulator()
    const ciEnv = { GITLAB_CI: 'true', CI_PROJECT_PATH: 'plant/backups', CI_PIPELINE_ID: '77', CI_JOB_URL: 'https://gitlab.plant.local/plant/backups/-/jobs/9', CI_JOB_TOKEN: 'glcbt-must-not-appear' }
    const run = await exportWith(sim, ['--export-contents', CONTENTS], undefined, ciEnv)
    expect(run.code, run.stderr).toBe(0)
    const text = readFileSync(run.out['record-path'], 'utf8')
    const record = JSON.parse(text) as RecordFile
    const validate = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, validateFormats: false }).compile(schema)
    expect(validate(record), JSON.stringify(validate.errors)).toBe(true)
    expect(record.server).toMatchObject({ url: sim.url, apiVersion: expect.any(String), versiondogVersion: expect.any(String), signedInWith: 'user "backup" and password' })
    expect(record.order).toMatchObject({ name: run.out['order-name'], resumed: false, exportContents: JSON.parse(CONTENTS), systemId: expect.any(String), licenseSerialNumber: expect.any(String) })
    expect(record.zip).toMatchObject({ size: Number(run.out['zip-size']), sha256: run.out['zip-sha256'] })
    expect(record.manifest.sha256).toBe(execFileSync('sha256sum', [run.out['manifest-path']], { encoding: 'utf8' }).slice(0, 64))
    expect(record.ranBy).toEqual({ system: 'gitlab-ci', project: 'plant/backups', pipelineId: '77', jobUrl: ciEnv.CI_JOB_URL })
    expect(Date.parse(record.finishedAt)).toBeGreaterThanOrEqual(Date.parse(record.startedAt))
    expect(record.entries.length).toBe(record.manifest.files)
    expect(text).not.toContain('glcbt-must-not-appear')
    expectNoSecret(sim, text, readFileSync(run.out['manifest-path'], 'utf8'), run.stdout, run.stderr)
  })

  it('fails its schema when a field is wrong (the schema is a real check)', async () => {
    const sim = await simulator()
    const run = await exportWith(sim, [])
    const record = JSON.parse(readFileSync(run.out['record-path'], 'utf8')) as RecordFile
    const validate = new Ajv2020({ strict: true, allowUnionTypes: true, validateFormats: false }).compile(schema)
    record.entries[0].sha256 = 'not-a-digest'
    expect(validate(record)).toBe(false)
  })
})

describe('the change report', () => {
  it('against a previous ZIP: by CRC-32 and size, each entry added, removed, changed or unchanged', async () => {
    const sim = await simulator({ changingTree: true })
    const cwd = mkdtempSync(path.join(tmpdir(), 'evidence-'))
    const first = await exportWith(sim, ['--artifact-name', 'first'], cwd)
    const second = await exportWith(sim, ['--artifact-name', 'second', '--compare-with', first.out['zip-path']], cwd)
    expect(second.code, second.stderr).toBe(0)
    expect(second.out).toMatchObject({ 'entries-added': '1', 'entries-removed': '1', 'entries-changed': '1', 'changes-path': path.join(cwd, 'out/second.changes.json') })
    const report = JSON.parse(readFileSync(second.out['changes-path'], 'utf8')) as ChangesFile
    expect(report.comparedBy).toBe('crc32+size')
    expect(report.counts).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 5 })
    const byPath = Object.fromEntries(report.changes.map(c => [c.path, c]))
    expect(byPath['projectTree/Plant/Line 3/PLC S7-1200/Program.awl']).toMatchObject({ change: 'added', new: { size: expect.any(Number), crc32: expect.stringMatching(/^[0-9a-f]{8}$/) } })
    expect(byPath['projectTree/Plant/Line 2/Antrieb Süd G120/Inbetriebnahme alt.txt']).toMatchObject({ change: 'removed', old: { size: 18 } })
    const changed = byPath['projectTree/Plant/Line 1/PLC S7-1500/Program.awl']
    expect(changed.change).toBe('changed')
    expect(changed.old!.size).not.toBe(changed.new!.size)
    // Unchanged entries are counted, not listed.
    expect(byPath['projectTree/Plant/Line 1/PLC S7-1500/Hardware.cfg']).toBeUndefined()
    expect(second.stderr).toContain('1 added, 1 removed, 1 changed, 5 unchanged (by crc32+size)')
  })

  it('against a previous record: by SHA-256', async () => {
    const sim = await simulator({ changingTree: true })
    const cwd = mkdtempSync(path.join(tmpdir(), 'evidence-'))
    const first = await exportWith(sim, ['--artifact-name', 'first'], cwd)
    const second = await exportWith(sim, ['--artifact-name', 'second', '--compare-with', first.out['record-path']], cwd)
    expect(second.code, second.stderr).toBe(0)
    const report = JSON.parse(readFileSync(second.out['changes-path'], 'utf8')) as ChangesFile
    expect(report.comparedBy).toBe('sha256')
    expect(report.comparedWith).toMatchObject({ kind: 'record', orderName: first.out['order-name'] })
    expect(report.counts).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 5 })
    const changed = report.changes.find(c => c.path === 'projectTree/Plant/Line 1/PLC S7-1500/Program.awl')!
    expect(changed.old!.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(changed.new!.sha256).not.toBe(changed.old!.sha256)

    // The same tree again: nothing changed (contents.json, which names the order, is not compared).
    const same = await simulator()
    const a = await exportWith(same, ['--artifact-name', 'a'], cwd)
    const b = await exportWith(same, ['--artifact-name', 'b', '--compare-with', a.out['record-path']], cwd)
    expect(b.out).toMatchObject({ 'entries-added': '0', 'entries-removed': '0', 'entries-changed': '0' })
  })

  it('refuses a compare-with file that is neither a ZIP nor a record, before any connection', async () => {
    const sim = await simulator()
    const run = await exportWith(sim, ['--compare-with', 'missing.zip'])
    expect(run.code).toBe(2)
    expect(run.out['error-message']).toMatch(/^--compare-with \(or OCTOPLANT_COMPARE_WITH\) names no readable file: .*missing\.zip/)
    expect(sim.requests).toHaveLength(0)
  })
})

describe('the gate (--fail-on)', () => {
  it('exits 3 naming the count and the first items, and keeps the ZIP, the manifest, the record and the changes', async () => {
    const sim = await simulator({ changingTree: true })
    const cwd = mkdtempSync(path.join(tmpdir(), 'evidence-'))
    const first = await exportWith(sim, ['--artifact-name', 'first', '--export-contents', CONTENTS], cwd)
    const second = await exportWith(sim, ['--artifact-name', 'second', '--export-contents', CONTENTS, '--compare-with', first.out['record-path'], '--fail-on', 'unequal-job-results,changes'], cwd)
    expect(second.code).toBe(3)
    expect(second.out.state).toBe('STATE_SUCCEEDED')
    for (const key of ['zip-path', 'manifest-path', 'record-path', 'changes-path']) expect(existsSync(second.out[key]), key).toBe(true)
    expect(second.out['unequal-job-results']).toBe('2')
    const message = second.out['error-message']
    expect(message).toMatch(/^--fail-on unequal-job-results: the unequalJobResults export \(unequalJobResults\.csv\) lists 2 job\(s\) with differences or errors: "Nightly upload Line 1 HMI/)
    expect(message).toMatch(/; --fail-on changes: 3 entries differ from the previous export [\w-]+ of [\d-]+T[\d:.]+Z: 1 added \("projectTree\/Plant\/Line 3\/PLC S7-1200\/Program\.awl"\), 1 removed/)
    expect(second.stderr).toContain(`error: ${message}`)
  })

  it('passes when nothing differs, with the count as an output', async () => {
    const sim = await simulator({ jobs: [] })
    const run = await exportWith(sim, ['--export-contents', CONTENTS, '--fail-on', 'unequal-job-results'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.out['unequal-job-results']).toBe('0')
  })

  it('fails closed on a job results file of unknown shape, saying so', async () => {
    const sim = await simulator()
    const zip = await makeZip({ 'contents.json': '{"files": ["unequalJobResults.json"]}', 'unequalJobResults.json': '{"differences": [{"job": "a"}], "errors": []}' })
    sim.intercept((_req, res, route) => {
      if (route !== 'GET /v1/order/{name}/download') return false
      res.writeHead(200, { 'content-type': 'application/zip' })
      res.end(zip)
      return true
    })
    const run = await exportWith(sim, ['--export-contents', '{"unequalJobResults": {"exportType": "EXPORT_TYPE_JSON"}}', '--fail-on', 'unequal-job-results'])
    expect(run.code).toBe(3)
    expect(run.out['unequal-job-results']).toBeUndefined()
    expect(run.out['error-message']).toBe(
      '--fail-on unequal-job-results: the unequalJobResults export cannot be counted, so the gate fails closed: unequalJobResults.json is JSON of an unknown shape: neither an array of job results nor an object holding exactly one array'
    )
  })

  it('refuses fail-on that cannot be judged, before any connection', async () => {
    const sim = await simulator()
    const cases: [string[], RegExp][] = [
      [['--fail-on', 'changes'], /^--fail-on \(or OCTOPLANT_FAIL_ON\) "changes" needs a previous export to compare with: set --compare-with$/],
      [['--fail-on', 'unequal-job-results'], /"unequal-job-results" judges the unequalJobResults export, which --export-contents does not ask for/],
      [['--fail-on', 'change'], /takes a comma list of unequal-job-results, changes; "change" is not one of them/]
    ]
    for (const [args, message] of cases) {
      const run = await exportWith(sim, args)
      expect(run.code).toBe(2)
      expect(run.out['error-message']).toMatch(message)
    }
    expect(sim.requests).toHaveLength(0)
  })
})

describe('sha256sum lines', () => {
  it('escape a backslash and a line break as GNU sha256sum does, which sha256sum -c and our reader read back', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'escape-'))
    const names = ['plain name.txt', 'back\\slash.awl', 'line\nbreak.txt', 'Grüße ü.txt']
    let manifest = ''
    for (const [i, name] of names.entries()) {
      writeFileSync(path.join(dir, name), `content ${i}`)
      manifest += sha256sumLine(createHash('sha256').update(`content ${i}`).digest('hex'), name)
    }
    writeFileSync(path.join(dir, '..', 'escape.sha256'), manifest)
    const check = spawnSync('sha256sum', ['--check', '--strict', '../escape.sha256'], { cwd: dir, encoding: 'utf8' })
    expect(check.status, check.stdout + check.stderr).toBe(0)
    expect(manifest.split('\n').filter(Boolean).map(line => parseSha256sumLine(line, 0, '').path)).toEqual(names)
  })
})
