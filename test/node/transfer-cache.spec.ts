import test from 'ava'
import { decompressBody } from '../../node/body-codec.js'
import { applyConfigDelta } from '../../node/config-delta.js'
import { sealEnvelope, type Envelope } from '../../node/envelope.js'
import { TransferCache } from '../../node/mesh/transfer-cache.js'
import { configWithRouters, withOneRouterChanged } from '../../simulations/bench/configs.js'
import { meshKeys } from '../fixtures/mesh.js'

const key = meshKeys().signingKey
const seal = (version: number, body: Uint8Array): Envelope => sealEnvelope({ mesh: 'm', version, issuedAt: new Date(), body }, key)
const v1 = seal(1, configWithRouters(500, 'a').bytes)
const v2 = seal(2, withOneRouterChanged(500, 'a', 'moved').bytes)

test('a node that makes deltas sends one against a version it held, when smaller, and the whole body otherwise', async t => {
  const cache = new TransferCache(true)
  cache.advance(v1)
  cache.advance(v2)
  const delta = await cache.transfer(1)
  t.deepEqual(delta?.reply, { form: 'delta', base: 1 })
  const patched = applyConfigDelta(v1.body, await decompressBody(delta?.payload ?? new Uint8Array(), 1 << 20), v2.body.byteLength)
  t.deepEqual(Buffer.from(patched), Buffer.from(v2.body))
  t.deepEqual((await cache.transfer(7))?.reply, { form: 'full' }, 'no delta against a version never held')
  t.deepEqual((await cache.transfer(undefined))?.reply, { form: 'full' })
})

test('a node that does not make deltas relays the bytes a version came as, and compresses only when it must', async t => {
  const cache = new TransferCache(false)
  t.is(await cache.transfer(undefined), undefined, 'nothing to send before anything is current')
  cache.advance(v1)
  const received = { reply: { form: 'delta', base: 1 } as const, payload: Uint8Array.from([1, 2, 3]) }
  cache.receivedAs(2, received)
  cache.advance(v2)
  t.is((await cache.transfer(1))?.payload, received.payload, 'the delta it received, as it came')
  const full = await cache.transfer(undefined)
  t.deepEqual(full?.reply, { form: 'full' })
  t.deepEqual(Buffer.from(await decompressBody(full?.payload ?? new Uint8Array(), v2.body.byteLength)), Buffer.from(v2.body))
  t.deepEqual((await cache.transfer(0))?.reply, { form: 'full' }, 'no delta against another base')
})
