// The helpers every text and name from outside passes: untrusted() for showing it, spellingsOf()
// for masking a secret however it comes back, fileNameFor() for naming files after an order.
import { describe, expect, it } from 'vitest'
import { fileNameFor, unsafeNameProblem } from '../src/base/safe-name.js'
import { Secrets, spellingsOf } from '../src/base/secrets.js'
import { commandFree, untrusted } from '../src/base/untrusted.js'

describe('untrusted text', () => {
  it('is one line with no escape, no control character and no command', () => {
    // A line break becomes a space: what followed it no longer starts a line.
    expect(untrusted('Export\n::error::injected')).toBe('Export ::error::injected')
    expect(untrusted('::set-output name=x::y')).toBe(':\u200b:set-output name=x::y')
    expect(untrusted('  ::error::x')).toBe('  :\u200b:error::x')
    expect(untrusted('a ##vso[task.setvariable variable=GATE]passed ##[error]x')).toBe('a #\u200b#vso[task.setvariable variable=GATE]passed #\u200b#[error]x')
    expect(untrusted('clear\x1b[2Jscreen \x1b]0;title\x07 bell\x07 nul\0 rtl\u202eevil')).toBe('clearscreen  bell\ufffd nul\ufffd rtl\ufffdevil')
  })

  it('is cut to 500 characters, saying how many were cut', () => {
    const cut = untrusted('x'.repeat(900_000))
    expect(cut).toBe(`${'x'.repeat(500)}… (899500 more characters cut)`)
  })

  it('keeps line breaks in our own multi-line text, but no line of it starts a command', () => {
    expect(commandFree('line one\n::error::two\n  ::warning::three')).toBe('line one\n:\u200b:error::two\n  :\u200b:warning::three')
  })
})

describe('secrets in every spelling', () => {
  it('covers the JSON-escaped, URL-encoded and form-encoded forms, in either hex case', () => {
    const spellings = spellingsOf('pa"ss\\wo rd&x=1/é')
    expect(spellings).toEqual(
      expect.arrayContaining([
        'pa"ss\\wo rd&x=1/é',
        'pa\\"ss\\\\wo rd&x=1/é',
        'pa%22ss%5Cwo%20rd%26x%3D1%2F%C3%A9',
        'pa%22ss%5Cwo+rd%26x%3D1%2F%C3%A9',
        'pa%22ss%5cwo+rd%26x%3d1%2f%c3%a9'
      ])
    )
  })

  it('masks a two-character secret too, and keeps an output document readable', () => {
    const secrets = new Secrets()
    secrets.add('q7')
    expect(secrets.mask('token q7 and q%37')).toBe('token *** and q%37')
    expect(secrets.maskValues({ 'error-message': 'refused q7', q7: 1 })).toEqual({ 'error-message': 'refused ***', q7: 1 })
  })
})

describe('file names for orders', () => {
  it.each(['0b4a1f9e-6c3d-4e8a-9f2b-1c2d3e4f5a6b', 'order_1.2@x~y'])('keeps a safe name as it is: %s', name => {
    expect(unsafeNameProblem(name)).toBeUndefined()
    expect(fileNameFor(name)).toBe(name)
  })

  it.each([
    ['../../../pwned', /^pwned-[0-9a-f]{12}$/],
    ['..', /^order-[0-9a-f]{12}$/],
    ['.hidden', /^hidden-[0-9a-f]{12}$/],
    ['a:b', /^a-b-[0-9a-f]{12}$/],
    ['CON', /^CON-[0-9a-f]{12}$/],
    ['x\ny', /^x-y-[0-9a-f]{12}$/],
    ['y'.repeat(300), /^y{87}-[0-9a-f]{12}$/]
  ])('makes %j safe and unique', (name, pattern) => {
    expect(unsafeNameProblem(name)).toBeDefined()
    expect(fileNameFor(name)).toMatch(pattern)
    expect(fileNameFor(name).length).toBeLessThanOrEqual(100)
    expect(fileNameFor(name)).not.toBe(fileNameFor(`${name}?`))
  })
})
