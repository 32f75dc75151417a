import test from 'ava'
import fc from 'fast-check'
import { brotliCompressSync } from 'node:zlib'
import { compressBody, decompressBody } from '../../node/body-codec.js'
import { canonicalBytes } from '../../node/canonical-json.js'
import { applyConfigDelta, configDelta } from '../../node/config-delta.js'
import { configWithRouters } from '../../simulations/bench/configs.js'
import { configObject } from '../fixtures/arbitraries.js'

const BANNED = /"(__proto__|constructor|prototype)"/

test('a delta turns the base into exactly the target, or is refused (only for keys a patch may not touch)', t => {
  fc.assert(fc.property(configObject, configObject, (a, b) => {
    const base = canonicalBytes(a)
    const target = canonicalBytes(b)
    const delta = configDelta(base, target)
    try {
      return Buffer.from(applyConfigDelta(base, delta)).equals(target)
    } catch (err) {
      return (err as Error).name === 'InvalidDeltaError' && BANNED.test(new TextDecoder().decode(delta))
    }
  }), { numRuns: 500 })
  t.pass()
})

test('a delta that does not fit its base is refused with a delta error, never applied halfway', t => {
  const base = canonicalBytes({ http: { routers: {} } })
  for (const delta of [
    canonicalBytes([{ op: 'remove', path: '/nothing/here' }]),
    canonicalBytes([{ op: 'add', path: '/__proto__/polluted', value: 1 }]),
    canonicalBytes({ op: 'add' }),
    new TextEncoder().encode('not json')
  ]) {
    t.is(t.throws(() => applyConfigDelta(base, delta))?.name, 'InvalidDeltaError')
  }
  t.is(({} as Record<string, unknown>).polluted, undefined)
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
  const err = await t.throwsAsync(decompressBody(bomb, 1024 * 1024))
  t.is(err?.name, 'InvalidEnvelopeError')
  t.regex(err?.message ?? '', /past 1048576 bytes/)
  const body = canonicalBytes({ a: 1 })
  t.deepEqual(Buffer.from(await decompressBody(await compressBody(body), body.byteLength)), Buffer.from(body))
  t.is((await t.throwsAsync(decompressBody(new TextEncoder().encode('not brotli'), 100)))?.name, 'InvalidEnvelopeError')
})
