// The download with its re-fetch: a transient error status, or a body that is cut, short, corrupt or
// broken off by a stream error, is discarded and fetched again under the one retry policy
// (base/retry.ts), never past the deadline.
import type { Deadline } from '../base/deadline.js'
import { withRetries } from '../base/retry.js'
import type { GatewayBody } from '../octoplant/download-body.js'
import { isTransientError, OctoplantError } from '../octoplant/request.js'
import { type SavedZip, saveZip, type SaveOptions } from './save-zip.js'
import { InvalidZipError } from './zip/format.js'

/** Every try of the download failed (cut, corrupt, or a stream error each time). */
export class DownloadFailedError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DownloadFailedError'
  }
}

export interface DownloadOptions extends SaveOptions {
  deadline?: Deadline
  /** Jitter source, [0, 1). */
  random?: () => number
}

/** Stream errors of a body cut mid-way: the export is fetched again. */
const CUT_CODES = new Set(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE', 'ETIMEDOUT', 'EPIPE', 'ECONNABORTED'])

function worthAnotherTry(e: unknown): boolean {
  if (e instanceof InvalidZipError) return e.retryable
  return isTransientError(e) || CUT_CODES.has((e as NodeJS.ErrnoException).code ?? '')
}

export async function downloadZip(open: () => Promise<GatewayBody>, file: string, o: DownloadOptions): Promise<SavedZip & { attempts: number }> {
  let attempts = 0
  const saved = await withRetries(
    async attempt => {
      attempts = attempt
      return saveZip(await open(), file, o)
    },
    {
      clock: o.clock,
      deadline: o.deadline,
      signal: o.signal,
      random: o.random,
      retryAfter: e => (worthAnotherTry(e) ? { atLeastMs: e instanceof OctoplantError ? (e.retryAfterMs ?? 0) : 0 } : undefined),
      onRetry: (e, attempt, all, delay) =>
        o.logger?.warning(`download attempt ${attempt} of ${all} failed (${(e as Error).message}); downloading again in ${(delay / 1000).toFixed(1)}s`),
      giveUp: (e, why) =>
        new DownloadFailedError(
          why.reason === 'attempts'
            ? `the download failed ${why.attempt} times; the last time: ${(e as Error).message}`
            : `the download failed ${why.attempt} times and no time is left to try again before the timeout; the last time: ${(e as Error).message}`
        )
    }
  )
  return { ...saved, attempts }
}
