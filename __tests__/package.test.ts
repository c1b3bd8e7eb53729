// The octoplant-export package as npm would publish it: by name, public, with provenance, and
// holding only what the command needs (its bundle, the bundle's licences, the README and LICENSE).
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { describe, expect, it } from 'vitest'
import { npm, stagePackage } from '../__fixtures__/pack.js'

interface DryRun {
  name: string
  version: string
  size: number
  unpackedSize: number
  files: { path: string; size: number; mode: number }[]
}

describe('npm publish --dry-run', () => {
  const stage = stagePackage()
  const out = npm(['publish', '--dry-run', '--json'], stage)
  const published = (JSON.parse(out) as Record<string, DryRun>)['octoplant-export']
  const manifest = JSON.parse(readFileSync(path.join(stage, 'package.json'), 'utf8')) as Record<string, unknown>

  it('publishes octoplant-export publicly, with provenance, with the command as its bin', () => {
    expect(published.name).toBe('octoplant-export')
    expect(manifest.private).toBeUndefined()
    expect(manifest.publishConfig).toEqual({ access: 'public', provenance: true })
    expect(manifest.bin).toEqual({ 'octoplant-export': 'dist/cli/index.js' })
    // The bundle holds its dependencies: an install pulls in nothing.
    expect(manifest.dependencies).toBeUndefined()
  })

  it('holds only what the command needs', () => {
    expect(published.files.map(f => f.path).sort()).toEqual(['LICENSE', 'README.md', 'dist/cli/index.js', 'dist/cli/licenses.txt', 'dist/cli/package.json', 'package.json'])
    const bin = published.files.find(f => f.path === 'dist/cli/index.js')!
    // Executable, so the bin link runs it on Linux and macOS.
    expect(bin.mode & 0o111).not.toBe(0)
    expect(readFileSync(path.join(stage, 'dist/cli/index.js'), 'utf8').startsWith('#!/usr/bin/env node')).toBe(true)
  })
})
