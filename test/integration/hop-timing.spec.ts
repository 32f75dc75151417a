import test, { type ExecutionContext } from 'ava'
import { randomBytes } from 'node:crypto'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { FAST_TIMING } from '../../simulations/world.js'
import { capturedLog } from '../fixtures/captured-log.js'
import { publisherWithRoute, startEdge, writeFragment } from '../fixtures/mesh.js'

/** Publishes `fragment` to an edge that heard a beacon before, and returns the stages its hop logged (each once) and the edge's URL. */
async function hopOf (t: ExecutionContext, fragment: string): Promise<{ stages: string[], url: string, version: number }> {
  const { keys, fragments, publisher } = await publisherWithRoute(t)
  const logs = capturedLog()
  // Anti-entropy only once a minute, so the new version comes by its beacon, as the stages to time assume.
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), log: logs.log, timing: { ...FAST_TIMING, syncIntervalMs: 60_000 } })
  const first = await waitFor('the first version served', () => edge.status().version ?? undefined)
  // Gossip flows once subscriptions are exchanged: until then a new version arrives by anti-entropy, beacon-less.
  await waitFor('a beacon reaches the edge', async () => await scrapeMetric(edge.serveUrl() ?? '', 'dime_beacons_total', { outcome: 'accepted' }) >= 1 ? true : undefined)

  await writeFragment(fragments, 'b.json', fragment)
  const version = await waitFor('the new version served', () => {
    const served = edge.status().version ?? 0
    return served > first ? served : undefined
  })
  const stagesOf = (): string[] => logs.lines().filter(line => line.msg === 'hop stage' && line.version === version).map(line => String(line.stage))
  const stages = await waitFor(() => `the hop to end with the body served (stages so far: ${stagesOf().join(', ')})`, () => stagesOf().includes('served') ? stagesOf() : undefined)
  for (const line of logs.lines().filter(line => line.msg === 'hop stage' && line.version === version)) {
    t.true(typeof line.stageMs === 'number' && line.stageMs >= 0 && typeof line.sinceBeaconMs === 'number', JSON.stringify(line))
  }
  // The periodic beacon may tell of it again while the body is on its way: each stage counts once here.
  return { stages: [...new Set(stages)], url: edge.serveUrl() ?? '', version }
}

test('a small change rides on its beacon: each stage is logged at debug with its duration, the beacon is forwarded once the body is verified, and the edge counts publish → served and reports the version it serves', async t => {
  const { stages, url, version } = await hopOf(t, JSON.stringify({ http: { routers: { b: { rule: 'Host(`b.example.com`)', service: 'whoami' } } } }))
  t.deepEqual(stages.slice(0, 5), ['beacon-received', 'beacon-verified', 'pull-started', 'body-received', 'body-verified'])
  t.deepEqual(stages.slice(5).sort(), ['beacon-forwarded', 'served'])
  t.true(await scrapeMetric(url, 'dime_edge_propagation_seconds_count') >= 2, 'both versions observed')
  t.is(await scrapeMetric(url, 'dime_edge_config_version'), version)
})

test('a body too large to ride on its beacon is pulled from the peer that forwarded it', async t => {
  // Random host names do not compress: about 20 KiB compressed, over what a beacon carries.
  const routers = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`r${i}`, { rule: `Host(\`${randomBytes(16).toString('hex')}.example.com\`)`, service: 'whoami' }]))
  const { stages } = await hopOf(t, JSON.stringify({ http: { routers } }))
  t.deepEqual(stages.slice(0, 6), ['beacon-received', 'beacon-verified', 'pull-started', 'head-checked', 'body-received', 'body-verified'])
  t.deepEqual(stages.slice(6).sort(), ['beacon-forwarded', 'served'])
})
