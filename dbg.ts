import { extractZip } from './src/engine/zip.js'
import { rmSync } from 'node:fs'
for (let i = 0; i < 2; i++) {
rmSync('/tmp/x70ours', { recursive: true, force: true })
const t = performance.now()
const n = await extractZip('/tmp/70k.zip', '/tmp/x70ours')
console.log('extract', performance.now() - t, n)
}
