import test from 'ava'
import { MAX_ANNOUNCEMENT_BYTES } from '../../node/peer-announcement.js'
import { Partition } from '../../simulations/partition.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { capturedLog } from '../fixtures/captured-log.js'
import { getConfig, publisherWithRoute, routeFragment, startEdge, writeFragment } from '../fixtures/mesh.js'

const CAP = 4
const EDGES = 12

type Listed = Array<{ peerId: string, version: number | null }>

type Edges = Array<Awaited<ReturnType<typeof startEdge>>>
type Publisher = Awaited<ReturnType<typeof publisherWithRoute>>['publisher']

async function serving (edges: Edges, host: string): Promise<boolean> {
  return (await Promise.all(edges.map(async edge => (await (await getConfig(edge)).text()).includes(host)))).every(Boolean)
}

/** The dials an edge has made of its bootstrap addresses, or of the other peers it knows, connected or not. */
async function dialsBy (edge: Edges[number], target: 'bootstrap' | 'known-peer'): Promise<number> {
  return await scrapeMetric(edge.serveUrl() ?? '', 'dime_mesh_dials_total', { target, outcome: 'connected' }) +
    await scrapeMetric(edge.serveUrl() ?? '', 'dime_mesh_dials_total', { target, outcome: 'failed' })
}

/** Until the publisher holds no more connections than its cap: those over it have been shed. */
async function waitUntilWithinCap (publisher: Publisher, cap = CAP): Promise<void> {
  await waitFor(() => `the publisher is down to ${cap} connections (has ${publisher.mesh.peers().length})`, () => publisher.mesh.peers().length <= cap ? true : undefined, 120_000)
}

/** Until the publisher's /status lists every edge at its newest version: their reports reached it. */
async function waitUntilListedAtNewest (publisher: Publisher, edges: Edges, what: string): Promise<void> {
  const version = publisher.latest.current()?.head.version
  await waitFor(what, async () => {
    const listed = (await (await fetch(`${publisher.adminUrl() ?? ''}/status`)).json() as { edges: Listed }).edges
    return edges.every(edge => listed.some(entry => entry.peerId === edge.mesh.peerId && entry.version === version)) ? true : undefined
  }, 120_000)
}

test(`a publisher keeps at most its cap of connections: ${EDGES} edges that only know it learn of each other, get every version through each other, and knock again seldom`, async t => {
  const { keys, fragments, publisher } = await publisherWithRoute(t, 'whoami', { maxConnections: CAP })
  const edges = await Promise.all(Array.from({ length: EDGES }, async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })))
  const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> => await scrapeMetric(publisher.adminUrl() ?? '', name, labels)
  t.is(await metric('dime_mesh_max_connections'), CAP)

  await waitFor('every edge serves the first version', async () => await serving(edges, 'whoami') ? true : undefined, 120_000)
  await waitUntilWithinCap(publisher)
  t.true(await metric('dime_mesh_connections_shed_total') >= EDGES - CAP)

  await writeFragment(fragments, 'more.yaml', routeFragment('more', 'more.example.com'))
  await waitFor('every edge serves the next version, most of them through other edges', async () => await serving(edges, 'more.example.com') ? true : undefined, 120_000)

  // Their status reaches the publisher through the edges connected to it: every edge is listed, serving the newest version.
  await waitUntilListedAtNewest(publisher, edges, 'the publisher lists every edge, serving the newest version')
  // On a busy machine an edge may gossip its first reports (its upstream not yet identified as speaking the relay protocol).
  await waitFor('some reports came relayed', async () => await metric('dime_relayed_reports_total', { outcome: 'received' }) >= 1 ? true : undefined, 120_000)

  // A shed edge redials the publisher no sooner than 15 s (half of 30 s, jittered) while it has other peers, where it
  // redialled every second before; one whose peer exchange did not say so in time (a busy machine) redials a few times more.
  const bootstrapDials = async (): Promise<number> => (await Promise.all(edges.map(async edge => await dialsBy(edge, 'bootstrap')))).reduce((a, b) => a + b, 0)
  const reportsByWay = async (): Promise<Record<string, number>> => {
    const totals: Record<string, number> = { direct: 0, relayed: 0, gossiped: 0 }
    for (const edge of edges) for (const way of Object.keys(totals)) totals[way] = (totals[way] ?? 0) + await scrapeMetric(edge.serveUrl() ?? '', 'dime_status_reports_total', { outcome: way })
    return totals
  }
  const before = await bootstrapDials()
  const reportsBefore = await reportsByWay()
  await new Promise(resolve => setTimeout(resolve, 10_000))
  const dials = await bootstrapDials() - before
  t.true(dials <= 3 * EDGES, `at most three dials of the publisher per edge in 10 s, not ten (${dials})`)
  const reportsAfter = await reportsByWay()
  const sent = (way: string): number => (reportsAfter[way] ?? 0) - (reportsBefore[way] ?? 0)
  t.true(sent('relayed') > 0, 'edges not connected to the publisher report through other edges')
  t.true(sent('gossiped') < sent('direct') + sent('relayed'), `most reports go direct or relayed, not gossiped to every node (${JSON.stringify({ direct: sent('direct'), relayed: sent('relayed'), gossiped: sent('gossiped') })})`)
  t.true(publisher.mesh.peers().length <= CAP + 16)

  // What reports cost is counted: each of an edge's own announcements is bounded, and relays say what they passed on.
  const sumOver = async (name: string, labels: Array<Record<string, string>>): Promise<number> => (await Promise.all(edges.flatMap(edge =>
    labels.map(async label => await scrapeMetric(edge.serveUrl() ?? '', name, label))))).reduce((a, b) => a + b, 0)
  const ways = ['direct', 'relayed', 'gossiped'].map(outcome => ({ outcome }))
  const ownBytes = await sumOver('dime_status_report_bytes_total', ways)
  const ownReports = await sumOver('dime_status_reports_total', ways)
  t.true(ownBytes > 0 && ownBytes <= ownReports * MAX_ANNOUNCEMENT_BYTES, `${ownBytes} bytes in ${ownReports} announcements`)
  t.true(await sumOver('dime_relayed_report_bytes_total', [{}]) > 0, 'relays count the bytes they send')
})

