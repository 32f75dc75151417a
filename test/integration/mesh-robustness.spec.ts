import test, { type ExecutionContext } from 'ava'
import type { Publisher } from '../../cluster-publisher/create-publisher.js'
import type { Edge } from '../../edge-subscriber/create-edge.js'
import { multiaddr } from '@multiformats/multiaddr'
import { beaconTopic } from '../../node/constants.js'
import { getConfig, MESH, meshKeys, publisherWithRoute, routeFragment, startEdge, startPublisher, writeFragment, type MeshKeys } from '../fixtures/mesh.js'
import { dialMember, rawNode } from '../fixtures/raw-node.js'
import { Partition } from '../../simulations/partition.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'


type EdgeFixture = Awaited<ReturnType<typeof startEdge>>

/** True once every edge serves `version`, which must be a real one (null would match edges serving nothing). */
async function allAt (edges: Edge[], version: number | null): Promise<true | undefined> {
  return version !== null && edges.every(edge => edge.status().version === version) ? true : undefined
}

/** A publisher serving a.yaml, on a mesh whose links a partition can cut. */
async function partitionedPublisher (t: ExecutionContext): Promise<{ partition: Partition, keys: MeshKeys, fragments: string, publisher: Publisher }> {
  const partition = new Partition()
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'a.yaml', routeFragment('a', 'a.example.com'))
  return { partition, keys, fragments, publisher: await startPublisher(t, keys, fragments, { partition }) }
}

/** Two edges of that publisher, once the far one has learned of the near one (from its announcements) and connected. */
async function edgesThatFoundEachOther (t: ExecutionContext, keys: MeshKeys, publisher: Publisher, partition: Partition): Promise<{ bootstrap: string[], near: EdgeFixture, far: EdgeFixture }> {
  const bootstrap = publisher.mesh.addresses()
  const near = await startEdge(t, keys, { bootstrap, partition })
  const far = await startEdge(t, keys, { bootstrap, partition })
  await waitFor('the edges find each other', () => far.mesh.peers().includes(near.mesh.peerId) ? true : undefined)
  return { bootstrap, near, far }
}

test('a late joiner converges by sync, with nothing new published', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const early = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('the early edge', async () => await allAt([early], publisher.status().version))
  const late = await startEdge(t, keys, { bootstrap: early.mesh.addresses() })
  await waitFor('the late edge, from the early one', async () => await allAt([late], publisher.status().version))
  t.is(late.status().configSha256, early.status().configSha256)
})

test('publisher cut off from every edge publishes; after the heal all converge', async t => {
  const { partition, keys, fragments, publisher } = await partitionedPublisher(t)
  const edges = await Promise.all([1, 2, 3].map(async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), partition })))
  await waitFor('first version everywhere', async () => await allAt(edges, publisher.status().version))
  const before = publisher.status().version

  await partition.split([publisher.mesh], edges.map(edge => edge.mesh))
  let healed = false
  const crossed: string[] = []
  for (const edge of edges) edge.latest.onAccepted(envelope => { if (!healed) crossed.push(`${edge.mesh.peerId} took ${envelope.head.version}`) })
  await writeFragment(fragments, 'b.yaml', routeFragment('b', 'b.example.com'))
  await waitFor('the publisher has the new version', () => publisher.status().version !== before ? true : undefined)

  healed = true
  partition.heal()
  await waitFor('every edge has the new version after the heal', async () => await allAt(edges, publisher.status().version))
  t.deepEqual(crossed, [], 'nothing crossed the partition')
})

test('edges relay: an edge the publisher cannot reach converges through another edge', async t => {
  const { partition, keys, fragments, publisher } = await partitionedPublisher(t)
  const { near, far } = await edgesThatFoundEachOther(t, keys, publisher, partition)

  await partition.split([publisher.mesh], [far.mesh])
  await writeFragment(fragments, 'b.yaml', routeFragment('b', 'b.example.com'))
  await waitFor('the far edge converges via the near one', async () => await allAt([near, far], publisher.status().version))
  t.false(far.mesh.peers().includes(publisher.mesh.peerId))
})

