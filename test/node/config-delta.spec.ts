import test from 'ava'
import fc from 'fast-check'
import { brotliCompressSync } from 'node:zlib'
import { compressBody, decompressBody } from '../../node/body-codec.js'
import { canonicalBytes } from '../../node/canonical-json.js'
import { applyConfigDelta, configDelta, InvalidDeltaError } from '../../node/config-delta.js'
import { configWithRouters } from '../../simulations/bench/configs.js'
import { configObject } from '../fixtures/arbitraries.js'
import { InvalidEnvelopeError } from '../../node/errors.js'

test('a delta turns the base into exactly the target', t => {
  fc.assert(fc.property(configObject, configObject, (a, b) => {
    const base = canonicalBytes(a)
    const target = canonicalBytes(b)
    return Buffer.from(applyConfigDelta(base, configDelta(base, target), target.byteLength)).equals(target)
  }), { numRuns: 500 })
  t.pass()
})

test('a delta that does not fit its base, or builds more than the signed size, is refused with a delta error', t => {
  const base = canonicalBytes({ http: { routers: {} } })
  for (const delta of [
    '[[0, 999]]', '[[5, 2]]', '[[-1, 3]]', '[[0.5, 3]]', '[[0, 1, 2]]', '[{"op": "add"}]', '{"op": "add"}', '[null]', 'not json',
    JSON.stringify(Array.from({ length: 1000 }, () => [0, base.byteLength]))
  ]) {
    t.throws(() => applyConfigDelta(base, new TextEncoder().encode(delta), 1000), { instanceOf: InvalidDeltaError }, delta.slice(0, 40))
  }
})

test('an edit far into a large config is copied around: no piece of the base is sent again', t => {
  const base = configWithRouters(10_000, 'r').bytes
  const next = JSON.parse(new TextDecoder().decode(base)) as { http: { routers: Record<string, unknown> } }
  next.http.routers['r-router-42'] = { rule: 'Host(`moved.example.com`)', service: 'origin' }
  next.http.routers['r-router-9000'] = { rule: 'Host(`ünïcode.example.com`)', service: 'origin' }
  delete next.http.routers['r-router-5000']
  const target = canonicalBytes(next)
  const pieces = JSON.parse(new TextDecoder().decode(configDelta(base, target))) as unknown[]
  t.deepEqual(pieces.map(piece => typeof piece), ['object', 'string', 'object', 'object', 'string', 'object'])
  t.deepEqual(Buffer.from(applyConfigDelta(base, configDelta(base, target), target.byteLength)), Buffer.from(target))
})

test('a one-router change to a 10,000-router config is a delta of a few hundred bytes', async t => {
  const base = configWithRouters(10_000, 'r').bytes
  const next = JSON.parse(new TextDecoder().decode(base)) as { http: { routers: Record<string, unknown> } }
  next.http.routers['r-router-42'] = { rule: 'Host(`moved.example.com`)', service: 'origin' }
  const delta = await compressBody(configDelta(base, canonicalBytes(next)))
  t.true(delta.byteLength < 500, `${delta.byteLength} bytes`)
})

test('inflating stops at the limit: a small bomb is refused, not allocated', async t => {
  const bomb = brotliCompressSync(Buffer.alloc(32 * 1024 * 1024))
  t.true(bomb.byteLength < 64 * 1024)
  await t.throwsAsync(decompressBody(bomb, 1024 * 1024), { instanceOf: InvalidEnvelopeError, message: /past 1048576 bytes/ })
  const body = canonicalBytes({ a: 1 })
  t.deepEqual(Buffer.from(await decompressBody(await compressBody(body), body.byteLength)), Buffer.from(body))
  await t.throwsAsync(decompressBody(new TextEncoder().encode('not brotli'), 100), { instanceOf: InvalidEnvelopeError })
})

test('a body of known size is inflated into one buffer of that size, and one of unknown size into few', async t => {
  const body = configWithRouters(10_000, 'v').bytes
  const compressed = await compressBody(body)
  // A buffer zlib allocated and did not fill is garbage the collector counts towards its next full collection.
  const before = process.memoryUsage().arrayBuffers
  const inflated = await decompressBody(compressed, body.byteLength, body.byteLength)
  const grew = process.memoryUsage().arrayBuffers - before
  t.true(Buffer.from(inflated).equals(body))
  t.true(grew < 1.5 * body.byteLength, `inflating ${body.byteLength} bytes allocated ${grew}`)
  t.true(Buffer.from(await decompressBody(compressed, 8 * body.byteLength)).equals(body), 'a size guessed too small takes more chunks, and still inflates it all')
})
