// The lines the design draws, checked on the source: who may import whom, and the names the Action
// promises in action.yml.
import { readdirSync, readFileSync } from 'node:fs'
import * as path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { OUTPUTS } from '../src/shared/outputs.js'

const root = fileURLToPath(new URL('..', import.meta.url))

/** Every .ts file under a folder, relative to the repository. */
function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter(f => f.endsWith('.ts'))
    .map(f => path.join(dir, f))
}

/** The modules a file imports: relative ones resolved to repository paths, packages as named. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8')
  return [...text.matchAll(/^(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/gm)].map(m => {
    const spec = m[1] ?? m[2]
    return spec.startsWith('.') ? path.normalize(path.join(path.dirname(file), spec)) : spec
  })
}

const folderOf = (file: string) => path.dirname(file)

describe('the layout', () => {
  const product = [...sources('src'), ...sources('protocol')]

  it('has no two folders that import each other', () => {
    const edges = new Set<string>()
    for (const file of product) {
      for (const target of importsOf(file).filter(t => t.startsWith('src') || t.startsWith('protocol'))) {
        if (folderOf(target) !== folderOf(file)) edges.add(`${folderOf(file)} -> ${folderOf(target)}`)
      }
    }
    const cycles = [...edges].filter(e => edges.has(e.split(' -> ').reverse().join(' -> ')))
    expect(cycles).toEqual([])
    // The layers, lowest first: protocol ← base ← octoplant ← engine ← the front ends.
    expect([...edges].sort()).toEqual(expect.arrayContaining(['src/engine -> src/octoplant', 'src/octoplant -> src/base']))
  })

  it('keeps the engine and the octoplant client free of the GitHub host', () => {
    for (const file of [...sources('src/engine'), ...sources('src/octoplant'), ...sources('src/base')]) {
      const hosts = importsOf(file).filter(t => t.startsWith('@actions/') && t !== '@actions/http-client')
      expect(hosts, file).toEqual([])
      expect(importsOf(file).filter(t => /^src\/(action|cli)\b/.test(t)), file).toEqual([])
    }
    for (const file of sources('src/engine')) expect(importsOf(file).filter(t => t.startsWith('@actions/')), file).toEqual([])
  })

  it('shares only protocol/ with the simulator', () => {
    for (const file of sources('simulator')) {
      expect(importsOf(file).filter(t => t.startsWith('src')), file).toEqual([])
    }
    for (const file of sources('protocol')) {
      expect(importsOf(file).filter(t => !t.startsWith('protocol')), file).toEqual([])
    }
  })

  it('names every output as action.yml does', () => {
    const action = parse(readFileSync(path.join(root, 'action.yml'), 'utf8')) as { outputs: Record<string, unknown> }
    expect(Object.values(OUTPUTS).sort()).toEqual(Object.keys(action.outputs).sort())
  })

  it('sets outputs only through those names', () => {
    const main = readFileSync(path.join(root, 'src/action/main.ts'), 'utf8')
    expect([...main.matchAll(/setOutput\(\s*(['"`])/g)]).toEqual([])
  })
})
