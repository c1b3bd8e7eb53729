// Packs the checkout as npm would publish it: the tarball a release attaches.
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

/** npm without the network: audit, fund and registry look-ups off. */
export function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }
  })
}

/** The absolute path of a fresh tarball of this checkout. */
export function packTarball(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pack-'))
  const name = npm(['pack', '--silent', '--pack-destination', dir], root).trim().split('\n').pop()!
  return path.join(dir, name)
}
