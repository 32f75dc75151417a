import test from 'ava'
import { Fleet } from '../../cluster-publisher/fleet.js'
import type { PeerAnnouncement } from '../../node/peer-announcement.js'

const T0 = Date.parse('2026-12-06T10:00:00Z')

function heardFrom (peerId: string, version: number | null, extra: Partial<PeerAnnouncement> = {}): PeerAnnouncement {
  return { peerId, version, bodySha256: null, receivedAt: null, stale: false, addresses: [`/ip4/192.0.2.1/tcp/4001`], announcedAt: new Date(T0).toISOString(), ...extra }
}

test('each edge has one state, the worst that applies: missing, stale, behind, up to date', t => {
  const fleet = new Fleet(45_000)
  fleet.heard(heardFrom('a', 2), T0)
  fleet.heard(heardFrom('b', 1), T0)
  fleet.heard(heardFrom('c', 2, { stale: true }), T0)
  fleet.heard(heardFrom('d', 2), T0 - 60_000)
  t.deepEqual(fleet.view(2, T0).map(edge => `${edge.peerId} ${edge.state}`), ['a up-to-date', 'b behind', 'c stale', 'd missing'])
  t.deepEqual(fleet.view(null, T0).map(edge => edge.state), ['behind', 'behind', 'stale', 'missing'], 'nothing is up to date before a version is known')
})

test('how long a version took to reach an edge is its accept time less the issue time, never negative', t => {
  const fleet = new Fleet(45_000)
  fleet.published(3, new Date(T0).toISOString())
  fleet.heard(heardFrom('a', 3, { receivedAt: new Date(T0 + 180).toISOString() }), T0 + 1000)
  fleet.heard(heardFrom('b', 3, { receivedAt: new Date(T0 - 50).toISOString() }), T0 + 1000)
  fleet.heard(heardFrom('c', 9, { receivedAt: new Date(T0).toISOString() }), T0 + 1000)
  t.deepEqual(fleet.view(3, T0 + 1000).map(edge => edge.propagationMs), [180, 0, null])
})

test('public addresses are those of the edges heard from lately, each once, sorted', t => {
  const fleet = new Fleet(45_000)
  fleet.heard(heardFrom('a', 1, { publicAddress: '203.0.113.9' }), T0)
  fleet.heard(heardFrom('b', 1, { publicAddress: '203.0.113.2' }), T0)
  fleet.heard(heardFrom('c', 1, { publicAddress: '203.0.113.9' }), T0)
  fleet.heard(heardFrom('d', 1, { publicAddress: '203.0.113.5' }), T0 - 60_000)
  t.deepEqual(fleet.publicAddresses(T0), ['203.0.113.2', '203.0.113.9'])
})
