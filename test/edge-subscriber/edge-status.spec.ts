import test from 'ava'
import { announcementOf, edgeStatus, type EdgeStatusParts } from '../../edge-subscriber/edge-status.js'
import { decodeAnnouncement, encodeAnnouncement } from '../../node/peer-announcement.js'

const NOW = Date.parse('2026-12-06T10:00:00Z')

function parts (overrides: Partial<EdgeStatusParts> = {}): EdgeStatusParts {
  return {
    mesh: 'test-mesh',
    latest: { current: () => undefined, currentKeyTrusted: () => undefined, trustedKeyIds: () => ['k1'] },
    served: { current: () => undefined, lastReceivedAt: () => null, unopened: () => [], lastFetch: () => undefined },
    rollouts: { backendHealth: () => undefined, known: () => undefined },
    freshness: { ageMs: () => undefined, isStale: () => false },
    node: undefined,
    publicAddress: undefined,
    name: undefined,
    labels: undefined,
    ...overrides
  }
}

test('before the mesh and any config, the status says so with nulls and empty lists', t => {
  const status = edgeStatus(parts(), NOW)
  t.like(status, { peerId: '', version: null, receivedAt: null, keyTrusted: null, lastNewsAgeSeconds: null, peers: [], listen: [], publicAddress: null, trustedKeyIds: ['k1'] })
})

test('an announcement carries what the status says, and decodes as the mesh reads it', t => {
  const status = edgeStatus(parts({
    node: { peerId: '12D3KooWA', peers: () => ['p1', 'p2'], addresses: () => ['/ip4/192.0.2.7/tcp/4001'] },
    freshness: { ageMs: () => 1600, isStale: () => false },
    publicAddress: 'edge-1.example.net'
  }), NOW)
  t.is(status.lastNewsAgeSeconds, 2)
  const announcement = announcementOf(status, NOW)
  t.like(announcement, { peerId: '12D3KooWA', peers: 2, addresses: ['/ip4/192.0.2.7/tcp/4001'], publicAddress: 'edge-1.example.net', announcedAt: '2026-12-06T10:00:00.000Z' })
  t.deepEqual(decodeAnnouncement(encodeAnnouncement(announcement), '12D3KooWA'), announcement)
})

test('without a public address the announcement has no such field (an older publisher would refuse a null)', t => {
  t.false('publicAddress' in announcementOf(edgeStatus(parts(), NOW), NOW))
})

test('a health report for a version in rollout travels in the announcement, its lists bounded', t => {
  const failing = Array.from({ length: 12 }, (_, i) => `http/web-${i}`)
  const announcement = announcementOf(edgeStatus(parts({
    node: { peerId: '12D3KooWA', peers: () => [], addresses: () => [] },
    rollouts: { known: () => undefined, backendHealth: () => ({ version: 7, healthy: false, probed: 12, failing, alreadyDown: [], notProbed: 0, errors: [] }) }
  }), NOW), NOW)
  t.deepEqual(announcement.health, { version: 7, healthy: false, failing: failing.slice(0, 8), alreadyDown: [] })
  t.deepEqual(decodeAnnouncement(encodeAnnouncement(announcement), '12D3KooWA'), announcement)
})
