// Security on the plant network, through the bundled action: TLS in its failure modes, a CONNECT
// proxy that alone resolves the server's name, secrets on every channel, hostile answers and ZIPs.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startConnectProxy } from '../__fixtures__/connect-proxy.js'
import { makeZip, patch } from '../__fixtures__/zips.js'
import { maskedValues, runLocally, type LocalRun, visibleChannels } from '../scripts/local-runner.js'
import { createCertificateAuthority, issueServerCertificate, selfSignedServerCertificate } from '../simulator/certs.js'
import { type Simulator, type SimulatorOptions, sendJson, startSimulator } from '../simulator/server.js'

const table: string[] = []
afterAll(() => console.log(['| hostile input or condition | what it got |', '|---|---|', ...table.sort()].join('\n')))
const note = (what: string, run: LocalRun) =>
  table.push(`| ${what} | ${run.code === 0 ? 'succeeded' : `failed: ${(run.outputs['error-message'] ?? '').replace(/[\w-]{36}/g, '<order>').replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:<port>').slice(0, 140)}`} |`)

async function withSim<T>(o: SimulatorOptions, body: (sim: Simulator) => Promise<T>): Promise<T> {
  const sim = await startSimulator({ pendingMs: 50, runningMs: 150, ...o })
  try {
    return await body(sim)
  } finally {
    await sim.stop()
  }
}

const base = (sim: Simulator, extra: Record<string, string> = {}) => ({
  'server-url': sim.url,
  username: 'versiondog',
  password: 'change-it',
  timeout: '20s',
  ...extra
})

describe('TLS', () => {
  it.concurrent.each([
    {
      what: "a CA the action was not told about",
      cert: async () => issueServerCertificate(await createCertificateAuthority('Plant CA')),
      message: /^TLS check of 127\.0\.0\.1:\d+ failed: the server's certificate is signed by an unknown CA \[UNABLE_TO_VERIFY_LEAF_SIGNATURE\]; trust the plant's CA with the ca-certificate input/
    },
    {
      what: "octoplant's default self-signed certificate",
      cert: () => selfSignedServerCertificate(),
      message: /failed: the server presents a self-signed certificate \(octoplant's default\) \[DEPTH_ZERO_SELF_SIGNED_CERT\]; trust the plant's CA with the ca-certificate input/
    },
    {
      what: 'a certificate for another host name',
      cert: async () => issueServerCertificate(await createCertificateAuthority(), { hosts: ['octoplant.other.plant'] }),
      trusted: true,
      message: /the server's certificate does not name this host \[ERR_TLS_CERT_ALTNAME_INVALID\]; use the host name the certificate was issued for in the server-url input/
    },
    {
      what: 'an expired certificate',
      cert: async () =>
        issueServerCertificate(await createCertificateAuthority(), { notBefore: new Date(Date.now() - 10 * 864e5), notAfter: new Date(Date.now() - 864e5) }),
      trusted: true,
      message: /the server's certificate has expired \[CERT_HAS_EXPIRED\]; renew the server certificate/
    }
  ])('refuses $what and says which input fixes it, before sending the password', async ({ what, cert, trusted, message }) => {
    const certificate = await cert()
    await withSim({ certificate }, async sim => {
      const run = await runLocally({ inputs: base(sim, trusted ? { 'ca-certificate': certificate.caPem } : {}) })
      note(what, run)
      expect(run.code).toBe(1)
      expect(run.outputs['error-message']).toMatch(message)
      expect(sim.requests).toHaveLength(0)
    })
  })

  it('accepts the self-signed certificate itself as ca-certificate', async () => {
    const certificate = await selfSignedServerCertificate()
    await withSim({ certificate }, async sim => {
      const run = await runLocally({ inputs: base(sim, { 'ca-certificate': certificate.certPem }) })
      note('self-signed certificate given as ca-certificate', run)
      expect(run.code).toBe(0)
    })
  })

  it('reads ca-certificate from a PEM file holding several certificates', async () => {
    const ca = await createCertificateAuthority('Plant CA')
    const other = await createCertificateAuthority('Other CA')
    await withSim({ certificate: await issueServerCertificate(ca) }, async sim => {
      const dir = mkdtempSync(path.join(tmpdir(), 'pem-'))
      writeFileSync(path.join(dir, 'cas.pem'), other.certPem + ca.certPem)
      const run = await runLocally({ inputs: base(sim, { 'ca-certificate': path.join(dir, 'cas.pem') }) })
      expect(run.code).toBe(0)
    })
  })

  it('works with insecure-skip-tls-verify, and warns on every run', async () => {
    await withSim({ certificate: await selfSignedServerCertificate() }, async sim => {
      const run = await runLocally({ inputs: base(sim, { 'insecure-skip-tls-verify': 'true' }) })
      note('insecure-skip-tls-verify: true against an unknown certificate', run)
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^::warning::insecure-skip-tls-verify is true: the server certificate is NOT checked/m)
    })
  })
})

describe('plain HTTP', () => {
  it('refuses http:// to a host other than loopback before any connection', async () => {
    const run = await runLocally({ inputs: { 'server-url': 'http://octoplant.plant.local:64023', username: 'u', password: 'plant-password' } })
    note('server-url http://octoplant.plant.local:64023', run)
    expect(run.code).toBe(1)
    expect(run.outputs['error-message']).toMatch(/^Input 'server-url' uses plain http:\/\/ to octoplant.plant.local, which would send the password unencrypted/)
  })

  it('allows http:// to loopback, with a warning', async () => {
    await withSim({ protocol: 'http' }, async sim => {
      const run = await runLocally({ inputs: base(sim) })
      expect(run.code).toBe(0)
      expect(run.stdout).toContain('::warning::server-url uses plain http://')
    })
  })
})

describe('an IPv6 literal as server-url', () => {
  it.each(['https', 'http'] as const)('exports from %s://[::1]:port, the IPv6 loopback', async protocol => {
    await withSim({ protocol, host: '::1' }, async sim => {
      expect(sim.url).toMatch(new RegExp(`^${protocol}://\\[::1\\]:\\d+$`))
      const run = await runLocally({ inputs: base(sim, sim.caPem ? { 'ca-certificate': sim.caPem } : {}) })
      note(`server-url ${protocol}://[::1]:<port>`, run)
      expect(run.code, run.stdout).toBe(0)
      expect(run.outputs.state).toBe('STATE_SUCCEEDED')
      expect(sim.count('GET /v1/order/{name}/download')).toBe(1)
    })
  })
})

describe('a corporate proxy', () => {
  it('carries every call through https_proxy, with the ca-certificate trusted through the tunnel', async () => {
    const ca = await createCertificateAuthority('Plant CA')
    await withSim({ certificate: await issueServerCertificate(ca, { hosts: ['octoplant.plant.test'] }) }, async sim => {
      const proxy = await startConnectProxy({ 'octoplant.plant.test': '127.0.0.1' })
      try {
        const url = sim.url.replace('127.0.0.1', 'octoplant.plant.test')
        const inputs = base(sim, { 'server-url': url, 'ca-certificate': ca.certPem })
        const run = await runLocally({ inputs, env: { https_proxy: proxy.url } })
        note('server reachable only through https_proxy (CONNECT)', run)
        expect(run.code, run.stdout).toBe(0)
        expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1)
        expect(new Set(proxy.tunnels)).toEqual(new Set([`octoplant.plant.test:${new URL(sim.url).port}`]))
        expect(sim.count('GET /v1/order/{name}/download')).toBe(1)

        // Without the proxy (or with the host in no_proxy) the name does not resolve: no accidental pass.
        const direct = await runLocally({ inputs, env: { https_proxy: proxy.url, no_proxy: 'octoplant.plant.test' } })
        expect(direct.code).toBe(1)
        expect(direct.outputs['error-message']).toMatch(/could not reach octoplant\.plant\.test:\d+: the host name (does not resolve|could not be resolved)/)
      } finally {
        await proxy.stop()
      }
    })
  })

  it('keeps insecure-skip-tls-verify through the proxy tunnel', async () => {
    await withSim({ certificate: await selfSignedServerCertificate(['octoplant.plant.test']) }, async sim => {
      const proxy = await startConnectProxy({ 'octoplant.plant.test': '127.0.0.1' })
      try {
        const run = await runLocally({
          inputs: base(sim, { 'server-url': sim.url.replace('127.0.0.1', 'octoplant.plant.test'), 'insecure-skip-tls-verify': 'true' }),
          env: { HTTPS_PROXY: proxy.url }
        })
        expect(run.code, run.stdout).toBe(0)
        expect(proxy.tunnels.length).toBeGreaterThanOrEqual(1)
      } finally {
        await proxy.stop()
      }
    })
  })
})

describe('secrets', () => {
  it('never show the password, client secret or any token, on success or failure', async () => {
    const password = `pw-${randomBytes(16).toString('hex')}`
    const clientSecret = 'ff99971a-f8c3-4d21-5345-f7cb021b4b54'
    for (const o of [{ issueRefreshTokens: true, tokenLifetimeSec: 1 }, { failWith: { code: 13, message: 'boom' } }] as SimulatorOptions[]) {
      await withSim({ users: { versiondog: password }, runningMs: 1500, ...o }, async sim => {
        const run = await runLocally({ inputs: base(sim, { password, 'ca-certificate': sim.caPem! }) })
        const masked = maskedValues(run)
        expect(masked).toContain(password)
        expect(masked).toContain(clientSecret)
        for (const token of sim.issuedTokens) expect(masked).toContain(token)
        const visible = visibleChannels(run)
        for (const secret of [password, clientSecret, ...sim.issuedTokens]) expect(visible).not.toContain(secret)
        expect(sim.issuedTokens.length).toBeGreaterThanOrEqual(1)
      })
    }
  })
})

describe('hostile answers', () => {
  it('refuses a JSON answer larger than any API answer should be', async () => {
    await withSim({}, async sim => {
      sim.intercept((_req, res, route) => {
        if (route !== 'GET /v1/order/{name}') return false
        sendJson(res, 200, { name: 'x', padding: 'x'.repeat(2 * 1024 * 1024) })
        return true
      })
      const run = await runLocally({ inputs: base(sim, { 'ca-certificate': sim.caPem! }) })
      note('a 2 MiB JSON answer to a poll', run)
      expect(run.code).toBe(1)
      expect(run.outputs['error-message']).toBe(
        `the server's answer exceeds 1048576 bytes, more than any API answer should be. Order ${run.outputs['order-name']} may still be running on the server; re-run with order-name: ${run.outputs['order-name']} to resume it.`
      )
    })
  })

  it('refuses a ZIP with an entry that climbs out of the folder, naming it, without fetching it again', async () => {
    const evil = patch(await makeZip({ 'contents.json': '{}', 'aa/evil.sh': 'echo pwned' }), 'aa/evil', '../evil')
    await withSim({}, async sim => {
      sim.intercept((_req, res, route) => {
        if (route !== 'GET /v1/order/{name}/download') return false
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': evil.length })
        res.end(evil)
        return true
      })
      const run = await runLocally({ inputs: base(sim, { 'ca-certificate': sim.caPem!, extract: 'true' }) })
      note('a ZIP entry named ../evil.sh (extract: true)', run)
      expect(run.code).toBe(1)
      expect(run.outputs['error-message']).toBe('refusing the ZIP: entry "../evil.sh" has a path that climbs out of the folder ("..")')
      expect(sim.count('GET /v1/order/{name}/download')).toBe(1)
      expect(existsSync(path.join(run.tempDir, 'evil.sh'))).toBe(false)
      expect(existsSync(path.join(run.tempDir, 'octoplant-export', 'evil.sh'))).toBe(false)
    })
  })

  it('refuses a symbolic link in the ZIP when extracting, naming it', async () => {
    const linked = await makeZip({ 'contents.json': '{}', 'projectTree.json': { data: '/etc/passwd', mode: 0o120777 } })
    await withSim({}, async sim => {
      sim.intercept((_req, res, route) => {
        if (route !== 'GET /v1/order/{name}/download') return false
        res.writeHead(200, { 'content-type': 'application/zip' })
        res.end(linked)
        return true
      })
      const run = await runLocally({ inputs: base(sim, { 'ca-certificate': sim.caPem!, extract: 'true' }) })
      note('a ZIP entry that is a symbolic link (extract: true)', run)
      expect(run.outputs['error-message']).toBe('refusing to extract "projectTree.json": it is a symbolic link')
    })
  })

  it('refuses an order-file outside the workspace, before any connection', async () => {
    await withSim({}, async sim => {
      const run = await runLocally({ inputs: base(sim, { 'order-file': '/etc/passwd' }) })
      note('order-file: /etc/passwd', run)
      expect(run.outputs['error-message']).toMatch(/^Input 'order-file' must be a file in the workspace .*; \/etc\/passwd is outside it$/)
      expect(sim.requests).toHaveLength(0)
    })
  })
})
