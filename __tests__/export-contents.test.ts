import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { KNOWN_KINDS, validateExportContents } from '../src/shared/export-contents.js'
import { renderSchema } from '../scripts/gen-export-schema.js'

const problems = (v: unknown): string => {
  try {
    validateExportContents(v)
  } catch (e) {
    return (e as Error).message
  }
  throw new Error('expected problems')
}

describe('exportContents checks (the gateway would ignore unknown keys silently)', () => {
  it('knows the 13 kinds of the spec', () => {
    expect(KNOWN_KINDS.sort()).toEqual(
      [
        'adminLog', 'assetState', 'componentLog', 'componentTypes', 'componentsWithStdLibAssignments', 'eventLog', 'jobList',
        'jobResults', 'projectTree', 'standardLibraryManagement', 'unequalJobResults', 'usageInformation', 'userManagement'
      ].sort()
    )
  })

  it('catches a misspelt kind and suggests the right one', () => {
    expect(problems({ projectTre: {} })).toBe('unknown export kind "projectTre" (did you mean "projectTree"?)')
    expect(problems({ jobresult: {} })).toMatch(/did you mean "jobResults"/)
  })

  it('catches a misspelt option and lists the valid ones', () => {
    expect(problems({ projectTree: { versionInfo: 'VERSION_INFORMATION_ALL' } })).toMatch(
      /unknown option "projectTree.versionInfo" \(did you mean "versionInformation"\?\) \(options of projectTree: exportType, flatExport, dir, componentId, versionInformation, includeMasterData, enableNodeTree\)/
    )
    expect(problems({ usageInformation: { exportType: 'EXPORT_TYPE_JSON' } })).toMatch(/options of usageInformation: includeClientTrackingInfo/)
  })

  it('checks enum values, and points from a short name to the full one', () => {
    expect(problems({ jobList: { exportType: 'CSV' } })).toMatch(
      /jobList.exportType must be one of EXPORT_TYPE_UNSPECIFIED, EXPORT_TYPE_CSV, EXPORT_TYPE_JSON; got "CSV" \(did you mean "EXPORT_TYPE_CSV"\?\)/
    )
    expect(validateExportContents({ jobList: { exportType: 1 } })).toEqual({ jobList: { exportType: 1 } })
  })

  it('checks booleans, whole numbers and RFC 3339 times, nested ones too', () => {
    expect(problems({ projectTree: { flatExport: 'yes' } })).toMatch(/projectTree.flatExport must be true or false; got "yes"/)
    expect(problems({ eventLog: { lastXDays: 1.5 } })).toMatch(/eventLog.lastXDays must be a whole number/)
    expect(problems({ eventLog: { timeStampFilter: { filterFrom: 'yesterday' } } })).toMatch(
      /eventLog.timeStampFilter.filterFrom must be an RFC 3339 time/
    )
    expect(problems({ eventLog: { timeStampFilter: { from: '2026-01-01T00:00:00Z' } } })).toMatch(/unknown option "eventLog.timeStampFilter.from"/)
    expect(
      validateExportContents({ eventLog: { lastXDays: '7', timeStampFilter: { filterFrom: '2026-01-01T00:00:00Z' } } })
    ).toEqual({ eventLog: { lastXDays: '7', timeStampFilter: { filterFrom: '2026-01-01T00:00:00Z' } } })
  })

  it('lists every problem at once', () => {
    const text = problems({ projectTre: {}, jobList: { exportType: 'CSV' }, adminLog: 3 })
    expect(text).toMatch(/^unknown export kind "projectTre".*; jobList.exportType must be one of .*; adminLog: options must be a mapping/)
  })

  it('accepts protobuf field names and null options, as the server does', () => {
    expect(validateExportContents({ project_tree: { version_information: 'VERSION_INFORMATION_ALL' }, job_list: null })).toEqual({
      projectTree: { versionInformation: 'VERSION_INFORMATION_ALL' },
      jobList: {}
    })
  })

  it('refuses an empty order', () => {
    expect(problems({})).toMatch(/names no export kind/)
  })
})

describe('the schema the checks use', () => {
  const spec = new URL('../spec/octoplant-export-api.subset.json', import.meta.url)

  it('is what scripts/gen-export-schema.ts makes of spec/ (run npm run gen:schema)', () => {
    const generated = readFileSync(new URL('../protocol/export-schema.ts', import.meta.url), 'utf8')
    expect(generated).toBe(renderSchema(readFileSync(spec, 'utf8')))
  })
})
