import { describe, expect, it } from 'vitest'
import { actionSetting } from '../src/action/step.js'
import { plainSetting, renderAll, renderSettings, setting, settingIfAny } from '../src/base/setting-ref.js'
import { commandFree, untrusted } from '../src/base/untrusted.js'
import { cliSetting } from '../src/cli/main.js'
import { TimeoutReached } from '../src/base/deadline.js'
import { explain } from '../src/engine/failures.js'

describe('a setting named in a message', () => {
  const message = `re-run with ${setting('order-name', 'o-1')}, or raise ${setting('timeout')}`

  it('is spelled by the front end that prints it', () => {
    expect(renderSettings(message, actionSetting)).toBe('re-run with order-name: o-1, or raise the timeout input')
    expect(renderSettings(message, cliSetting)).toBe('re-run with --order-name o-1, or raise --timeout')
    expect(renderSettings(message, plainSetting)).toBe('re-run with order-name=o-1, or raise timeout')
  })

  it('survives being composed into a longer message', () => {
    const wrapped = explain(new TimeoutReached(), 90_000)
    expect(renderSettings(`Order o-1 failed: ${wrapped}`, cliSetting)).toBe('Order o-1 failed: gave up after 1m30s: --timeout was reached')
  })

  it('spells booleans and Action-only settings in the command in a syntax it accepts', () => {
    expect(renderSettings(setting('extract', 'true'), cliSetting)).toBe('--extract')
    expect(renderSettings(setting('cancel-on-timeout', 'false'), cliSetting)).toBe('--no-cancel-on-timeout')
    const hint = `set ${setting('compare-with')}${settingIfAny(' or ', 'compare-with-previous', 'true')}`
    expect(renderSettings(hint, cliSetting)).toBe('set --compare-with')
    expect(renderSettings(hint, actionSetting)).toBe('set the compare-with input or compare-with-previous: true')
  })

  it('is spelled in every string of a report, and nothing else is touched', () => {
    const bytes = Buffer.from('x')
    const report = { error: message, list: [setting('path')], n: 3, bytes }
    expect(renderAll(report, cliSetting)).toEqual({ error: 're-run with --order-name o-1, or raise --timeout', list: ['--path'], n: 3, bytes })
  })

  it('cannot be forged by text from outside, nor broken by its value', () => {
    const forged = `\u0001token\u0002 \u0001order-name\u001fx\u0002`
    expect(renderSettings(untrusted(forged), cliSetting)).not.toContain('--')
    expect(renderSettings(commandFree(forged), actionSetting)).not.toContain('input')
    // A value that holds the frame's characters is shown, not read as a frame.
    expect(renderSettings(setting('order-name', 'a\u0002b\u0001c'), actionSetting)).toBe('order-name: a\ufffdb\ufffdc')
  })
})