test('an edge restarted during a partition serves its persisted config, then finds the other edges and converges', async t => {
  const { partition, keys, fragments, publisher } = await partitionedPublisher(t)
  const { bootstrap, near, far } = await edgesThatFoundEachOther(t, keys, publisher, partition)
  await waitFor('the far edge serves the first version', async () => await allAt([far], publisher.status().version))
  const served = await (await getConfig(far)).text()
  const farId = far.mesh.peerId
  await far.stop()

  // Publish while the far edge is down and the publisher is cut off from it.
  await partition.split([publisher.mesh], [far.mesh])
  await writeFragment(fragments, 'b.yaml', routeFragment('b', 'b.example.com'))
  await waitFor('the near edge converges', async () => await allAt([near], publisher.status().version))

  const restarted = await startEdge(t, keys, { bootstrap, partition, dataDir: far.dataDir })
  t.is(restarted.mesh.peerId, farId, 'the peer identity survives the restart')
  t.is(await (await getConfig(restarted)).text(), served, 'the persisted config is served at once')
  await waitFor('the restarted edge converges through the edge it remembered', async () => await allAt([restarted], publisher.status().version))
  t.false(restarted.mesh.peers().includes(publisher.mesh.peerId))
})

test('staleness is reported after the publisher goes quiet, and the config is still served', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), staleAfterMs: 1500 })
  await waitFor('the edge serves', async () => await allAt([edge], publisher.status().version))
  await waitFor('a beacon is heard', () => edge.status().lastNewsAgeSeconds === 0 ? true : undefined)
  t.false(edge.status().stale)
  await publisher.stop()
  await waitFor('the edge reports itself stale', () => edge.status().stale ? true : undefined)
  t.is((await getConfig(edge)).status, 200)
  const metrics = await (await fetch(`${edge.serveUrl() ?? ''}/metrics`)).text()
  t.regex(metrics, /dime_edge_stale 1/)
})

test("the publisher's status shows every edge, its version, how long it took, and edges gone missing", async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const edges = await Promise.all([1, 2].map(async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })))
  const rows = await waitFor('both edges reported up to date', () => {
    const seen = publisher.status().edges
    return seen.length === 2 && seen.every(edge => edge.upToDate) ? seen : undefined
  })
  t.deepEqual(rows.map(row => row.peerId).sort(), edges.map(edge => edge.mesh.peerId).sort())
  t.true(rows.every(row => row.propagationMs !== null && row.propagationMs >= 0), "each says how long the version took to reach it")
  await edges[0]?.stop()
  await waitFor('the stopped edge shown as missing', () =>
    publisher.status().edges.find(row => row.peerId === edges[0]?.mesh.peerId)?.missing === true ? true : undefined)
  t.false(publisher.status().edges.find(row => row.peerId === edges[1]?.mesh.peerId)?.missing)
})

test('with an allow list, an edge admits the trusted publisher but not an unlisted edge', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const guarded = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), allowPeers: [] })
  await waitFor('the guarded edge serves', async () => await allAt([guarded], publisher.status().version))
  const stranger = await startEdge(t, keys, { bootstrap: guarded.mesh.addresses() })
  // The guarded edge turns it away once the handshake tells who it is; the stranger then dials again.
  const dials = async (): Promise<number> => await scrapeMetric(stranger.serveUrl() ?? '', 'dime_mesh_dials_total', { target: 'bootstrap' })
  await waitFor('the stranger has dialled the guarded edge three times', async () => await dials() >= 3 ? true : undefined)
  t.false(guarded.mesh.peers().includes(stranger.mesh.peerId))
  t.is(stranger.status().version, null)
})

test('a peer whose gossip stream was reset, its connection still open, is hung up on and gets beacons again once it redials', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const member = await rawNode(t, keys.swarmKey)
  let beacons = 0
  member.services.pubsub.addEventListener('message', event => { if (event.detail.topic === beaconTopic(MESH)) beacons++ })
  member.services.pubsub.subscribe(beaconTopic(MESH))
  const address = publisher.mesh.addresses()[0]
  await dialMember(member, address)
  await waitFor('the member hears beacons', () => beacons > 0 ? true : undefined, 60_000)

  // Gossipsub forgets a peer whose stream fails and never opens one again on the same connection.
  const connection = member.getConnections().find(connection => connection.remotePeer.toString() === publisher.mesh.peerId)
  const gossip = await waitFor('the member\'s gossip stream to the publisher', () =>
    connection?.streams.find(stream => stream.direction === 'outbound' && stream.protocol?.startsWith('/meshsub/') === true))
  gossip.abort(new Error('reset by the test'))
  const heardBefore = beacons

  // The member redials whenever it is not connected, as an edge's keeper does.
  await waitFor('the member hears beacons again', async () => {
    if (member.getConnections().length === 0) await member.dial(multiaddr(address ?? '')).catch(() => {})
    return beacons > heardBefore + 1 ? true : undefined
  }, 180_000, 500)
  t.true(await scrapeMetric(publisher.adminUrl() ?? '', 'dime_mesh_gossip_links_reset_total') >= 1, 'the publisher counted the link it reset')
})
