// The command's live status line at a terminal: one line on stderr, redrawn in place, with the
// order's state and the server's progress and the time waited, then the download's bytes, rate and
// time left. Log lines are written above it; it is cleared before the final lines.
//
// Written by hand: it takes two escape sequences (carriage return, erase line), and the engine's
// progress events already carry all it shows. Weighed: log-update (redraws stdout by default, brings
// five packages for widths and wrapping, and our log lines would still have to pass through it),
// ora (a spinner, not a status line) and cli-progress (bars, not the order's state).
import type { Clock } from '../base/clock.js'
import { formatBytes, formatDuration, formatRate } from '../base/format.js'
import type { ExportProgress } from '../engine/export.js'

/** The terminal stderr is. */
export interface Terminal {
  write(text: string): void
  /** Its width in characters, now (a window can be resized). */
  columns(): number
}

/** Back to the line's start and erase it. */
const ERASE_LINE = '\r\x1b[2K'
/** The download reports every chunk: the line is redrawn at most this often. */
const REDRAW_EVERY_MS = 200
/** Redrawn this often while nothing is reported, so the time waited moves. */
const TICK_MS = 1000

export class StatusLine {
  private shown = ''
  private lastDraw = Number.NEGATIVE_INFINITY
  private ticker?: NodeJS.Timeout
  private waitingSince?: number
  private order = ''
  private download?: { since: number; received: number; total?: number }

  constructor(
    private readonly terminal: Terminal,
    private readonly clock: Clock
  ) {}

  update(p: ExportProgress): void {
    const now = this.clock.now()
    if (p.stage === 'waiting') {
      this.waitingSince ??= now
      this.order = p.order
    } else if (!this.download || p.received < this.download.received) {
      // The first bytes, or a download started again after a failed try.
      this.download = { since: now, received: p.received, total: p.total }
    } else {
      this.download.received = p.received
      this.download.total = p.total
    }
    this.ticker ??= setInterval(() => this.draw(this.clock.now()), TICK_MS).unref()
    if (now - this.lastDraw >= REDRAW_EVERY_MS) this.draw(now)
  }

  /** A finished line (with its line break), written above the status line. */
  log(line: string): void {
    this.terminal.write(this.shown ? `${ERASE_LINE}${line}${this.shown}` : line)
  }

  /** Gone for good: nothing is redrawn after this. */
  clear(): void {
    clearInterval(this.ticker)
    this.ticker = undefined
    if (this.shown) this.terminal.write(ERASE_LINE)
    this.shown = ''
    this.waitingSince = undefined
    this.download = undefined
  }

  private draw(now: number): void {
    const text = this.describe(now)
    if (!text) return
    this.shown = fit(text, this.terminal.columns())
    this.terminal.write(`${ERASE_LINE}${this.shown}`)
    this.lastDraw = now
  }

  /** "Downloading 12.0 MiB of 512 MiB (2 %), 40.0 MiB/s, 12s left" or "Waited 1m5s: STATE_RUNNING, …" */
  private describe(now: number): string | undefined {
    const d = this.download
    if (d) {
      const ms = now - d.since
      const parts = [`Downloading ${formatBytes(d.received)}`, formatRate(d.received, ms)]
      if (d.total !== undefined) {
        parts[0] += ` of ${formatBytes(d.total)} (${Math.floor((100 * d.received) / Math.max(d.total, 1))} %)`
        if (d.received > 0 && ms > 0) parts.push(`${formatDuration(((d.total - d.received) * ms) / d.received)} left`)
      }
      return parts.join(', ')
    }
    if (this.waitingSince === undefined) return undefined
    return `Waited ${formatDuration(now - this.waitingSince)}: ${this.order}`
  }
}

/** Cut to the terminal's width less one column: a line that fills it wraps on some terminals, and a
 *  wrapped line cannot be erased in place. */
function fit(text: string, columns: number): string {
  const width = Math.max(columns - 1, 10)
  return text.length > width ? `${text.slice(0, width - 1)}…` : text
}
