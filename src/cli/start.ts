// The command's start-up, shared by its two entries: the npm package's dist/cli/index.js and the
// single-file executables (scripts/build-exe.sh). It wires the process to the command: arguments,
// environment, streams, signals, the trust store.
import { readFileSync, realpathSync } from 'node:fs'
import { hostname, userInfo } from 'node:os'
import * as tls from 'node:tls'
import { systemClock } from '../base/clock.js'
import { CancelledError } from '../engine/export.js'
import { VERSION } from '../shared/version.js'
import { main } from './main.js'

/** Runs the command; resolves with its exit code. `build` says how it was built, for --version. */
export function start(build?: string): Promise<number> {
  // The first Ctrl-C (or SIGTERM) cancels the order; a second stops waiting for that cancel; the
  // JSON is printed either way.
  const cancel = new AbortController()
  const hurry = new AbortController()
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => (cancel.signal.aborted ? hurry.abort() : cancel.abort(new CancelledError(sig))))
  }
  return main({
    argv: process.argv.slice(2),
    env: process.env,
    cwd: process.cwd(),
    stdout: text => void process.stdout.write(text),
    stderr: text => void process.stderr.write(text),
    readFile: file => readFileSync(file, 'utf8'),
    realpath: file => realpathSync(file),
    clock: systemClock,
    trustCertificates: pem => tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem]),
    signal: cancel.signal,
    hurry: hurry.signal,
    version: VERSION,
    build,
    nodeVersion: process.versions.node,
    host: { hostname: hostname(), user: currentUser() },
    terminal: process.stderr.isTTY ? { write: text => void process.stderr.write(text), columns: () => process.stderr.columns || 80 } : undefined
  })
}

function currentUser(): string | undefined {
  try {
    return userInfo().username
  } catch {
    return undefined
  }
}
