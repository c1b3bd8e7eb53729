// Packs the checkout as npm would publish it: the tarball a release attaches.
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundled } from '../scripts/local-runner.js'

const root = fileURLToPath(new URL('..', import.meta.url))

/** npm without the network: audit, fund and registry look-ups off. */
export function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' }
  })
}

/** The absolute path of a fresh tarball of this checkout, holding the command bundle the test run
 *  built from the working tree (not the committed one, which may be stale). */
export function packTarball(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pack-'))
  const stage = path.join(dir, 'stage')
  mkdirSync(path.join(stage, 'dist'), { recursive: true })
  for (const file of ['package.json', 'README.md', 'action.yml', 'LICENSE']) cpSync(path.join(root, file), path.join(stage, file))
  cpSync(path.dirname(bundled('cli/index.js')), path.join(stage, 'dist/cli'), { recursive: true })
  const name = npm(['pack', '--silent', '--pack-destination', dir], stage).trim().split('\n').pop()!
  return path.join(dir, name)
}
