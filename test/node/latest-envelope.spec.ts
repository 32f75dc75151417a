import test, { type ExecutionContext } from 'ava'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileEnvelopeStore, writeAheadPath } from '../../node/file-envelope-store.js'
import { canonicalBytes } from '../../node/canonical-json.js'
import { sealEnvelope, trustPolicy } from '../../node/envelope.js'
import { memoryEnvelopeStore, type EnvelopeStore } from '../../node/envelope-store.js'
import { LatestEnvelope, type OfferOutcome } from '../../node/latest-envelope.js'
import { silentLogger } from '../../node/logger.js'
import { generateSigningKeyPem, parseSigningKey, parseTrustedKey } from '../../node/signing-keys.js'
import { tempDir } from '../fixtures/temp-dir.js'

const pem = generateSigningKeyPem()
const key = parseSigningKey(pem.privatePem, 'test')
const trust = trustPolicy('mesh', [parseTrustedKey(pem.publicPem, 'test')])

function envelopeBytes (version: number, config: unknown = { version }): Uint8Array {
  return sealEnvelope({ mesh: 'mesh', version, issuedAt: new Date(), body: canonicalBytes(config) }, key).bytes
}

function latestOn (store: EnvelopeStore, outcomes: OfferOutcome[] = []): LatestEnvelope {
  return new LatestEnvelope({ trust, store, log: silentLogger(), countOffer: outcome => { outcomes.push(outcome) } })
}

const stores: Array<[string, (t: ExecutionContext) => Promise<EnvelopeStore>]> = [
  ['memory store', async () => memoryEnvelopeStore()],
  ['file store', async t => fileEnvelopeStore(join(await tempDir(t), 'envelope.bin'))]
]

for (const [name, makeStore] of stores) {
  test(`${name}: a newer envelope is accepted, persisted, then served`, async t => {
    const store = await makeStore(t)
    const latest = latestOn(store)
    t.is(latest.offer(envelopeBytes(1), 'test'), 'accept')
    await latest.settled()
    t.is(latest.current()?.head.version, 1)
    t.deepEqual(Buffer.from((await store.load()) ?? []), Buffer.from(latest.current()?.bytes ?? []))
  })

  test(`${name}: replays and rollbacks are ignored and counted; forgeries are rejected`, async t => {
    const outcomes: OfferOutcome[] = []
    const latest = latestOn(await makeStore(t), outcomes)
    latest.offer(envelopeBytes(5), 'test')
    t.is(latest.offer(envelopeBytes(5), 'test'), 'ignore')
    t.is(latest.offer(envelopeBytes(4), 'test'), 'ignore')
    const forged = Uint8Array.from(envelopeBytes(9))
    forged[forged.byteLength - 2]! ^= 1
    t.is(latest.offer(forged, 'test'), 'reject')
    t.is(latest.offer(new Uint8Array([1, 2, 3]), 'test'), 'reject')
    await latest.settled()
    t.is(latest.current()?.head.version, 5)
    t.deepEqual(outcomes, ['accepted', 'same-version', 'older-version', 'bad-signature', 'invalid'])
  })

  test(`${name}: a restart restores and re-verifies what was stored`, async t => {
    const store = await makeStore(t)
    const first = latestOn(store)
    first.offer(envelopeBytes(3), 'test')
    await first.settled()
    const second = latestOn(store)
    t.is(await second.restore(), undefined)
    t.is(second.current()?.head.version, 3)
    t.is(second.offer(envelopeBytes(2), 'test'), 'ignore')
  })

  test(`${name}: a burst of versions settles on the newest`, async t => {
    const store = await makeStore(t)
    let saves = 0
    const latest = latestOn({ load: async () => await store.load(), save: async bytes => { saves++; await store.save(bytes) } })
    for (let version = 1; version <= 20; version++) latest.offer(envelopeBytes(version), 'test')
    await latest.settled()
    t.is(latest.current()?.head.version, 20)
    t.true(saves < 20, `${saves} writes for 20 versions`)
    const restarted = latestOn(store)
    await restarted.restore()
    t.is(restarted.current()?.head.version, 20)
  })
}

test('file store: a tampered envelope on disk is not served', async t => {
  const path = join(await tempDir(t), 'envelope.bin')
  const latest = latestOn(fileEnvelopeStore(path))
  latest.offer(envelopeBytes(1, { http: { routers: {} } }), 'test')
  await latest.close()
  for (const copy of [path, writeAheadPath(path)]) {
    const bytes = await readFile(copy)
    bytes[bytes.byteLength - 3]! ^= 0x20
    await writeFile(copy, bytes)
  }
  const restarted = latestOn(fileEnvelopeStore(path))
  t.regex((await restarted.restore()) ?? '', /body does not match the signed hash/)
  t.is(restarted.current(), undefined)
})

test('a store that cannot persist leaves the previous envelope served', async t => {
  const failing: EnvelopeStore = { async load () { return undefined }, async save () { throw new Error('disk full') } }
  const latest = latestOn(failing)
  t.is(latest.offer(envelopeBytes(1), 'test'), 'accept')
  await latest.settled()
  t.is(latest.current(), undefined)
  // Not persisted, so not considered seen: a later offer of the same version is tried again.
  t.is(latest.offer(envelopeBytes(1), 'test'), 'accept')
})

test('once closed, offers are ignored and nothing more is written: a stopping node leaves its files as they are', async t => {
  const store = memoryEnvelopeStore()
  const latest = latestOn(store)
  t.is(latest.offer(envelopeBytes(1), 'test'), 'accept')
  await latest.close()
  t.is(latest.offer(envelopeBytes(2), 'test'), 'ignore')
  await latest.settled()
  t.is(latest.current()?.head.version, 1, 'what was accepted before closing was still written')
  t.is((await latestOn(store).restore()), undefined)
})
