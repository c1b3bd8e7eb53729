import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { README, updateReadme } from '../scripts/docs.js'

describe('the README', () => {
  it('has the inputs and outputs tables that action.yml gives (run npm run docs)', () => {
    const readme = readFileSync(README, 'utf8')
    expect(readme).toBe(updateReadme(readme, readFileSync(new URL('../action.yml', import.meta.url), 'utf8')))
  })

  it('fails when action.yml gains an input the README does not show', () => {
    const readme = readFileSync(README, 'utf8')
    const action = readFileSync(new URL('../action.yml', import.meta.url), 'utf8').replace('inputs:\n', 'inputs:\n  extra-thing:\n    description: new\n')
    expect(updateReadme(readme, action)).not.toBe(readme)
  })
})
