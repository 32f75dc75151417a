import test from 'ava'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { meshKeys, startEdge } from '../fixtures/mesh.js'

test('a node with no bootstrap address dials the peers it knows, and backs off from one that is gone', async t => {
  const keys = meshKeys()
  const known = await startEdge(t, keys, { bootstrap: [] })
  const gone = await startEdge(t, keys, { bootstrap: [] })
  const goneAt = { id: gone.mesh.peerId, addresses: gone.mesh.addresses() }
  await gone.stop()
  const node = await startEdge(t, keys, { bootstrap: [] })
  node.mesh.learnPeer(known.mesh.peerId, known.mesh.addresses())
  node.mesh.learnPeer(goneAt.id, goneAt.addresses)
  await waitFor('connected to the known peer', () => node.mesh.peers().includes(known.mesh.peerId) ? true : undefined)
  const failed = async (): Promise<number> => await scrapeMetric(node.serveUrl() ?? '', 'dime_mesh_dials_total', { target: 'known-peer', outcome: 'failed' })
  await waitFor('the gone peer tried', async () => await failed() >= 1 ? true : undefined)
  const before = await failed()
  await new Promise(resolve => setTimeout(resolve, 1500))
  // Checked every 250 ms here: without backoff that would be six more dials.
  t.true(await failed() - before <= 3, `${await failed() - before} more dials in 1.5 s`)
  t.false(node.mesh.peers().includes(goneAt.id))
})
