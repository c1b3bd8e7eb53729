// The post step (dist/post/index.js), run after the main step as the runner runs it: with the state
// main saved, handed over as STATE_* variables.
import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { POST_ENTRY, runLocally, visibleChannels } from '../scripts/local-runner.js'
import { startSimulator, type Simulator, type SimulatorOptions } from '../simulator/server.js'

const password = `pw-${randomBytes(8).toString('hex')}`
let sims: Simulator[] = []
afterEach(async () => {
  await Promise.all(sims.map(s => s.stop()))
  sims = []
})

async function simulator(o: SimulatorOptions = {}) {
  const sim = await startSimulator({ pendingMs: 100, runningMs: 400, users: { versiondog: password }, ...o })
  sims.push(sim)
  return sim
}

const inputsFor = (sim: Simulator, extra: Record<string, string> = {}) => ({
  'server-url': sim.url,
  username: 'versiondog',
  password,
  'ca-certificate': sim.caPem!,
  'upload-artifact': 'false',
  timeout: '60s',
  ...extra
})

/** The main step, killed with SIGKILL (as the runner does after its grace period, or a step's
 *  timeout-minutes) once it has polled the order it placed. */
async function killedMain(sim: Simulator, extra: Record<string, string> = {}) {
  const polled = sim.count('GET /v1/order/{name}')
  return runLocally({
    inputs: inputsFor(sim, extra),
    onStart: pid => {
      const wait = setInterval(() => {
        if (sim.count('GET /v1/order/{name}') > polled) {
          clearInterval(wait)
          process.kill(pid, 'SIGKILL')
        }
      }, 10)
    }
  })
}

/** The post step, with a probe that says when its event loop empties by itself (no forced exit). */
const postAfter = (sim: Simulator, state: Record<string, string>, extra: Record<string, string> = {}) =>
  runLocally({
    inputs: inputsFor(sim, extra),
    entry: POST_ENTRY,
    state,
    timeoutMs: 30_000,
    env: { NODE_OPTIONS: `--import=${new URL('../__fixtures__/loop-probe.mjs', import.meta.url).href}` }
  })

describe('the post step', () => {
  it('cancels the order a hard-killed main step left running, and passes', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const main = await killedMain(sim)
    expect(main.signal).toBe('SIGKILL')
    const name = main.state['order-name']
    expect(name).toMatch(/^[\w-]{36}$/)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(0)

    const post = await postAfter(sim, main.state)
    expect(post.code).toBe(0)
    expect(post.stdout).toContain(`Cancelled order ${name} on the server.`)
    expect(post.stdout).not.toContain('::warning::')
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
    expect(sim.orders.get(name)?.cancelledAt).toBeDefined()
    expect(visibleChannels(post)).not.toContain(password)
    // It ended by itself: the cancel's connection is closed and nothing else holds it.
    expect(post.stderr).toContain('loop-probe: the event loop emptied (exit code 0)')
  })

  it('does nothing after a finished export', async () => {
    const sim = await simulator()
    const main = await runLocally({ inputs: inputsFor(sim) })
    expect(main.code).toBe(0)
    expect(main.state).toMatchObject({ 'order-name': main.outputs['order-name'], 'order-settled': 'true' })
    const before = sim.requests.length
    const post = await postAfter(sim, main.state)
    expect(post.code).toBe(0)
    expect(sim.requests.length).toBe(before)
    expect(post.stdout).toBe('')
  })

  it('does nothing after a failed run that main ended itself', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const main = await runLocally({ inputs: inputsFor(sim, { timeout: '2s' }) })
    expect(main.code).toBe(1)
    expect(sim.count('POST /v1/order/{name}/cancel')).toBe(1)
    const before = sim.requests.length
    const post = await postAfter(sim, main.state)
    expect(post.code).toBe(0)
    expect(sim.requests.length).toBe(before)
  })

  it('leaves the order running with cancel-on-timeout: false, and says how to fetch it', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const main = await killedMain(sim, { 'cancel-on-timeout': 'false' })
    const name = main.state['order-name']
    const before = sim.requests.length
    const post = await postAfter(sim, main.state, { 'cancel-on-timeout': 'false' })
    expect(post.code).toBe(0)
    expect(sim.requests.length).toBe(before)
    expect(post.stdout).toContain(`re-run with order-name: ${name}`)
  })

  it('does nothing for an order main only resumed (order-name given): it is not this run\'s to cancel', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const placed = await killedMain(sim)
    const name = placed.state['order-name']
    const resumed = await killedMain(sim, { 'order-name': name })
    expect(resumed.signal).toBe('SIGKILL')
    expect(resumed.stdout).toContain(`Resuming order ${name}`)
    expect(resumed.state['order-name']).toBeUndefined()
    const before = sim.requests.length
    const post = await postAfter(sim, resumed.state, { 'order-name': name })
    expect(post.code).toBe(0)
    expect(sim.requests.length).toBe(before)
  })

  it('warns, and still passes, when the server cannot be reached to cancel', async () => {
    const sim = await simulator({ runningMs: 60_000 })
    const main = await killedMain(sim)
    await sim.stop()
    sims = sims.filter(s => s !== sim)
    const post = await postAfter(sim, main.state)
    expect(post.code).toBe(0)
    expect(post.stdout).toMatch(new RegExp(`::warning::Could not cancel order ${main.state['order-name']}, which may still be running on the server: could not reach 127\\.0\\.0\\.1:\\d+`))
    expect(post.durationMs).toBeLessThan(20_000)
  })
})

describe('the post step after a kill during the download', () => {
  it('leaves a finished order alone: it can still be fetched with order-name', async () => {
    const sim = await simulator({ runningMs: 100 })
    // The download never ends, so main is killed while it is under way.
    let downloading = false
    sim.intercept((_req, res, route) => {
      if (route !== 'GET /v1/order/{name}/download') return false
      res.writeHead(200, { 'content-type': 'application/zip' })
      res.write('PK\u0003\u0004')
      downloading = true
      return true
    })
    const main = await runLocally({
      inputs: inputsFor(sim),
      onStart: pid => {
        const wait = setInterval(() => {
          if (downloading) {
            clearInterval(wait)
            process.kill(pid, 'SIGKILL')
          }
        }, 10)
      }
    })
    expect(main.outputs.state).toBe('STATE_SUCCEEDED')
    const before = sim.requests.length
    const post = await postAfter(sim, main.state)
    expect(post.code).toBe(0)
    expect(sim.requests.length).toBe(before)
  })
})

describe('the post step, from its sources with a fake toolkit', () => {
  it('spells a refused input\'s words as the Action does when it cannot cancel', async () => {
    const { fakeCore } = await import('../__fixtures__/core.js')
    const { post } = await import('../src/action/post.js')
    const { systemClock } = await import('../src/base/clock.js')
    const core = fakeCore({ 'server-url': 'https://127.0.0.1:1', token: 'a-token-value', password: 'a-password-value' })
    core.state = { 'order-name': 'o-1', 'cancel-on-timeout': 'true' }
    await post({ core, env: {}, clock: systemClock, readFile: () => '', trustCertificates: () => undefined })
    const warning = core.logs.find(l => l.startsWith('warning: Could not cancel order o-1'))
    expect(warning).toMatch(/token and the password input are both set/)
    // No reference left unspelled, whole or shown as U+FFFD.
    for (const c of ['\u0001', '\u0002', '\ufffd']) expect(warning).not.toContain(c)
  })
})
