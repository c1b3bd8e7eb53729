// Gives the test run a temp folder of its own (TMPDIR, inherited by the workers and the action's
// child processes) and removes it afterwards, so that no run leaves files behind.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'octoplant-tests-'))
  process.env.TMPDIR = dir
  return () => rmSync(dir, { recursive: true, force: true })
}
