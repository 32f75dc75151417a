import test from 'ava'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { getConfig, publisherWithRoute, routeFragment, startEdge, writeFragment } from '../fixtures/mesh.js'

const CAP = 4
const EDGES = 12

test(`a publisher keeps at most its cap of connections: ${EDGES} edges that only know it learn of each other, get every version through each other, and knock again seldom`, async t => {
  const { keys, fragments, publisher } = await publisherWithRoute(t, 'whoami', { maxConnections: CAP })
  const edges = await Promise.all(Array.from({ length: EDGES }, async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })))
  const metric = async (name: string): Promise<number> => await scrapeMetric(publisher.adminUrl() ?? '', name)
  t.is(await metric('dime_mesh_max_connections'), CAP)

  const serving = async (host: string): Promise<boolean> => (await Promise.all(edges.map(async edge => (await (await getConfig(edge)).text()).includes(host)))).every(Boolean)
  await waitFor('every edge serves the first version', async () => await serving('whoami') ? true : undefined, 120_000)
  await waitFor(() => `the publisher is down to ${CAP} connections (has ${publisher.mesh.peers().length})`, () => publisher.mesh.peers().length <= CAP ? true : undefined, 120_000)
  t.true(await metric('dime_mesh_connections_shed_total') >= EDGES - CAP)

  await writeFragment(fragments, 'more.yaml', routeFragment('more', 'more.example.com'))
  await waitFor('every edge serves the next version, most of them through other edges', async () => await serving('more.example.com') ? true : undefined, 120_000)

  // A shed edge redials the publisher no sooner than 15 s (half of 30 s, jittered) while it has other peers: not every second.
  const bootstrapDials = async (): Promise<number> => (await Promise.all(edges.map(async edge =>
    await scrapeMetric(edge.serveUrl() ?? '', 'dime_mesh_dials_total', { target: 'bootstrap', outcome: 'connected' }) +
    await scrapeMetric(edge.serveUrl() ?? '', 'dime_mesh_dials_total', { target: 'bootstrap', outcome: 'failed' })))).reduce((a, b) => a + b, 0)
  const before = await bootstrapDials()
  await new Promise(resolve => setTimeout(resolve, 10_000))
  t.true(await bootstrapDials() - before <= EDGES, 'at most one dial of the publisher per edge in 10 s')
  t.true(publisher.mesh.peers().length <= CAP + 16)
})
