// Windows path rules, tried with path.win32 on any machine (CI's windows-latest job runs the action
// itself): entry names with backslashes or drive letters, device names, names ending in a dot or a
// space, names differing only in letter case, and path/order-file inputs given as Windows paths.
// What cannot work on Windows is refused with a clear message, never written wrongly.
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { makeZip } from '../__fixtures__/zips.js'
import { extractZip } from '../src/engine/zip/extract.js'
import { InvalidZipError } from '../src/engine/zip/format.js'
import { entryTarget, hostRules, NameCheck, NameClash, type PathRules } from '../src/engine/zip/path-rules.js'

/** The extraction's check of the names, before anything is written, over a list of names. */
function checkEntryNames(root: string, names: string[], rules: PathRules): void {
  const check = new NameCheck(root, rules)
  try {
    for (const name of names) check.add(name)
  } catch (e) {
    throw e instanceof NameClash ? e.withOther(names[e.otherIndex]) : e
  }
}
import { parseInputs } from '../src/shared/inputs.js'

const windows = hostRules('win32')
const root = 'C:\\exports\\o1'

describe('every entry name is checked before the first write, on every platform', () => {
  it.each(['linux', 'win32', 'darwin'] as const)('refuses a file that is also a folder of another entry, in either order (%s)', platform => {
    const rules = hostRules(platform)
    const where = rules.path.resolve(platform === 'win32' ? root : '/exports/o1')
    expect(() => checkEntryNames(where, ['a/b.txt', 'a'], rules)).toThrow('refusing to extract "a": "a" is a file in the ZIP and also a folder of "a/b.txt"')
    expect(() => checkEntryNames(where, ['a', 'a/b/c.txt'], rules)).toThrow('"a" is a file in the ZIP and also a folder of "a/b/c.txt"')
    expect(() => checkEntryNames(where, ['a/', 'a/b.txt', 'a/c/', 'a/c/d.txt'], rules)).not.toThrow()
  })

  it('refuses names that differ only in Unicode normalization on macOS, not on Linux', () => {
    const names = ['Antrieb S\u00fcd/a.txt', 'Antrieb Su\u0308d/a.txt']
    expect(() => checkEntryNames('/exports/o1', names, hostRules('darwin'))).toThrow(/differs from "Antrieb S\u00fcd\/a.txt" only in Unicode normalization/)
    expect(() => checkEntryNames('/exports/o1', names, hostRules('linux'))).not.toThrow()
  })

  it('refuses a NUL in a name and a name longer than a file system holds', () => {
    expect(() => entryTarget('/exports/o1', 'a\0b.txt', hostRules('linux'))).toThrow('its name holds a NUL character')
    expect(() => entryTarget('/exports/o1', `d/${'n'.repeat(256)}`, hostRules('linux'))).toThrow('longer than 255 bytes')
  })
})

