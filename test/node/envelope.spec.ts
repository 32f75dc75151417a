import test from 'ava'
import fc from 'fast-check'
import { canonicalBytes } from '../../node/canonical-json.js'
import { openEnvelope, openFetchedEnvelope, sealEnvelope, trustPolicy } from '../../node/envelope.js'
import { generateSigningKeyPem, parseSigningKey, parseTrustedKey } from '../../node/signing-keys.js'
import { configObject } from '../fixtures/arbitraries.js'
import { BadSignatureError, InvalidEnvelopeError, UntrustedKeyError, WrongMeshError } from '../../node/errors.js'

const pem = generateSigningKeyPem()
const key = parseSigningKey(pem.privatePem, 'test')
const trust = trustPolicy('mesh-a', [parseTrustedKey(pem.publicPem, 'test')])
const ENVELOPE_ERRORS = ['InvalidEnvelopeError', 'UntrustedKeyError', 'WrongMeshError', 'BadSignatureError']

function seal (config: unknown, version = 1, mesh = 'mesh-a'): Uint8Array {
  return sealEnvelope({ mesh, version, issuedAt: new Date('2026-11-27T00:00:00Z'), body: canonicalBytes(config) }, key).bytes
}

test('an envelope opens to its exact body and head', t => {
  const body = canonicalBytes({ http: { routers: { a: { rule: 'Host(`a`)', service: 's' } } } })
  const envelope = openEnvelope(seal(JSON.parse(Buffer.from(body).toString()), 7), trust)
  t.deepEqual(Buffer.from(envelope.body), Buffer.from(body))
  t.is(envelope.head.version, 7)
  t.is(envelope.head.keyId, key.keyId)
  t.is(envelope.head.mesh, 'mesh-a')
})

test('a head and a body fetched apart open as the envelope they were sealed as, without being joined until asked', t => {
  const sealed = sealEnvelope({ mesh: 'mesh-a', version: 3, issuedAt: new Date('2026-11-27T00:00:00Z'), body: canonicalBytes({ a: 1 }) }, key)
  const headBytes = Uint8Array.from(sealed.headBytes)
  const body = Uint8Array.from(sealed.body)
  const fetched = openFetchedEnvelope(headBytes, body, trust)
  t.is(fetched.body, body)
  t.is(fetched.headBytes, headBytes)
  t.deepEqual(fetched.head, sealed.head)
  t.deepEqual(Buffer.from(fetched.bytes), Buffer.from(sealed.bytes))
  t.throws(() => openFetchedEnvelope(headBytes, canonicalBytes({ a: 2 }), trust), { instanceOf: BadSignatureError })
  t.throws(() => openFetchedEnvelope(headBytes, canonicalBytes({ a: 10 }), trust), { instanceOf: InvalidEnvelopeError, message: /head says/ })
  t.throws(() => openFetchedEnvelope(sealed.bytes, body, trust), { instanceOf: InvalidEnvelopeError }, 'a whole envelope is not a head')
  t.throws(() => openFetchedEnvelope(headBytes, body, trustPolicy('mesh-b', trust.keys.values())), { instanceOf: WrongMeshError })
})

test('a flipped bit anywhere in an envelope is rejected', t => {
  fc.assert(fc.property(configObject, fc.nat(), fc.integer({ min: 0, max: 7 }), (config, position, bit) => {
    const bytes = Uint8Array.from(seal(config))
    const index = position % bytes.byteLength
    bytes[index] = (bytes[index] ?? 0) ^ (1 << bit)
    const error = t.throws(() => openEnvelope(bytes, trust))
    return ENVELOPE_ERRORS.includes(error?.name ?? '')
  }), { numRuns: 300 })
})

test('random bytes are refused with an envelope error, never a crash', t => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), bytes => {
    const error = t.throws(() => openEnvelope(bytes, trust))
    return ENVELOPE_ERRORS.includes(error?.name ?? '')
  }), { numRuns: 500 })
})

test('a truncated envelope is invalid', t => {
  const bytes = seal({ a: 1 })
  for (const length of [0, 4, 9, 40, bytes.byteLength - 1]) {
    t.throws(() => openEnvelope(bytes.subarray(0, length), trust), { instanceOf: InvalidEnvelopeError })
  }
})

test('an envelope for another mesh is refused', t => {
  t.throws(() => openEnvelope(seal({ a: 1 }, 1, 'mesh-b'), trust), { instanceOf: WrongMeshError })
})

test('an envelope signed by a key not trusted is refused', t => {
  const other = generateSigningKeyPem()
  const otherTrust = trustPolicy('mesh-a', [parseTrustedKey(other.publicPem, 'other')])
  t.throws(() => openEnvelope(seal({ a: 1 }), otherTrust), { instanceOf: UntrustedKeyError })
})

test('an envelope whose key id is forged onto another key fails the signature', t => {
  const other = parseSigningKey(generateSigningKeyPem().privatePem, 'other')
  const forged = sealEnvelope({ mesh: 'mesh-a', version: 1, issuedAt: new Date(), body: canonicalBytes({}) }, { ...other, keyId: key.keyId })
  t.throws(() => openEnvelope(forged.bytes, trust), { instanceOf: BadSignatureError })
})

test('versions must be positive safe integers', t => {
  t.throws(() => seal({}, 0), { instanceOf: TypeError })
  t.throws(() => seal({}, 1.5), { instanceOf: TypeError })
})
