// Gives the test run a temp folder of its own (TMPDIR, inherited by the workers and the action's
// child processes) and removes it afterwards, so that no run leaves files behind. Builds the bundles
// of the working tree into it first: the end-to-end tests run those, so a stale dist/ cannot pass
// (check-dist guards what is committed).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'octoplant-tests-'))
  process.env.TMPDIR = dir
  const bundle = path.join(dir, 'bundle')
  execFileSync('bash', [path.join(root, 'scripts/build.sh'), bundle], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] })
  process.env.OCTOPLANT_TEST_BUNDLE = bundle
  return () => rmSync(dir, { recursive: true, force: true })
}
