import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse as parseYaml } from 'yaml'
import { DEFAULTS, InputError, parseInputs, parseDurationInput } from '../src/shared/inputs.js'
import { createCertificateAuthority } from '../simulator/certs.js'
import { asAction } from '../__fixtures__/spelled.js'

const base = { 'server-url': 'https://octoplant.plant.local:64023', username: 'versiondog', password: 'change-it' }
const files: Record<string, string> = {}
const ctx = {
  env: { GITHUB_WORKSPACE: '/work/ws', RUNNER_TEMP: '/runner/tmp' },
  readFile: (f: string) => {
    if (f in files) return files[f]
    throw Object.assign(new Error('no such file'), { code: 'ENOENT' })
  }
}
const parse = (inputs: Record<string, string>) => parseInputs(n => inputs[n] ?? '', ctx)
const errorOf = (inputs: Record<string, string>): InputError => {
  try {
    parse(inputs)
  } catch (e) {
    expect(e).toBeInstanceOf(InputError)
    return e as InputError
  }
  throw new Error('expected an InputError')
}

describe('inputs', () => {
  it('gives the documented defaults when only the required inputs are set', () => {
    const i = parse(base)
    expect(i).toMatchObject({
      serverUrl: 'https://octoplant.plant.local:64023',
      clientId: 'public-api',
      clientSecret: 'ff99971a-f8c3-4d21-5345-f7cb021b4b54',
      exportContents: { projectTree: {} },
      timeoutMs: 30 * 60_000,
      maxPollIntervalMs: 30_000,
      cancelOnTimeout: true,
      path: '/runner/tmp/octoplant-export',
      extract: false,
      uploadArtifact: true,
      insecureSkipTlsVerify: false,
      allowInsecureHttp: false
    })
    expect(i.orderName).toBeUndefined()
    expect(i.artifactName).toBeUndefined()
    expect(i.retentionDays).toBeUndefined()
  })

  it('keeps action.yml and the code in agreement on every default and input', () => {
    const action = parseYaml(readFileSync(new URL('../action.yml', import.meta.url), 'utf8'))
    for (const [name, value] of Object.entries(DEFAULTS)) {
      if (name === 'export-contents') {
        // No default in action.yml, so that giving order-file alone is not "both given".
        expect(action.inputs[name].default).toBeUndefined()
      } else {
        expect(action.inputs[name].default, name).toBe(value)
      }
    }
    const read = new Set<string>()
    parseInputs(n => (read.add(n), (base as Record<string, string>)[n] ?? ''), ctx)
    expect([...read].filter(n => !(n in action.inputs))).toEqual([])
    expect(Object.keys(action.inputs).filter(n => !read.has(n))).toEqual([])
    expect(action.runs.using).toBe('node24')
  })

  it('accepts a user name with a Windows domain and a password with spaces, untrimmed', () => {
    const i = parse({ ...base, username: 'PLANT\\backup', password: ' pass word ' })
    expect(i.username).toBe('PLANT\\backup')
    expect(i.password).toBe(' pass word ')
  })

  it.each([
    ['server-url', { 'server-url': '' }, /is required/],
    ['server-url', { 'server-url': 'octoplant:64023' }, /must start with https:\/\//],
    ['server-url', { 'server-url': 'not a url' }, /must be a URL/],
    ['server-url', { 'server-url': 'ftp://octoplant' }, /must start with https/],
    ['server-url', { 'server-url': 'https://u:p@octoplant' }, /must not contain credentials/],
    ['server-url', { 'server-url': 'https://octoplant?x=1' }, /without a query/],
    ['server-url', { 'server-url': 'http://octoplant.plant.local:64023' }, /unencrypted.*allow-insecure-http/],
    ['username', { username: '' }, /is required/],
    ['password', { password: '' }, /is required.*secret/],
    ['timeout', { timeout: 'soon' }, /must be a duration such as 90s/],
    ['timeout', { timeout: '-5s' }, /must be a duration/],
    ['timeout', { timeout: '30m10' }, /must be a duration/],
    // Past 2^31-1 ms a Node.js timer fires at once: 30d must not end after 30 ms.
    ['timeout', { timeout: '30d' }, /^timeout must be at most 24d \(the longest wait the runtime can time, 2\^31-1 ms\); got "30d"$/],
    ['timeout', { timeout: '1y' }, /must be at most 24d/],
    ['max-poll-interval', { 'max-poll-interval': '25d' }, /^max-poll-interval must be at most 24d/],
    ['max-poll-interval', { 'max-poll-interval': '500ms' }, /at least 1s/],
    ['cancel-on-timeout', { 'cancel-on-timeout': 'yes' }, /must be true or false; got "yes"/],
    ['extract', { extract: '1' }, /must be true or false/],
    ['upload-artifact', { 'upload-artifact': 'no' }, /must be true or false/],
    ['insecure-skip-tls-verify', { 'insecure-skip-tls-verify': 'y' }, /must be true or false/],
    ['allow-insecure-http', { 'allow-insecure-http': 'on' }, /must be true or false/],
    ['retention-days', { 'retention-days': '0' }, /from 1 to 90/],
    ['retention-days', { 'retention-days': '91' }, /from 1 to 90/],
    ['retention-days', { 'retention-days': '7.5' }, /from 1 to 90/],
    ['artifact-name', { 'artifact-name': 'plant/a' }, /must not contain/],
    ['order-name', { 'order-name': 'a b' }, /order name as the server returned it/],
    ['export-contents', { 'export-contents': '{"projectTre": {}}' }, /unknown export kind "projectTre" \(did you mean "projectTree"\?\)/],
    ['export-contents', { 'export-contents': '{projectTree: [' }, /not valid JSON or YAML/],
    ['export-contents', { 'export-contents': '[1, 2]' }, /must be a mapping of export kinds/],
    ['order-file', { 'order-file': 'missing.yml' }, /cannot be read \(ENOENT\): \/work\/ws\/missing.yml/],
    ['ca-certificate', { 'ca-certificate': 'certs/none.pem' }, /cannot be read/],
    ['ca-certificate', { 'ca-certificate': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }, /certificate 1 of 1 cannot be read/]
  ])('refuses a bad %s with a message naming it and the fix', (input, given, message) => {
    const e = errorOf({ ...base, ...given })
    expect(e.input).toBe(input)
    expect(e.message).toMatch(new RegExp(`^${input} `))
    expect(e.message).toMatch(message)
    expect(e.message).not.toContain('change-it')
  })

  it('allows plain http to loopback, and elsewhere only when told to', () => {
    expect(parse({ ...base, 'server-url': 'http://127.0.0.1:8080/' }).serverUrl).toBe('http://127.0.0.1:8080')
    expect(parse({ ...base, 'server-url': 'http://localhost:8080' }).serverUrl).toBe('http://localhost:8080')
    expect(parse({ ...base, 'server-url': 'http://[::1]:8080' }).serverUrl).toBe('http://[::1]:8080')
    expect(parse({ ...base, 'server-url': 'http://octoplant:64023', 'allow-insecure-http': 'true' }).allowInsecureHttp).toBe(true)
  })

  it('reads durations as 90s, 15m, 1h30m or plain seconds', () => {
    expect(parseDurationInput('90s')).toBe(90_000)
    expect(parseDurationInput('15m')).toBe(900_000)
    expect(parseDurationInput('1h30m')).toBe(5_400_000)
    expect(parseDurationInput('600')).toBe(600_000)
    expect(parse({ ...base, timeout: '1h30m', 'max-poll-interval': '2m' })).toMatchObject({ timeoutMs: 5_400_000, maxPollIntervalMs: 120_000 })
  })

  it('takes export-contents as YAML as well as JSON, and the whole request body too', () => {
    const yaml = 'projectTree:\n  versionInformation: VERSION_INFORMATION_ALL\njobList: {}\n'
    expect(parse({ ...base, 'export-contents': yaml }).exportContents).toEqual({
      projectTree: { versionInformation: 'VERSION_INFORMATION_ALL' },
      jobList: {}
    })
    expect(parse({ ...base, 'export-contents': '{"exportContents": {"eventLog": {"lastXDays": 3}}}' }).exportContents).toEqual({
      eventLog: { lastXDays: 3 }
    })
  })

  it('reads order-file relative to the workspace, and refuses it together with export-contents', () => {
    files['/work/ws/orders/nightly.yml'] = 'adminLog:\n  maxLines: 0\n'
    expect(parse({ ...base, 'order-file': 'orders/nightly.yml' }).exportContents).toEqual({ adminLog: { maxLines: 0 } })
    const e = errorOf({ ...base, 'order-file': 'orders/nightly.yml', 'export-contents': '{"jobList": {}}' })
    expect(e.message).toMatch(/both set/)
  })

  it('refuses an order-file outside the workspace and temp folder, also through a link', () => {
    files['/work/outside.yml'] = 'jobList: {}'
    expect(errorOf({ ...base, 'order-file': '../outside.yml' }).message).toBe(
      "order-file must be a file in the workspace (/work/ws or /runner/tmp); /work/outside.yml is outside it"
    )
    files['/runner/tmp/order.yml'] = 'jobList: {}'
    expect(parse({ ...base, 'order-file': '/runner/tmp/order.yml' }).exportContents).toEqual({ jobList: {} })
    const throughLink = () =>
      parseInputs(n => ({ ...base, 'order-file': 'link.yml' } as Record<string, string>)[n] ?? '', {
        ...ctx,
        realpath: f => (f === '/work/ws/link.yml' ? '/etc/shadow' : f)
      })
    expect(throughLink).toThrow("order-file must be a file in the workspace (/work/ws or /runner/tmp); /work/ws/link.yml is outside it")
  })

  it('does not need export contents when resuming an order, and warns that they are not used', () => {
    const i = parse({ ...base, 'order-name': '3f2a9c1e-77b1-4c1e-9a51-0d6a3d1f2b10', 'export-contents': '{"nonsense": 1}' })
    expect(i.orderName).toBe('3f2a9c1e-77b1-4c1e-9a51-0d6a3d1f2b10')
    expect(i.exportContents).toBeUndefined()
    expect(i.warnings.map(asAction)).toEqual(['order-name: 3f2a9c1e-77b1-4c1e-9a51-0d6a3d1f2b10 fetches an order that exists: the export-contents input is not used, and no new order is placed'])
  })

  it('takes ca-certificate as PEM text or as a file holding several certificates', async () => {
    const [a, b] = await Promise.all([createCertificateAuthority('A'), createCertificateAuthority('B')])
    expect(parse({ ...base, 'ca-certificate': a.certPem }).caCertificates).toContain('BEGIN CERTIFICATE')
    const dir = mkdtempSync(path.join(tmpdir(), 'ca-'))
    const file = path.join(dir, 'plant-ca.pem')
    writeFileSync(file, `# plant CAs\n${a.certPem}\n${b.certPem}`)
    const real = parseInputs(n => ({ ...base, 'ca-certificate': file } as Record<string, string>)[n] ?? '', {
      env: {},
      readFile: f => readFileSync(f, 'utf8')
    })
    expect(real.caCertificates!.match(/BEGIN CERTIFICATE/g)).toHaveLength(2)
    expect(real.caCertificates).not.toContain('# plant CAs')
  })

  it('resolves path against the workspace', () => {
    expect(parse({ ...base, path: 'backups' }).path).toBe('/work/ws/backups')
    expect(parse({ ...base, path: '/srv/backups' }).path).toBe('/srv/backups')
  })
})
