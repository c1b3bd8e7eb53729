// The gate: after the evidence is saved and kept, the run fails when what it found is a deviation
// the workflow asked to fail on (fail-on). It fails closed: what it cannot judge fails too.
import { quoted } from '../../base/untrusted.js'
import type { ChangeKind, ChangeReport } from './changes.js'
import type { JobResultsCount } from './job-results.js'
import { setting } from '../../base/setting-ref.js'

export const GATE_CHECKS = ['unequal-job-results', 'changes'] as const
export type GateCheck = (typeof GATE_CHECKS)[number]

/** What the evidence found that a gate may judge; a problem is why it could not find it. */
export interface GateFindings {
  jobResults?: JobResultsCount
  jobResultsProblem?: string
  changes?: ChangeReport
  changesProblem?: string
  /** There was no previous export to compare with (the first run of a series). */
  noPrevious?: boolean
}

/** Items named in a failure message. */
const NAMED = 3

/** The gate's verdict: why it fails, or undefined when it passes. */
export function judgeGate(failOn: readonly GateCheck[], f: GateFindings): string | undefined {
  const failures: string[] = []
  if (failOn.includes('unequal-job-results')) {
    const why = f.jobResults
      ? f.jobResults.count > 0
        ? `the unequalJobResults export (${f.jobResults.file}) lists ${f.jobResults.count} job(s) with differences or errors: ${named(f.jobResults.first, f.jobResults.count)}`
        : undefined
      : `the unequalJobResults export cannot be counted, so the gate fails closed: ${f.jobResultsProblem ?? 'it was not found'}`
    if (why) failures.push(`${setting('fail-on', 'unequal-job-results')}: ${why}`)
  }
  if (failOn.includes('changes') && !f.noPrevious) {
    const c = f.changes
    const total = c ? c.counts.added + c.counts.removed + c.counts.changed : 0
    const why = c
      ? total > 0
        ? `${total} entr${total === 1 ? 'y' : 'ies'} differ from ${describePrevious(c)}: ${(['added', 'removed', 'changed'] as ChangeKind[])
            .filter(k => c.counts[k] > 0)
            .map(k => `${c.counts[k]} ${k} (${named(c.first[k].map(x => x.path), c.counts[k])})`)
            .join(', ')}`
        : undefined
      : `the change report could not be made, so the gate fails closed: ${f.changesProblem ?? 'no comparison was made'}`
    if (why) failures.push(`${setting('fail-on', 'changes')}: ${why}`)
  }
  return failures.length ? failures.join('; ') : undefined
}

export function describePrevious(c: ChangeReport): string {
  const p = c.comparedWith
  if (p.kind === 'zip') return `the previous ZIP ${p.file}`
  return `the previous export${p.orderName ? ` ${p.orderName}` : ''}${p.finishedAt ? ` of ${p.finishedAt}` : ''}`
}

function named(items: string[], count: number): string {
  const shown = items.slice(0, NAMED).map(i => quoted(i)).join(', ')
  return count > NAMED ? `${shown} and ${count - NAMED} more` : shown
}
