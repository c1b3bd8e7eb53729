// Text that came from outside (the server, a proxy, a ZIP's entry names, files on the agent) is data.
// Before it reaches a log, a summary, an output or a terminal it passes untrusted(): one line, no
// control characters or terminal escapes, no way to start a runner's command, and a bounded length.
// A front end's writers also pass every line they print through commandFree(), so that no line of
// ours can be read as a command either, whatever it quotes.
//
// Written by hand: it is a few regular expressions, and the rules are the CI systems' own:
// - GitHub Actions runs a line as a workflow command when it starts with "::" (after spaces);
// - Azure DevOps runs "##vso[…]" and formats "##[…]" where they appear in a line;
// - terminals act on ESC and C1 sequences; bidirectional overrides reorder what a reader sees.

/** Longest text from outside that is shown whole. */
export const UNTRUSTED_MAX_CHARS = 500

/* eslint-disable no-control-regex -- matching control characters is this file's job */
/** ESC sequences (CSI, OSC, and two-character ones), whole: their parameters are not shown either. */
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])?|\x9b[0-?]*[ -/]*[@-~]/g
/** C0 and C1 control characters but tab and line breaks, DEL, and bidirectional overrides: each
 *  shown as U+FFFD, so that a reader sees that something was there. */
const CONTROLS = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g
/** Azure DevOps' logging and formatting commands, anywhere in a line. */
const AZURE_COMMANDS = /##(vso)?\[/gi
/** A GitHub workflow command at a line's start (the runner ignores the spaces before it). */
const GITHUB_COMMAND = /^([ \t]*):(?=:)/gm
/* eslint-enable no-control-regex */

/** Text from outside, made safe to show: one line, printable, no command, at most `max` characters
 *  (a note says how many were cut). */
export function untrusted(text: unknown, max = UNTRUSTED_MAX_CHARS): string {
  const s = commandFree(String(text).replace(/\r\n?|\n/g, ' ').replace(/\t/g, ' '))
  if (s.length <= max) return s
  return `${s.slice(0, max)}… (${s.length - max} more characters cut)`
}

/** Text to print (ours, which may quote text from outside): escapes removed, control characters
 *  other than line breaks and tabs replaced, and no line that a CI system would run as a command. */
export function commandFree(text: string): string {
  return text.replace(ESCAPES, '').replace(CONTROLS, '\ufffd').replace(AZURE_COMMANDS, m => `#\u200b${m.slice(1)}`).replace(GITHUB_COMMAND, '$1:\u200b')
}

/** A name from outside (an order, a ZIP entry) inside a message: quoted, and safe to show. */
export function quoted(name: string): string {
  return `"${untrusted(name, 200)}"`
}
