// Keeps the README's inputs and outputs tables what action.yml says. `npm run docs` rewrites them;
// a test fails when they differ.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

const root = fileURLToPath(new URL('..', import.meta.url))
export const README = `${root}README.md`
const ACTION = `${root}action.yml`

interface ActionYml {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>
  outputs: Record<string, { description: string }>
}

const cell = (s: string) => s.replace(/\s+/g, ' ').trim().replace(/\|/g, '\\|')

export function renderTables(actionYml: string): { inputs: string; outputs: string } {
  const a = parse(actionYml) as ActionYml
  const inputs = [
    '| Input | Required | Default | Description |',
    '|---|---|---|---|',
    ...Object.entries(a.inputs).map(
      ([name, i]) => `| \`${name}\` | ${i.required ? 'yes' : 'no'} | ${i.default !== undefined ? `\`${cell(i.default)}\`` : ''} | ${cell(i.description)} |`
    )
  ].join('\n')
  const outputs = ['| Output | Description |', '|---|---|', ...Object.entries(a.outputs).map(([n, o]) => `| \`${n}\` | ${cell(o.description)} |`)].join('\n')
  return { inputs, outputs }
}

export function updateReadme(readme: string, actionYml: string): string {
  const t = renderTables(actionYml)
  const put = (text: string, key: string, table: string) => {
    const re = new RegExp(`(<!-- ${key}:start -->)[\\s\\S]*?(<!-- ${key}:end -->)`)
    if (!re.test(text)) throw new Error(`README lacks the ${key} markers`)
    return text.replace(re, (_, start: string, end: string) => `${start}\n${table}\n${end}`)
  }
  return put(put(readme, 'inputs', t.inputs), 'outputs', t.outputs)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(README, updateReadme(readFileSync(README, 'utf8'), readFileSync(ACTION, 'utf8')))
  console.log('README tables updated from action.yml')
}
