// The bundled dist/index.js, run in a child process the way the runner runs it, against the simulator.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { afterEach, describe, expect, it } from 'vitest'
import { runLocally, visibleChannels } from '../scripts/local-runner.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'

let sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})

// Spaces at both ends: the password must reach the server untrimmed.
const password = ` pw-${randomBytes(12).toString('hex')} `

async function simulator(o: SimulatorOptions = {}) {
  const sim = await startSimulator({ pendingMs: 200, runningMs: 600, users: { 'PLANT\\backup': password }, ...o })
  sims.push(sim)
  return sim
}

const inputsFor = (sim: Simulator, extra: Record<string, string> = {}) => ({
  'server-url': sim.url,
  username: 'PLANT\\backup',
  password,
  'ca-certificate': sim.caPem!,
  timeout: '30s',
  ...extra
})


describe('the bundled action, run as the runner runs it', () => {
  it('exports, verifies and reports through the outputs and summary files', async () => {
    const sim = await simulator()
    const run = await runLocally({ inputs: inputsFor(sim, { 'export-contents': '{"projectTree": {}, "userManagement": {"exportType": "EXPORT_TYPE_XML"}}' }) })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const { outputs } = run
    expect(outputs.state).toBe('STATE_SUCCEEDED')
    expect(outputs['zip-path']).toBe(`${run.tempDir}/octoplant-export/octoplant-export-${outputs['order-name']}.zip`)
    const bytes = readFileSync(outputs['zip-path'])
    expect(outputs['zip-size']).toBe(String(bytes.length))
    expect(outputs['zip-sha256']).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(run.summary).toContain('| Final state | `STATE_SUCCEEDED` |')
    // The versions a plant's report needs first, in the log and the summary.
    expect(run.stdout).toContain('Server: octoplant API 1.2.0-release-5-c845dda7, versiondog 10.1.0-acf932ab.')
    expect(run.summary).toContain('| Server version | octoplant API 1.2.0-release-5-c845dda7, versiondog 10.1.0-acf932ab |')
    expect(run.summary).toContain('| `userManagement.xml` |')
    expect(run.stdout).toContain('::notice::Artifact upload skipped')
    // Progress in plain sight: no collapsed group around the wait.
    expect(run.stdout).not.toContain('::group::')
    expect(run.stdout).toMatch(/^octoplant export at https:\/\/127\.0\.0\.1:\d+$/m)
    expect(run.stdout).toMatch(new RegExp(`^::add-mask::${password}$`, 'm'))
    expect(visibleChannels(run)).not.toContain(password)
  })

  it('fails a failed order and still hands order-name, state and error-message to later steps', async () => {
    const sim = await simulator({ failWith: { code: 8, message: 'export queue full' } })
    const run = await runLocally({ inputs: inputsFor(sim) })
    expect(run.code).toBe(1)
    expect(run.outputs['order-name']).toMatch(/^[\w-]{36}$/)
    expect(run.outputs.state).toBe('STATE_FAILED')
    expect(run.outputs['error-message']).toBe(`order ${run.outputs['order-name']} failed on the server during "Pack ZIP": RESOURCE_EXHAUSTED: export queue full`)
    expect(run.stdout).toContain(`::error::order ${run.outputs['order-name']} failed on the server during "Pack ZIP": RESOURCE_EXHAUSTED: export queue full`)
    expect(run.outputs['zip-path']).toBeUndefined()
    expect(visibleChannels(run)).not.toContain(password)
  })

  it('refuses bad input with one clear line and no request', async () => {
    const sim = await simulator()
    const run = await runLocally({ inputs: inputsFor(sim, { timeout: 'forever' }) })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`::error::Input 'timeout' must be a duration such as 90s, 15m, 1h30m or a number of seconds; got "forever"`)
    expect(sim.requests).toHaveLength(0)
    expect(visibleChannels(run)).not.toContain(password)
  })

  it('refuses to run outside GitHub Actions, where ::add-mask:: would print the password', async () => {
    const sim = await simulator()
    const run = await runLocally({ inputs: inputsFor(sim), env: { GITHUB_ACTIONS: undefined } })
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('::error::this is the GitHub Action (dist/index.js) and GITHUB_ACTIONS is not set: outside GitHub Actions, run the octoplant-export command')
    expect(run.stdout + run.stderr).not.toContain(password)
    expect(sim.requests).toHaveLength(0)
  })

  it.each(['SIGINT', 'SIGTERM'] as const)('cancels the order on the server when the runner cancels the job (%s)', async signal => {
    const sim = await simulator({ runningMs: 60_000 })
    const run = await runLocally({
      inputs: inputsFor(sim),
      onStart: pid => {
        const wait = setInterval(() => {
          if (sim.count('GET /v1/order/{name}') >= 2) {
            clearInterval(wait)
            process.kill(pid, signal)
          }
        }, 20)
      }
    })
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toMatch(
      new RegExp(`^the job was cancelled \\(${signal}\\) after \\d+(ms|s)\\. Order ${run.outputs['order-name']} was cancelled on the server; run again to export anew\\.$`)
    )
    expect(run.signal).toBeNull()
    expect(run.outputs.state).toBe('STATE_RUNNING')
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
    expect(sim.orders.get(run.outputs['order-name'])?.cancelledAt).toBeDefined()
    expect(run.durationMs).toBeLessThan(15_000)
  })

  it('writes no ZIP where a later step could take it for the export when the download is broken', async () => {
    const sim = await simulator()
    sim.intercept((_req, res, route) => {
      if (route !== 'GET /v1/order/{name}/download') return false
      res.writeHead(200, { 'content-type': 'application/zip' })
      res.end(Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(2000), Buffer.from('{"error":{"code":13,"message":"stream reset"}}')]))
      return true
    })
    const run = await runLocally({ inputs: inputsFor(sim) })
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toMatch(/^the download failed 5 times; the last time: the server broke off the download after \d+ bytes with a stream error: INTERNAL: stream reset/)
    expect(sim.count('GET /v1/order/{name}/download')).toBe(5)
    expect(run.outputs['zip-path']).toBeUndefined()
    expect(existsSync(`${run.tempDir}/octoplant-export/octoplant-export-${run.outputs['order-name']}.zip`)).toBe(false)
    expect(existsSync(`${run.tempDir}/octoplant-export/octoplant-export-${run.outputs['order-name']}.zip.partial`)).toBe(false)
  })
})
