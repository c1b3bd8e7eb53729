#!/usr/bin/env node
// Entry point of the octoplant-export command (bundled to dist/cli/index.js).
import { readFileSync, realpathSync } from 'node:fs'
import { hostname, userInfo } from 'node:os'
import * as tls from 'node:tls'
import { systemClock } from '../base/clock.js'
import { CancelledError } from '../engine/export.js'
import { VERSION } from '../shared/version.js'
import { main } from './main.js'

// The first Ctrl-C (or SIGTERM) cancels the order; a second stops waiting for that cancel; the JSON is
// printed either way.
const cancel = new AbortController()
const hurry = new AbortController()
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => (cancel.signal.aborted ? hurry.abort() : cancel.abort(new CancelledError(sig))))
}

process.exitCode = await main({
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
  nodeVersion: process.versions.node,
  host: { hostname: hostname(), user: currentUser() },
  terminal: process.stderr.isTTY ? { write: text => void process.stderr.write(text), columns: () => process.stderr.columns || 80 } : undefined
})
// No forced exit: the command ends when its connection is closed and its timers are done, so a
// handle left open shows as a command that does not end (every test that runs it would fail).

function currentUser(): string | undefined {
  try {
    return userInfo().username
  } catch {
    return undefined
  }
}
