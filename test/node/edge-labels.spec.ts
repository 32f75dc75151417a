import test from 'ava'
import { InvalidLabelError, isLabelKey, labelsFrom, MAX_LABELS } from '../../node/edge-labels.js'
import { decodeAnnouncement, encodeAnnouncement, InvalidAnnouncementError, type PeerAnnouncement } from '../../node/peer-announcement.js'

test('labels use Kubernetes\' syntax, bounded in number and size', t => {
  t.deepEqual(labelsFrom(['tier=canary', 'topology.kubernetes.io/region=eu-west', 'empty=']), { tier: 'canary', 'topology.kubernetes.io/region': 'eu-west', empty: '' })
  t.true(isLabelKey('a.b/c_d-e'))
  for (const bad of ['-x=1', 'x/=1', 'UPPER.example.com/x=1', `${'k'.repeat(64)}=1`, 'x=a b']) {
    t.throws(() => labelsFrom([bad]), { instanceOf: InvalidLabelError }, bad)
  }
  t.throws(() => labelsFrom(Array.from({ length: MAX_LABELS + 1 }, (_, i) => `k${i}=v`)), { instanceOf: InvalidLabelError })
  t.throws(() => labelsFrom(Array.from({ length: 16 }, (_, i) => `k${i}${'x'.repeat(60)}=${'v'.repeat(63)}`)), { instanceOf: InvalidLabelError, message: /at most 1024 in all/ })
})

test('an announcement carries a name and labels when given, and refuses malformed ones', t => {
  const base: PeerAnnouncement = { peerId: 'p', version: 1, bodySha256: null, receivedAt: null, stale: false, addresses: [], announcedAt: '2026-12-06T10:00:00.000Z' }
  const named = { ...base, name: 'edge-1', labels: { tier: 'canary' } }
  t.deepEqual(decodeAnnouncement(encodeAnnouncement(named), 'p'), named)
  for (const bad of [{ name: '' }, { name: 'a b' }, { labels: { 'bad key': 'x' } }, { labels: ['tier=canary'] }, { labels: { tier: 3 } }]) {
    t.throws(() => decodeAnnouncement(new TextEncoder().encode(JSON.stringify({ ...base, ...bad })), 'p'), { instanceOf: InvalidAnnouncementError }, JSON.stringify(bad))
  }
})
