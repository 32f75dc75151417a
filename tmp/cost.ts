import { configWithRouters } from '../simulations/bench/configs.js'
import { configDelta, applyConfigDelta } from '../node/config-delta.js'
import { compressBody, decompressBody } from '../node/body-codec.js'
import { sha256Hex } from '../node/envelope.js'
import jsonPatch from 'fast-json-patch'
const a = configWithRouters(10000, 'a').bytes, b = configWithRouters(10000, 'b').bytes
const time = async (name: string, f: () => unknown) => { const t = performance.now(); await f(); console.log(name, (performance.now() - t).toFixed(1), 'ms') }
await time('parse', () => JSON.parse(new TextDecoder().decode(a)))
const pa = JSON.parse(new TextDecoder().decode(a)), pb = JSON.parse(new TextDecoder().decode(b))
await time('compare', () => jsonPatch.compare(pa, pb))
await time('configDelta full rewrite', () => configDelta(a, b))
const d = configDelta(a, b); console.log('delta bytes', d.length)
await time('compress delta', () => compressBody(d))
await time('compress full', () => compressBody(b))
const c = await compressBody(b)
await time('decompress full', () => decompressBody(c, b.length))
await time('sha', () => sha256Hex(b))
await time('apply', () => applyConfigDelta(a, d))
