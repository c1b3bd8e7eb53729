// A sender as a real link behaves: each 256 KiB slice of the file is written as soon as it is due at
// `bytesPerSecond`, whether or not the reader has taken the last one (no waiting for 'drain'), with
// the gateway's chunked encoding and its delimiter at the end. Unlike pace.ts (a Transform the
// response's back-pressure slows down), a reader that cannot keep up here falls behind the link, as
// it would in a plant: its per-piece cost shows in the time it takes.
import { open } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'

const SLICE = 256 * 1024

export async function sendAsLink(res: ServerResponse, file: string, bytesPerSecond: number, delimiter: string): Promise<void> {
  const handle = await open(file, 'r')
  try {
    res.writeHead(200, { 'content-type': 'application/zip', 'transfer-encoding': 'chunked' })
    const started = performance.now()
    let sent = 0
    for (;;) {
      const slice = Buffer.allocUnsafe(SLICE)
      const { bytesRead } = await handle.read(slice, 0, SLICE, sent)
      if (bytesRead === 0) break
      const due = started + (1000 * sent) / bytesPerSecond - performance.now()
      if (due > 1) await new Promise(resolve => setTimeout(resolve, due))
      if (res.destroyed) return
      res.write(bytesRead === SLICE ? slice : slice.subarray(0, bytesRead))
      sent += bytesRead
    }
    res.end(delimiter)
  } finally {
    await handle.close()
  }
}
