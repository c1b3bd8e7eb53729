// What both front ends check after reading their settings and before the first connection: the
// output folder can be written, and a previous export given to compare with can be (readable as a
// ZIP or a record, and from this server, or said otherwise).
import { prepareFolder } from '../engine/disk-space.js'
import { inspectPrevious } from '../engine/evidence/previous.js'
import { withoutCredentials } from '../engine/evidence/record.js'
import { InputError } from '../engine/settings.js'
import type { Inputs } from './inputs.js'
import { setting } from '../base/setting-ref.js'

export async function checkBeforeConnecting(inputs: Inputs, warn: (message: string) => void): Promise<void> {
  inputs.warnings.forEach(warn)
  await prepareFolder(inputs.path)
  if (!inputs.compareWith) return
  let previous
  try {
    previous = await inspectPrevious(inputs.compareWith)
  } catch (e) {
    throw new InputError('compare-with', `cannot be compared with: ${(e as Error).message}`)
  }
  const server = withoutCredentials(inputs.serverUrl)
  if (previous.serverUrl === undefined || previous.serverUrl === server) return
  const other = `is an export of ${previous.serverUrl}, not of ${server}`
  if (inputs.failOn.includes('changes')) {
    throw new InputError('compare-with', `${other}: ${setting('fail-on', 'changes')} cannot judge two servers' exports against each other`)
  }
  warn(`${setting('compare-with', inputs.compareWith)} ${other}; the change report compares them anyway`)
}
