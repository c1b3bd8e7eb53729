// How sizes, rates and durations read in the log and the summary.

/** "512 B", "1.50 MiB", "23.4 GiB" */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}

/** "45.2 MiB/s", "830 KiB/s": never "0 MiB/s" for a small or slow transfer. */
export function formatRate(bytes: number, ms: number): string {
  return `${formatBytes(Math.round(bytes / Math.max(ms / 1000, 0.001)))}/s`
}

/** "850ms", "42s", "3m5s", "1h2m" */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ''}`
  return `${Math.floor(m / 60)}h${m % 60 ? `${m % 60}m` : ''}`
}

/** Seconds with two decimals, for short phases: "0.05s". */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)}s`
}
