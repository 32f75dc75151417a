import test from 'ava'
import { lpStream } from '@libp2p/utils'
import { peerExchangeProtocol } from '../../node/constants.js'
import { decodePeerList, InvalidPeerListError } from '../../node/mesh/peer-exchange.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { MESH, publisherWithRoute, startEdge } from '../fixtures/mesh.js'
import { dialMember, rawNode } from '../fixtures/raw-node.js'

/** Slow announcements: what the edges learn of each other here comes from the peer exchange. */
const QUIET_TIMING = { syncIntervalMs: 1000, peerCheckIntervalMs: 250, announceIntervalMs: 600_000, announceJitterMs: 200 }

async function exchanges (url: string | undefined, outcome: string): Promise<number> {
  return await scrapeMetric(url ?? '', 'dime_peer_exchanges_total', { outcome })
}

test('edges that only know the publisher learn of each other from it and connect to each other', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const edges = await Promise.all([1, 2, 3].map(async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), timing: QUIET_TIMING })))
  await waitFor('every edge is connected to the other two', () =>
    edges.every(edge => edges.filter(other => other !== edge).every(other => edge.mesh.peers().includes(other.mesh.peerId))) ? true : undefined, 60_000)
  t.true((await exchanges(edges[2]?.serveUrl(), 'learned')) >= 1)
})

test('an edge that joined when the publisher knew no one, and that no one can dial, asks again while it knows too few peers, and reaches the later edges', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const first = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), timing: QUIET_TIMING, listen: [] })
  await waitFor('the first edge has asked the publisher, which knew no one else', async () => await exchanges(first.serveUrl(), 'learned') >= 1 ? true : undefined)
  const later = await Promise.all([1, 2].map(async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), timing: QUIET_TIMING })))
  await waitFor('the first edge is connected to both later ones', () =>
    later.every(edge => first.mesh.peers().includes(edge.mesh.peerId)) ? true : undefined, 60_000)
  t.true(await exchanges(first.serveUrl(), 'learned') >= 2, 'it asked more than once')
})

test('a member answering with a malformed peer list is refused and counted; a node without the protocol is not asked', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('the edge has asked the publisher', async () => await exchanges(edge.serveUrl(), 'learned') >= 1 ? true : undefined)

  const older = await rawNode(t, keys.swarmKey)
  await dialMember(older, edge.mesh.addresses()[0])
  const hostile = await rawNode(t, keys.swarmKey)
  await hostile.handle(peerExchangeProtocol(MESH), async stream => {
    await lpStream(stream).write(new TextEncoder().encode(JSON.stringify({ peers: [{ id: 'x', addresses: 'not a list' }] })))
    await stream.close()
  })
  await dialMember(hostile, edge.mesh.addresses()[0])
  await waitFor('the malformed list is counted', async () => await exchanges(edge.serveUrl(), 'refused') === 1 ? true : undefined)
  t.is(await exchanges(edge.serveUrl(), 'failed'), 0, 'the node without the protocol was never asked')
  t.true(edge.mesh.peers().includes(publisher.mesh.peerId), 'the edge carries on')
})

test('a peer list is refused unless it is a bounded list of peers', t => {
  const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
  t.deepEqual(decodePeerList(encode({ peers: [{ id: 'a', addresses: ['/ip4/192.0.2.1/tcp/4001'] }] })), { peers: [{ id: 'a', addresses: ['/ip4/192.0.2.1/tcp/4001'] }], full: false })
  t.deepEqual(decodePeerList(encode({ peers: [], full: true })), { peers: [], full: true }, 'a node over its connection cap says so')
  for (const bad of ['[]', '{"peers":{}}', '{"peers":[{"id":1,"addresses":[]}]}', 'not json']) {
    t.throws(() => decodePeerList(new TextEncoder().encode(bad)), { instanceOf: InvalidPeerListError }, bad)
  }
  t.throws(() => decodePeerList(encode({ peers: Array.from({ length: 33 }, (_, i) => ({ id: String(i), addresses: [] })) })), { instanceOf: InvalidPeerListError })
  t.throws(() => decodePeerList(encode({ peers: [{ id: 'a', addresses: Array.from({ length: 9 }, () => '/ip4/192.0.2.1/tcp/1') }] })), { instanceOf: InvalidPeerListError })
})
