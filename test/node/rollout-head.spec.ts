import test from 'ava'
import fc from 'fast-check'
import { canonicalBytes } from '../../node/canonical-json.js'
import { sealEnvelope, trustPolicy } from '../../node/envelope.js'
import { BadSignatureError, InvalidEnvelopeError, RollbackError, SameVersionError, UntrustedKeyError } from '../../node/errors.js'
import { assertNewerRollout, mayServe, openRolloutHead, sealRolloutHead, type RolloutHead, type RolloutState } from '../../node/rollout-head.js'
import { signingKeyPair } from '../../simulations/world.js'

const { signing, trusted } = signingKeyPair('rollout test')
const trust = trustPolicy('m', [trusted])
const envelope = sealEnvelope({ mesh: 'm', version: 7, issuedAt: new Date('2026-12-06T10:00:00Z'), body: canonicalBytes({ http: {} }) }, signing)
const WAVES = [{ name: 'canary', peers: ['a'] }, { name: 'europe', peers: ['b', 'c'] }, { name: 'everyone', peers: ['d'] }]

function head (reached: number, state: RolloutState = 'rolling', issuedAt = new Date('2026-12-06T10:00:01Z')): Uint8Array {
  return sealRolloutHead({ version: envelope.head, waves: WAVES, reached, state, issuedAt }, signing).bytes
}

test('only the edges of the waves reached may serve a version in rollout; every edge once complete; none that has not yet once rolled back', t => {
  const servers = (bytes: Uint8Array): string[] => ['a', 'b', 'c', 'd', 'stranger'].filter(peer => mayServe(openRolloutHead(bytes, trust).head, peer))
  t.deepEqual(servers(head(1)), ['a'])
  t.deepEqual(servers(head(2)), ['a', 'b', 'c'])
  t.deepEqual(servers(head(3)), ['a', 'b', 'c', 'd'])
  t.deepEqual(servers(head(3, 'complete')), ['a', 'b', 'c', 'd', 'stranger'])
  t.deepEqual(servers(head(2, 'rolled-back')), [])
})

test('a head is decided from its signature alone: a relay that widens the waves or reaches further is refused', t => {
  const bytes = Buffer.from(head(1))
  const forged = Buffer.from(bytes.toString('latin1').replace('"reached":1', '"reached":3'), 'latin1')
  t.throws(() => openRolloutHead(forged, trust), { instanceOf: BadSignatureError })
  t.throws(() => openRolloutHead(bytes, trustPolicy('m', [signingKeyPair('other').trusted])), { instanceOf: UntrustedKeyError })
  t.throws(() => openRolloutHead(envelope.bytes, trust), { instanceOf: InvalidEnvelopeError })
  t.throws(() => sealRolloutHead({ version: envelope.head, waves: WAVES, reached: 4, state: 'rolling', issuedAt: new Date() }, signing), { instanceOf: TypeError })
})

test('property: any bytes are refused with a refusal error, never a crash', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), bytes => {
    try {
      openRolloutHead(bytes, trust)
      return false
    } catch (err) {
      return err instanceof InvalidEnvelopeError || err instanceof BadSignatureError
    }
  }))
  t.pass()
})

test('a later head of the same version supersedes; the same or an earlier one, or an older version, does not', t => {
  const at = (iso: string, reached = 1): RolloutHead => openRolloutHead(head(reached, 'rolling', new Date(iso)), trust).head
  const held = at('2026-12-06T10:00:05Z')
  t.notThrows(() => { assertNewerRollout(at('2026-12-06T10:00:06Z', 2), held) })
  t.throws(() => { assertNewerRollout(at('2026-12-06T10:00:05Z', 2), held) }, { instanceOf: SameVersionError })
  t.throws(() => { assertNewerRollout(at('2026-12-06T10:00:04Z', 3), held) }, { instanceOf: SameVersionError })
  const newer = openRolloutHead(sealRolloutHead({ version: { ...envelope.head, version: 8 }, waves: WAVES, reached: 1, state: 'rolling', issuedAt: new Date('2026-12-06T09:00:00Z') }, signing).bytes, trust).head
  t.notThrows(() => { assertNewerRollout(newer, held) }, 'a newer version supersedes whatever its time')
  t.throws(() => { assertNewerRollout(held, newer) }, { instanceOf: RollbackError })
})

test('a head may carry a small body outside its signature; the signed part is the same with or without it', t => {
  const bare = sealRolloutHead({ version: envelope.head, waves: WAVES, reached: 1, state: 'rolling', issuedAt: new Date('2026-12-06T10:00:01Z') }, signing).bytes
  const carrying = sealRolloutHead({ version: envelope.head, waves: WAVES, reached: 1, state: 'rolling', issuedAt: new Date('2026-12-06T10:00:01Z') }, signing, new Uint8Array([1, 2, 3])).bytes
  const opened = openRolloutHead(carrying, trust)
  t.deepEqual([...opened.carried ?? []], [1, 2, 3])
  t.true(Buffer.from(opened.signed).equals(bare))
  t.is(openRolloutHead(bare, trust).carried, undefined)
})
