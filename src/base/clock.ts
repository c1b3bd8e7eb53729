/** The reason an AbortSignal carries, as an Error (AbortSignal.timeout's is a DOMException). */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason
  return reason instanceof Error ? reason : new Error(String(reason))
}

/** Settles with the work, or rejects with the signal's reason as soon as it aborts (the work itself
 *  may go on: the caller stops waiting for it). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal))
    const onAbort = () => reject(abortReason(signal))
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

/** Time as the engine sees it; tests pass a clock they move by hand. */
export interface Clock {
  now(): number
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** A signal that aborts with `reason` once `ms` of this clock's time have passed. */
  timeout(ms: number, reason: Error): AbortSignal
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal))
      const onAbort = () => {
        clearTimeout(timer)
        reject(abortReason(signal!))
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal?.addEventListener('abort', onAbort, { once: true })
    }),
  timeout: (ms, reason) => {
    const controller = new AbortController()
    // Unreferenced: a deadline alone must not keep the process alive.
    setTimeout(() => controller.abort(reason), ms).unref()
    return controller.signal
  }
}
