// A setting named in a message. The engine and the shared input code say which setting (and which
// value) a message is about; the front end that prints the message spells it in its own language:
// the Action `the timeout input` / `order-name: X`, the command `--timeout` / `--order-name X`.
//
// A reference is written into the message text itself, framed by control characters, and rendered
// where a front end prints (renderSettings). Weighed against an error object that carries its
// setting: messages are composed (explain() wraps a cause, the next step follows the error, the
// report's error becomes an output), and a reference in the text survives every composition, while
// a field on an error would be lost at the first `${e.message}`. Text from outside cannot forge a
// reference: untrusted() and commandFree() turn these control characters into U+FFFD.

const OPEN = '\u0001'
const VALUE = '\u001f'
const LEAD = '\u001e'
const CLOSE = '\u0002'
// eslint-disable-next-line no-control-regex -- the frame is made of control characters
const REFERENCE = /\u0001([^\u0001\u0002\u001e\u001f]*)(?:\u001f([^\u0001\u0002\u001e]*))?(?:\u001e([^\u0001\u0002]*))?\u0002/g
// eslint-disable-next-line no-control-regex -- a value must not close its own frame
const FRAME_CHARS = /[\u0001\u0002\u001e\u001f]/g
const framed = (text: string) => text.replace(FRAME_CHARS, '\ufffd')

/** How a front end spells a setting (and, when given, the value to set it to); '' for a setting
 *  it does not have. */
export type SpellSetting = (name: string, value?: string) => string

/** The setting `name` (set to `value`, when given) in a message, for the front end to spell. */
export function setting(name: string, value?: string): string {
  return `${OPEN}${name}${value === undefined ? '' : VALUE + framed(value)}${CLOSE}`
}

/** `lead` and the setting, where the front end has that setting; nothing where it has not (the
 *  command has no compare-with-previous: "set --compare-with" there, "… or compare-with-previous:
 *  true" in the Action). */
export function settingIfAny(lead: string, name: string, value?: string): string {
  return `${OPEN}${name}${value === undefined ? '' : VALUE + framed(value)}${LEAD}${framed(lead)}${CLOSE}`
}

/** The message with every setting spelled by `spell`. */
export function renderSettings(text: string, spell: SpellSetting): string {
  if (!text.includes(OPEN)) return text
  return text.replace(REFERENCE, (_, name: string, value: string | undefined, lead: string | undefined) => {
    const spelled = spell(name, value)
    return spelled && (lead ?? '') + spelled
  })
}

/** Every string in a report (plain objects and arrays, walked) with its settings spelled. */
export function renderAll<T>(value: T, spell: SpellSetting): T {
  if (typeof value === 'string') return renderSettings(value, spell) as T
  if (Array.isArray(value)) return (value as unknown[]).map(v => renderAll(v, spell)) as T
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderAll(v, spell)])) as T
  }
  return value
}

/** The plain spelling, for text that no front end prints (errors in tests, a library's caller). */
export const plainSetting: SpellSetting = (name, value) => (value === undefined ? name : `${name}=${value}`)
