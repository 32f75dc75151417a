import test from 'ava'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { FAST_TIMING } from '../../simulations/world.js'
import { capturedLog } from '../fixtures/captured-log.js'
import { publisherWithRoute, routeFragment, startEdge, writeFragment } from '../fixtures/mesh.js'

test('each stage of a hop is logged at debug with its duration, and the edge counts publish → served', async t => {
  const { keys, fragments, publisher } = await publisherWithRoute(t)
  const logs = capturedLog()
  // Anti-entropy only once a minute, so the new version comes by its beacon, as the stages to time assume.
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), log: logs.log, timing: { ...FAST_TIMING, syncIntervalMs: 60_000 } })
  const first = await waitFor('the first version served', () => edge.status().version ?? undefined)
  // Gossip flows once subscriptions are exchanged: until then a new version arrives by anti-entropy, beacon-less.
  await waitFor('a beacon reaches the edge', async () => await scrapeMetric(edge.serveUrl() ?? '', 'dime_beacons_total', { outcome: 'accepted' }) >= 1 ? true : undefined)

  await writeFragment(fragments, 'b.yaml', routeFragment('b', 'b.example.com'))
  const version = await waitFor('the new version served', () => {
    const served = edge.status().version ?? 0
    return served > first ? served : undefined
  })
  const stagesOf = (): string[] => logs.lines().filter(line => line.msg === 'hop stage' && line.version === version).map(line => String(line.stage))
  // The beacon that told of it is forwarded after the body is served; wait for that last stage.
  const stages = await waitFor(() => `the hop to end with the beacon forwarded (stages so far: ${stagesOf().join(', ')})`, () => stagesOf().includes('beacon-forwarded') ? stagesOf() : undefined)
  // The periodic beacon may tell of it again while the body is on its way: each stage counts once here.
  t.deepEqual([...new Set(stages)], ['beacon-received', 'beacon-verified', 'pull-started', 'head-checked', 'body-received', 'body-verified', 'served', 'beacon-forwarded'])
  for (const line of logs.lines().filter(line => line.msg === 'hop stage' && line.version === version)) {
    t.true(typeof line.stageMs === 'number' && line.stageMs >= 0 && typeof line.sinceBeaconMs === 'number', JSON.stringify(line))
  }
  t.true(await scrapeMetric(edge.serveUrl() ?? '', 'dime_edge_propagation_seconds_count') >= 2, 'both versions observed')
})
