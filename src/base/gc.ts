// A minor garbage collection now and then, while a large download streams through: each TLS read
// leaves a dead buffer behind, and V8 collects them only when its young generation fills, which
// lets the process grow by ~60 MiB at full speed. Collecting every few MiB keeps it flat (measured
// in BENCHMARKS.md) and costs ~0.15 ms a time.
//
// An action cannot pass Node flags (runs.using: node24), so `gc` is obtained at run time: the
// --expose-gc flag is switched on, a fresh context hands out its `gc`, and the flag is switched off.
// Node documents changing V8 flags after start as unsupported, so this fails safe: anything unusual
// (no such flag, no function, a throw when called) gives the old behaviour, never a crash.
import v8 from 'node:v8'
import vm from 'node:vm'

/** A minor GC (a full one when `full`), or nothing. */
export type Collect = (full?: boolean) => void

const nothing: Collect = () => {}

interface Runtime {
  setFlagsFromString(flags: string): void
  runInNewContext(code: string): unknown
}

const node: Runtime = { setFlagsFromString: f => v8.setFlagsFromString(f), runInNewContext: c => vm.runInNewContext(c) as unknown }

let cached: Collect | undefined

/** The process's minor GC, obtained once; a no-op when it cannot be had. */
export function runtimeGc(runtime: Runtime = node): Collect {
  if (runtime === node && cached) return cached
  let gc: unknown = (globalThis as { gc?: unknown }).gc
  if (typeof gc !== 'function') {
    try {
      runtime.setFlagsFromString('--expose-gc')
      try {
        gc = runtime.runInNewContext('gc')
      } finally {
        runtime.setFlagsFromString('--no-expose-gc')
      }
    } catch {
      gc = undefined
    }
  }
  if (typeof gc === 'function') {
    try {
      // Keep the young generation at its starting size: V8 grows it when many objects survive its
      // collections, and the explicit ones make every live object a survivor (measured: 130 → 100
      // MiB peak while extracting 70,000 entries).
      runtime.setFlagsFromString('--semi-space-growth-factor=1')
    } catch {
      /* the collections alone still help */
    }
  }
  const collect = typeof gc === 'function' ? failSafe(gc as (o?: object) => void) : nothing
  if (runtime === node) cached = collect
  return collect
}

/** Calls gc({ type: 'minor' }) (or gc() for a full one) until it throws once; then nothing. */
function failSafe(gc: (o?: object) => void): Collect {
  let working = true
  return full => {
    if (!working) return
    try {
      if (full) gc()
      else gc({ type: 'minor' })
    } catch {
      working = false
    }
  }
}