test('a publisher cut off from every edge but one still reaches them all through that one, and hears from them all through it', async t => {
  const partition = new Partition()
  const { keys, fragments, publisher } = await publisherWithRoute(t, 'whoami', { maxConnections: CAP, partition })
  const edges = await Promise.all(Array.from({ length: 8 }, async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), partition })))
  await waitFor('every edge serves the first version', async () => await serving(edges, 'whoami') ? true : undefined, 120_000)
  // An edge closed by the full publisher before its peer exchange answered knows no other edge yet: cut off now, it would be alone.
  await waitFor('every edge knows another edge', () => edges.every(edge => edge.mesh.knownPeers() >= 2) ? true : undefined, 120_000)

  // Chosen once the publisher is within its cap, so no connection of the publisher's is about to be shed.
  await waitUntilWithinCap(publisher)
  const bridge = await waitFor('an edge connected to the publisher', () => edges.find(edge => publisher.mesh.peers().includes(edge.mesh.peerId)), 60_000)
  const others = edges.filter(edge => edge !== bridge)
  await partition.split([publisher.mesh], others.map(edge => edge.mesh))
  t.deepEqual(publisher.mesh.peers(), [bridge.mesh.peerId], 'the publisher is connected to the bridge alone')

  await writeFragment(fragments, 'more.yaml', routeFragment('more', 'more.example.com'))
  await waitFor('every edge serves the next version, through the bridge', async () => await serving(edges, 'more.example.com') ? true : undefined, 120_000)
  await waitUntilListedAtNewest(publisher, edges, 'the publisher lists every edge at the newest version, their reports relayed through the bridge')
  t.deepEqual(publisher.mesh.peers(), [bridge.mesh.peerId], 'nothing crossed the partition')
})

// Alone, before the others: its windows are judged by how a busy machine keeps connections.
test.serial('an edge that learned of a full publisher from another edge, and knows too few peers, leaves it alone as it would a full bootstrap address', async t => {
  // The production grace: a busy machine still tells the second edge the publisher is full before closing it.
  const { keys, publisher } = await publisherWithRoute(t, 'whoami', { maxConnections: 1, joinGraceMs: 10_000 })
  const first = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('the first edge serves the first version', async () => await serving([first], 'whoami') ? true : undefined, 120_000)
  // It knows the publisher from the first edge's peer exchange answer, and with one connection of its six it dials it.
  const logs = capturedLog()
  const second = await startEdge(t, keys, { bootstrap: first.mesh.addresses(), log: logs.log })
  await waitFor('the publisher told the second edge it is full', () => logs.lines().some(line => line.msg === 'peer is over its connection cap; dialled seldom' && line.peer === publisher.mesh.peerId) ? true : undefined, 120_000)
  await waitFor('the second edge serves the first version', async () => await serving([second], 'whoami') ? true : undefined, 120_000)

  // Its only known peer besides its bootstrap edge is the publisher: every known-peer dial is one at the publisher.
  const dials = async (): Promise<number> => await dialsBy(second, 'known-peer')
  // A window counts only if the edge kept its other connection throughout, and the publisher stayed full (the first
  // edge kept its own): with no other connection (a busy machine's late ping hangs it up) the edge dials whatever
  // peer it knows, and a publisher that said it is no longer full may be dialled at once, both as they should.
  // Either link's loss shows as a bootstrap redial, however briefly it was down.
  const redials = async (): Promise<number> => await dialsBy(first, 'bootstrap') + await dialsBy(second, 'bootstrap')
  const window = async (): Promise<number | undefined> => {
    const [before, redialsBefore] = [await dials(), await redials()]
    const ends = Date.now() + 40_000
    let alone = false
    while (Date.now() < ends) {
      alone ||= !second.mesh.peers().includes(first.mesh.peerId) || !publisher.mesh.peers().includes(first.mesh.peerId)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    return alone || await redials() !== redialsBefore ? undefined : await dials() - before
  }
  const knocks = await waitFor('40 s in which the second edge stayed connected to the first, and the first to the publisher', window, 600_000)
  t.true(knocks <= 1, `the second edge dialled the publisher ${knocks} times in 40 s: told it is full, it waits 15–30 s, then 30–60 s (it dialled at every close, each grace period, before)`)
})
