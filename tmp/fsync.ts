import { fileEnvelopeStore } from '../edge-subscriber/file-envelope-store.js'
import { mkdtempSync } from 'node:fs'
const s = fileEnvelopeStore(mkdtempSync('/tmp/fs-') + '/e.bin')
const b = new Uint8Array(1_600_000)
for (let i = 0; i < 5; i++) { const t = performance.now(); await s.save(b); console.log('save', (performance.now() - t).toFixed(1)) }
