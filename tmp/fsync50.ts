import { fileEnvelopeStore } from '../edge-subscriber/file-envelope-store.js'
import { mkdtempSync } from 'node:fs'
const stores = Array.from({ length: 50 }, () => fileEnvelopeStore(mkdtempSync('/tmp/fs-') + '/e.bin'))
const b = new Uint8Array(1_600_000)
for (let i = 0; i < 3; i++) { const t = performance.now(); await Promise.all(stores.map(s => s.save(b))); console.log('50 saves', (performance.now() - t).toFixed(1)) }
