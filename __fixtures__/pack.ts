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

/** A folder that holds what npm publishes from this checkout, with the command bundle the test run
 *  built from the working tree (not the committed one, which may be stale), and nothing else. */
export function stagePackage(): string {
  const stage = path.join(mkdtempSync(path.join(tmpdir(), 'pack-')), 'stage')
  mkdirSync(path.join(stage, 'dist'), { recursive: true })
  for (const file of ['package.json', 'README.md', 'LICENSE']) cpSync(path.join(root, file), path.join(stage, file))
  cpSync(path.dirname(bundled('cli/index.js')), path.join(stage, 'dist/cli'), { recursive: true })
  return stage
}

/** The absolute path of a fresh tarball of this checkout: the one a release attaches and publishes. */
export function packTarball(): string {
  const stage = stagePackage()
  const dir = path.dirname(stage)
  const name = npm(['pack', '--silent', '--pack-destination', dir], stage).trim().split('\n').pop()!
  return path.join(dir, name)
}