describe('ZIP entries on Windows', () => {
  it('lands entries with either separator below the target folder', () => {
    expect(entryTarget(root, 'projectTree/Line 1/PLC/a.s7p', windows)).toBe('C:\\exports\\o1\\projectTree\\Line 1\\PLC\\a.s7p')
    expect(entryTarget(root, 'projectTree\\Line 2\\b.s7p', windows)).toBe('C:\\exports\\o1\\projectTree\\Line 2\\b.s7p')
  })

  it.each(['C:\\Windows\\evil.dll', 'D:evil.txt', '..\\evil.txt', 'projectTree\\..\\..\\evil.txt', '\\\\server\\share\\x', '/etc/passwd'])(
    'refuses %s: its path leaves the target folder',
    name => {
      expect(() => entryTarget(root, name, windows)).toThrow(`refusing to extract "${name}": its path leaves the target folder`)
    }
  )

  it.each([
    ['CON', '"CON" is a device name on Windows'],
    ['nul.txt', '"nul" is a device name on Windows'],
    ['projectTree/COM1/x.s7p', '"COM1" is a device name on Windows'],
    ['LPT9.tar.gz', '"LPT9" is a device name on Windows'],
    ['report.', 'Windows drops a dot or space at the end of a name'],
    ['Line 1 /a.txt', 'Windows drops a dot or space at the end of a name'],
    ['projectTree/a:b.txt', 'it holds a character Windows does not allow in names'],
    ['projectTree/what?.txt', 'it holds a character Windows does not allow in names']
  ])('refuses %s: %s', (name, why) => {
    let error: unknown
    try {
      entryTarget(root, name, windows)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidZipError)
    expect((error as Error).message).toContain(`refusing to extract "${name}": it cannot be written on Windows as it is (${why}`)
  })

  it('allows those names where the platform can hold them', () => {
    expect(entryTarget('/exports/o1', 'CON', hostRules('linux'))).toBe('/exports/o1/CON')
    expect(entryTarget('/exports/o1', 'report.', hostRules('darwin'))).toBe('/exports/o1/report.')
  })

  it('refuses two entries that differ only in letter case on Windows and macOS, not on Linux', () => {
    const names = ['projectTree/', 'projectTree/Line1/a.s7p', 'ProjectTree/line1/A.S7P']
    for (const platform of ['win32', 'darwin'] as const) {
      const rules = hostRules(platform)
      expect(() => checkEntryNames(rules.path.resolve(platform === 'win32' ? root : '/exports/o1'), names, rules)).toThrow(
        'refusing to extract "ProjectTree/line1/A.S7P": it differs from "projectTree/Line1/a.s7p" only in letter case, and on this runner\'s file system one would overwrite the other'
      )
    }
    expect(() => checkEntryNames('/exports/o1', names, hostRules('linux'))).not.toThrow()
    // Folders that differ only in case merge into one: nothing is overwritten.
    expect(() => checkEntryNames(root, ['Line1/', 'line1/', 'Line1/a.txt', 'line1/b.txt'], windows)).not.toThrow()
  })

  it('writes nothing when one name cannot be written: every name is checked first', async () => {
    const zipFile = path.join(mkdtempSync(path.join(tmpdir(), 'win-')), 'e.zip')
    const { writeFileSync } = await import('node:fs')
    writeFileSync(zipFile, await makeZip({ 'contents.json': '{}', 'projectTree/ok.txt': 'ok', 'projectTree/NUL.txt': 'x' }))
    const target = path.join(path.dirname(zipFile), 'out')
    const strict = { ...hostRules('linux'), windowsNames: true }
    await expect(extractZip(zipFile, target, { rules: strict })).rejects.toThrow('refusing to extract "projectTree/NUL.txt": it cannot be written on Windows as it is')
    expect(existsSync(target)).toBe(false)
  })
})

describe('path and order-file inputs as Windows paths', () => {
  const workspace = 'D:\\a\\plant\\plant'
  const read: string[] = []
  const parse = (inputs: Record<string, string>) =>
    parseInputs(name => inputs[name] ?? '', {
      env: { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: 'D:\\a\\_temp' },
      readFile: file => {
        read.push(file)
        return 'projectTree: {}'
      },
      path: path.win32
    })
  const base = { 'server-url': 'https://octoplant.plant.local:64023', username: 'u', password: 'p' }

  it('resolves path against the workspace, or takes a drive path as it is', () => {
    expect(parse({ ...base, path: 'backups\\nightly' }).path).toBe('D:\\a\\plant\\plant\\backups\\nightly')
    expect(parse({ ...base, path: 'E:\\octoplant' }).path).toBe('E:\\octoplant')
    expect(parse(base).path).toBe('D:\\a\\_temp\\octoplant-export')
  })

  it('reads an order-file in the workspace, whatever the letter case of its drive and folders', () => {
    expect(parse({ ...base, 'order-file': 'orders\\nightly.yml' }).exportContents).toEqual({ projectTree: {} })
    expect(parse({ ...base, 'order-file': 'd:\\A\\PLANT\\plant\\orders\\x.yml' }).exportContents).toEqual({ projectTree: {} })
    expect(read).toEqual(['D:\\a\\plant\\plant\\orders\\nightly.yml', 'd:\\A\\PLANT\\plant\\orders\\x.yml'])
  })

  it('refuses an order-file outside the workspace', () => {
    expect(() => parse({ ...base, 'order-file': 'C:\\Windows\\win.ini' })).toThrow(
      "order-file must be a file in the workspace (D:\\a\\plant\\plant or D:\\a\\_temp); C:\\Windows\\win.ini is outside it"
    )
  })

  it.each(['CON', 'nul', 'COM1'])('refuses artifact-name %s, which Windows cannot hold as a file name', name => {
    expect(() => parse({ ...base, 'artifact-name': name })).toThrow(/^artifact-name cannot name a file on Windows: /)
  })
})
