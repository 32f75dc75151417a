import test from 'ava'
import fc from 'fast-check'
import { canonicalBytes } from '../../node/canonical-json.js'
import { sealEnvelope, trustPolicy } from '../../node/envelope.js'
import { openBeacon, sealBeacon } from '../../node/head-beacon.js'
import { decodeAnnouncement, encodeAnnouncement, InvalidAnnouncementError, type PeerAnnouncement } from '../../node/peer-announcement.js'
import { generateSigningKeyPem, parseSigningKey, parseTrustedKey } from '../../node/signing-keys.js'
import { decodeCarriedTransfer, decodeSyncReply, decodeSyncRequest, encodeCarriedTransfer, encodeSyncReply, encodeSyncRequest } from '../../node/sync-messages.js'

const pem = generateSigningKeyPem()
const key = parseSigningKey(pem.privatePem, 'test')
const trust = trustPolicy('m', [parseTrustedKey(pem.publicPem, 'test')])
const head = sealEnvelope({ mesh: 'm', version: 3, issuedAt: new Date(), body: canonicalBytes({}) }, key).head

/** Random bytes, and valid bytes with a few bytes overwritten or cut short. */
function hostileBytes (valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const mutated = fc.tuple(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), fc.option(fc.nat()))
    .map(([edits, cut]) => {
      const bytes = Uint8Array.from(valid)
      for (const [at, value] of edits) bytes[at % bytes.byteLength] = value
      return cut === null ? bytes : bytes.subarray(0, cut % (bytes.byteLength + 1))
    })
  return fc.oneof(fc.uint8Array({ maxLength: 600 }), mutated)
}

function refusedCleanly (decode: () => unknown, names: string[]): boolean {
  try {
    decode()
    return true
  } catch (err) {
    return names.includes((err as Error).name)
  }
}

test('sync requests and replies: round trip, and hostile bytes are refused with a sync error', t => {
  const request = encodeSyncRequest({ have: 42, deltaBase: 41 })
  t.deepEqual(decodeSyncRequest(request), { have: 42, deltaBase: 41 })
  t.deepEqual(decodeSyncRequest(encodeSyncRequest({ have: 42 })), { have: 42 })
  const reply = encodeSyncReply({ form: 'delta', base: 41 })
  t.deepEqual(decodeSyncReply(reply), { form: 'delta', base: 41 })
  t.deepEqual(decodeSyncReply(encodeSyncReply({ form: 'none' })), { form: 'none' })
  for (const [valid, decode] of [[request, decodeSyncRequest], [reply, decodeSyncReply]] as const) {
    fc.assert(fc.property(hostileBytes(valid), bytes =>
      refusedCleanly(() => decode(bytes), ['InvalidSyncMessageError'])), { numRuns: 1000 })
  }
})

test('head beacons: round trip, and hostile bytes are refused with an envelope error', t => {
  const beacon = sealBeacon(head, new Date(), key)
  const opened = openBeacon(beacon, trust)
  t.is(opened.beacon.version, 3)
  t.is(opened.carried, undefined)
  fc.assert(fc.property(hostileBytes(beacon), bytes => {
    try {
      // Bytes past the signature are what the beacon carries, checked when it lands: only the signed part must be intact.
      openBeacon(bytes, trust)
      return Buffer.from(bytes.subarray(0, beacon.byteLength)).equals(beacon)
    } catch (err) {
      return ['InvalidEnvelopeError', 'BadSignatureError', 'UntrustedKeyError', 'WrongMeshError'].includes((err as Error).name)
    }
  }), { numRuns: 1000 })
})

test('status announcements: round trip, authorship checked, hostile bytes refused', t => {
  const announcement: PeerAnnouncement = {
    peerId: 'peer-a', version: 3, bodySha256: head.bodySha256, receivedAt: new Date().toISOString(), stale: false, addresses: ['/ip4/10.0.0.1/tcp/4001'], publicAddress: 'edge-1.example.net', announcedAt: new Date().toISOString()
  }
  const bytes = encodeAnnouncement(announcement)
  t.deepEqual(decodeAnnouncement(bytes, 'peer-a'), announcement)
  const { publicAddress: _, ...withoutPublicAddress } = announcement
  t.deepEqual(decodeAnnouncement(encodeAnnouncement(withoutPublicAddress), 'peer-a'), withoutPublicAddress, 'an edge without --public-address')
  t.throws(() => decodeAnnouncement(encodeAnnouncement({ ...announcement, publicAddress: 'not an address/' }), 'peer-a'), { instanceOf: InvalidAnnouncementError })
  t.throws(() => decodeAnnouncement(bytes, 'peer-b'), { instanceOf: InvalidAnnouncementError })
  t.throws(() => decodeAnnouncement(new Uint8Array(5000), 'peer-a'), { instanceOf: InvalidAnnouncementError })
  fc.assert(fc.property(hostileBytes(bytes), mutated =>
    refusedCleanly(() => decodeAnnouncement(mutated, 'peer-a'), ['InvalidAnnouncementError'])), { numRuns: 1000 })
})

test('a beacon carries a transfer past its signature; hostile carried bytes are refused with a sync-message error', t => {
  const carried = encodeCarriedTransfer({ reply: { form: 'delta', base: 2 }, headBytes: Uint8Array.of(1, 2, 3), payload: Uint8Array.of(9, 8) })
  const opened = openBeacon(sealBeacon(head, new Date(), key, carried), trust)
  t.deepEqual(opened.carried, carried)
  const decoded = decodeCarriedTransfer(carried)
  t.deepEqual(decoded.reply, { form: 'delta', base: 2 })
  t.deepEqual([...decoded.headBytes], [1, 2, 3])
  t.deepEqual([...decoded.payload], [9, 8])
  fc.assert(fc.property(hostileBytes(carried), bytes => refusedCleanly(() => decodeCarriedTransfer(bytes), ['InvalidSyncMessageError'])), { numRuns: 1000 })
})
