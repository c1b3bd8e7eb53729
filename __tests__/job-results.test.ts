// The gate's count of the unequalJobResults export: CSV with either separator and quoted fields
// that hold separators and line breaks, JSON as an array or an object holding one, and every shape
// it does not understand refused (never counted as 0).
import { describe, expect, it } from 'vitest'
import { jobResultsCsv, jobResultsJson, DEFAULT_JOBS, isUnequal } from '../simulator/job-results.js'
import { renderSettings } from '../src/base/setting-ref.js'
import { actionSetting } from '../src/action/step.js'
import { judgeGate } from '../src/engine/evidence/gate.js'
import { countJobResults, findUnequalJobResults, JobResultsUnreadable } from '../src/engine/evidence/job-results.js'

const csv = (text: string) => Buffer.from(text, 'utf8')
const unequal = DEFAULT_JOBS.filter(isUnequal)

describe('counting unequalJobResults', () => {
  it('counts CSV records separated by ";" whose quoted fields hold ";" and line breaks', () => {
    const text = jobResultsCsv(unequal, ';')
    expect(text).toContain('"Screen ""Overview; Alarms"" differs\nfrom the server version"')
    const counted = countJobResults('unequalJobResults.csv', csv(text))
    expect(counted.count).toBe(2)
    expect(counted.first[0]).toMatch(/^Nightly upload Line 1 HMI \/ \\Plant\\Line 1\\HMI TP1200/)
  })

  it('detects "," as the separator, and takes the order\'s csvSeparator when it set one', () => {
    const comma = 'Job,Component,Message\r\n"Line 1, PLC",\\Plant\\A,"two\r\nlines"\r\nLine 2,\\Plant\\B,ok\r\n'
    expect(countJobResults('x/UnequalJobResults_2026.csv', csv(comma)).count).toBe(2)
    const pipes = jobResultsCsv(unequal, '|')
    expect(countJobResults('unequalJobResults.csv', csv(pipes), '|').count).toBe(2)
  })

  it('counts a header line alone as no job, and a BOM does not matter', () => {
    expect(countJobResults('unequalJobResults.csv', csv('\uFEFFJob;Component\r\n')).count).toBe(0)
  })

  it('counts JSON: a top-level array, or the one array inside an object', () => {
    expect(countJobResults('unequalJobResults.json', csv(jobResultsJson(unequal))).count).toBe(2)
    expect(countJobResults('unequalJobResults.json', csv('[{"job": "a"}, {"job": "b"}, {"job": "c"}]')).count).toBe(3)
    expect(countJobResults('unequalJobResults.json', csv('{"export": {"results": {"items": []}}}')).count).toBe(0)
  })

  it.each([
    ['an empty CSV', 'unequalJobResults.csv', ''],
    ['a CSV whose rows do not match its header', 'unequalJobResults.csv', 'a;b\n1;2;3\n'],
    ['a CSV with an unclosed quote', 'unequalJobResults.csv', 'a;b\n"1;2\n'],
    ['JSON that does not parse', 'unequalJobResults.json', '{"items": ['],
    ['a JSON object with two arrays', 'unequalJobResults.json', '{"differ": [1], "errors": [2]}'],
    ['a JSON object with no array', 'unequalJobResults.json', '{"count": 0}'],
    ['a JSON string', 'unequalJobResults.json', '"none"']
  ])('refuses %s instead of counting 0', (_, file, text) => {
    expect(() => countJobResults(file, csv(text))).toThrow(JobResultsUnreadable)
  })

  it('refuses a file too large to read here', () => {
    expect(() => countJobResults('unequalJobResults.csv', undefined)).toThrow(/too large/)
  })
})

describe('finding the unequalJobResults file', () => {
  it('takes the file contents.json names, else the one named like the kind in any case', () => {
    expect(findUnequalJobResults(['UNEQUALJOBRESULTS.CSV'], undefined)).toBe('UNEQUALJOBRESULTS.CSV')
    expect(findUnequalJobResults(['a/unequalJobResults.csv', 'b/unequalJobResults_old.csv'], { files: { unequalJobResults: 'unequalJobResults.csv' } })).toBe('a/unequalJobResults.csv')
  })

  it('fails when there is none, or several and contents.json does not choose', () => {
    expect(() => findUnequalJobResults(['jobResults.csv', 'contents.json'], {})).toThrow(/holds no unequalJobResults file/)
    expect(() => findUnequalJobResults(['unequalJobResults.csv', 'unequalJobResults.json'], {})).toThrow(/2 files that could be/)
  })
})

describe('the gate', () => {
  // The gate names fail-on as a setting; here spelled as the Action does.
  const gate = (...a: Parameters<typeof judgeGate>) => {
    const verdict = judgeGate(...a)
    return verdict && renderSettings(verdict, actionSetting)
  }

  it('fails naming the count and the first jobs, and passes on none', () => {
    const jobResults = { file: 'unequalJobResults.csv', count: 5, first: ['a', 'b', 'c'] }
    expect(gate(['unequal-job-results'], { jobResults })).toBe(
      'fail-on: unequal-job-results: the unequalJobResults export (unequalJobResults.csv) lists 5 job(s) with differences or errors: "a", "b", "c" and 2 more'
    )
    expect(gate(['unequal-job-results'], { jobResults: { ...jobResults, count: 0, first: [] } })).toBeUndefined()
  })

  it('fails closed when the file could not be counted', () => {
    expect(gate(['unequal-job-results'], { jobResultsProblem: 'x.json is JSON of an unknown shape' })).toBe(
      'fail-on: unequal-job-results: the unequalJobResults export cannot be counted, so the gate fails closed: x.json is JSON of an unknown shape'
    )
  })

  it('on changes: fails closed when no report could be made, passes on a first export (the baseline)', () => {
    expect(gate(['changes'], { changesProblem: 'the previous export could not be fetched: 403' })).toMatch(/^fail-on: changes: the change report could not be made, so the gate fails closed/)
    expect(gate(['changes'], { noPrevious: true })).toBeUndefined()
  })

  it('judges only what fail-on names', () => {
    expect(gate([], { jobResultsProblem: 'missing' })).toBeUndefined()
  })
})
