// The octoplant-export command run in-process, as its entry point runs it: real clock and trust
// store, files read relative to its folder, what it writes collected.
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import * as tls from 'node:tls'
import { systemClock } from '../src/base/clock.js'
import { main } from '../src/cli/main.js'

export async function runCommand(argv: string[], env: Record<string, string>, cwd: string) {
  let stdout = ''
  let stderr = ''
  const code = await main({
    argv: [...argv, '--path', path.join(cwd, 'out')],
    env,
    cwd,
    stdout: t => void (stdout += t),
    stderr: t => void (stderr += t),
    readFile: f => readFileSync(path.resolve(cwd, f), 'utf8'),
    clock: systemClock,
    trustCertificates: pem => tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem]),
    version: 'test',
    nodeVersion: process.versions.node,
    host: { hostname: 'test-host' }
  })
  return { code, stdout, stderr, json: JSON.parse(stdout) as Record<string, unknown> }
}
