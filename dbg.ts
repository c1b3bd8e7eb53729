import { extractZip } from './src/engine/zip.js'
import { rmSync } from 'node:fs'
import { execSync } from 'node:child_process'
for (let i = 0; i < 3; i++) {
  rmSync('/mnt/t/x70ours', { recursive: true, force: true }); rmSync('/mnt/t/x70', { recursive: true, force: true }); execSync('sync')
  let t = performance.now()
  await extractZip('/tmp/70k.zip', '/mnt/t/x70ours')
  const ours = performance.now() - t
  execSync('sync')
  t = performance.now()
  execSync('unzip -q /tmp/70k.zip -d /mnt/t/x70')
  console.log('ours', (ours/1000).toFixed(1), 'unzip', ((performance.now() - t)/1000).toFixed(1))
}
