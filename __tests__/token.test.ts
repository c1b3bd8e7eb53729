// Signing in with a user access token made in the AdminClient, through the bundled action and the
// command, against the simulator in both of its forms: with the token exchange
// (authenticate_token, refresh_token) and without it (the token itself taken as Bearer).
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runLocally, visibleChannels, type LocalRun } from '../scripts/local-runner.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'
import { runCommand } from '../__fixtures__/command.js'

const TOKEN = 'vdog-at-9f3c2a7e41d04b8c9e5f0a1b2c3d4e5f'

let sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})

async function simulator(o: SimulatorOptions = {}) {
  const sim = await startSimulator({ pendingMs: 100, runningMs: 400, accessTokens: { [TOKEN]: { user: 'ci-export' } }, ...o })
  sims.push(sim)
  return sim
}

const inputsFor = (sim: Simulator, extra: Record<string, string> = {}) => ({
  'server-url': sim.url,
  token: TOKEN,
  'ca-certificate': sim.caPem!,
  'upload-artifact': 'false',
  timeout: '30s',
  ...extra
})

/** Neither the access token nor any token the server issued appears where a person could read it. */
function expectNoSecret(text: string, sim: Simulator) {
  expect(text).not.toContain(TOKEN)
  expect(sim.issuedTokens.length).toBeGreaterThan(0)
  for (const t of sim.issuedTokens) expect(text).not.toContain(t)
}
const expectClean = (run: LocalRun, sim: Simulator) => expectNoSecret(visibleChannels(run), sim)

describe('the action with a token alone', () => {
  it('exchanges it for a session token, exports, and says how it signed in', async () => {
    const sim = await simulator()
    const run = await runLocally({ inputs: inputsFor(sim) })
    expect(run.code, run.stdout).toBe(0)
    expect(run.outputs.state).toBe('STATE_SUCCEEDED')
    expect(sim.count('POST /v1/authentication/authenticate_token')).toBe(1)
    expect(sim.count('POST /v1/oauth2/token')).toBe(0)
    expect(run.stdout).toContain('Signed in with access token, exchanged for a session token.')
    expect(run.summary).toContain('| Signed in with | access token, exchanged for a session token |')
    expectClean(run, sim)
  })

  it('sends the token itself as Bearer where the server has no exchange (404)', async () => {
    const sim = await simulator({ tokenExchange: 'absent' })
    const run = await runLocally({ inputs: inputsFor(sim) })
    expect(run.code, run.stdout).toBe(0)
    expect(sim.requests.find(r => r.path === '/v1/authentication/authenticate_token')?.status).toBe(404)
    expect(sim.count('GET /v1/order/{name}/download')).toBe(1)
    expect(run.summary).toContain('access token, sent as Bearer (the server has no token exchange)')
    expect(visibleChannels(run)).not.toContain(TOKEN)
  })

  it('renews the session with the refresh token after a 401 while waiting, and carries on', async () => {
    const sim = await simulator({ runningMs: 2500, tokenMaxUses: 3 })
    const run = await runLocally({ inputs: inputsFor(sim) })
    expect(run.code, run.stdout).toBe(0)
    expect(sim.count('POST /v1/authentication/authenticate_token')).toBe(1)
    expect(sim.count('POST /v1/authentication/refresh_token')).toBeGreaterThanOrEqual(1)
    expect(sim.requests.filter(r => r.status === 401).length).toBeGreaterThanOrEqual(1)
    expectClean(run, sim)
  })

  it.each([
    ['revoked', 'the access token was revoked'],
    ['expired', 'the access token has expired']
  ] as const)('refuses a %s token in words: where tokens are made and which input to change', async (state, why) => {
    const sim = await simulator({ accessTokens: { [TOKEN]: { user: 'ci-export', state } } })
    const run = await runLocally({ inputs: inputsFor(sim) })
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toBe(
      `octoplant refused the access token (UNAUTHENTICATED (HTTP 401): ${why}): it may have expired or been revoked. Make a new one in the AdminClient for the CI user and put it in the token input.`
    )
    expect(sim.count('POST /v1/authentication/authenticate_token')).toBe(1)
    expect(sim.count('POST /v1/order')).toBe(0)
    expect(visibleChannels(run)).not.toContain(TOKEN)
  })

  it('refuses a token and a password together, before any connection', async () => {
    const sim = await simulator()
    const run = await runLocally({ inputs: inputsFor(sim, { username: 'ci-export', password: 'a-password' }) })
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toBe(
      "Input 'token' and the password input are both set: sign in with one of them (the token is the one to keep; remove the password)"
    )
    expect(sim.requests).toHaveLength(0)
    expect(visibleChannels(run)).not.toContain(TOKEN)
    expect(visibleChannels(run)).not.toContain('a-password')
  })
})

describe('the command with OCTOPLANT_TOKEN or --token-file', () => {
  async function command(argv: string[], sim: Simulator, env: Record<string, string>) {
    const cwd = mkdtempSync(path.join(tmpdir(), 'token-cli-'))
    writeFileSync(path.join(cwd, 'ca.pem'), sim.caPem!)
    return { ...(await runCommand(argv, { OCTOPLANT_SERVER_URL: sim.url, OCTOPLANT_CA_CERTIFICATE: 'ca.pem', ...env }, cwd)), cwd }
  }

  it('exports with OCTOPLANT_TOKEN and no user name', async () => {
    const sim = await simulator()
    const run = await command([], sim, { OCTOPLANT_TOKEN: TOKEN })
    expect(run.code, run.stderr).toBe(0)
    expect(run.json.state).toBe('STATE_SUCCEEDED')
    expectNoSecret(run.stdout + run.stderr, sim)
  })

  it('check says which way of signing in worked, with the token from --token-file', async () => {
    const sim = await simulator()
    const dir = mkdtempSync(path.join(tmpdir(), 'token-file-'))
    writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`)
    const run = await command(['check', '--token-file', path.join(dir, 'token')], sim, {})
    expect(run.code, run.stderr).toBe(0)
    expect(run.json['signed-in-with']).toBe('access token, exchanged for a session token')
    expectNoSecret(run.stdout + run.stderr, sim)
  })

  it('refuses the token as an argument, and a token with a password', async () => {
    const sim = await simulator()
    const asArgument = await command(['--token', TOKEN], sim, {})
    expect(asArgument.code).toBe(2)
    expect(asArgument.json['error-message']).toBe('--token is not taken: process lists show arguments. Set OCTOPLANT_TOKEN, or pass --token-file FILE')
    const both = await command([], sim, { OCTOPLANT_TOKEN: TOKEN, OCTOPLANT_PASSWORD: 'pw' })
    expect(both.code).toBe(2)
    expect(both.json['error-message']).toBe(
      'OCTOPLANT_TOKEN and OCTOPLANT_PASSWORD (or --password-file) are both set: sign in with one of them (the token is the one to keep; remove the password)'
    )
    expect(sim.requests).toHaveLength(0)
    expect(both.stdout + both.stderr).not.toContain(TOKEN)
  })
})
