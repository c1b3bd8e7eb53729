// A link of a given speed: bytes pass no faster than `bytesPerSecond`, measured from the first byte,
// in slices of at most 64 KiB, so that a fast sender on loopback behaves like a plant network link.
import { Transform, type TransformCallback } from 'node:stream'

const SLICE = 64 * 1024

export function paced(bytesPerSecond: number): Transform {
  let started: number | undefined
  let sent = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      started ??= performance.now()
      const slices: Buffer[] = []
      for (let at = 0; at < chunk.length; at += SLICE) slices.push(chunk.subarray(at, at + SLICE))
      const next = () => {
        const slice = slices.shift()
        if (!slice) return done()
        sent += slice.length
        this.push(slice)
        const due = started! + (1000 * sent) / bytesPerSecond - performance.now()
        if (due > 1) setTimeout(next, due)
        else next()
      }
      next()
    }
  })
}
