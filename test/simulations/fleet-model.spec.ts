import test from 'ava'
import fc from 'fast-check'
import { modelFleet } from '../../simulations/fleet-model.js'

const input = (edges: number, seed: number): Parameters<typeof modelFleet>[0] => ({
  edges, publisherCap: 8, edgeCap: 32, targetPeers: 6, meshDegree: 6, meshDegreeHigh: 12, hopDelaysMs: [10, 20, 30], linkLatencyMs: 0.1, seed
})

test('the modelled fleet keeps every cap, reaches every edge, each at least one hop and one copy away', t => {
  t.notThrows(() => { fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer(), (edges, seed) => {
    const result = modelFleet(input(edges, seed))
    return result.publisherConnections <= 8 && result.edgeConnections.max <= 32 &&
      Number.isFinite(result.publishToServedMs.max) && result.hops.p50 >= 1 &&
      result.publishToServedMs.p50 >= 10 && result.copiesPerEdge.mean >= 1
  }), { numRuns: 40 }) })
})

test('past the publisher\'s cap a fleet ten times larger is a hop or two deeper, not ten times slower', t => {
  const small = modelFleet(input(100, 1))
  const large = modelFleet(input(1000, 1))
  t.is(large.publisherConnections, 8)
  t.true(large.hops.max <= small.hops.max + 3, `${small.hops.max} → ${large.hops.max} hops`)
  t.true(large.publishToServedMs.p99 < 3 * small.publishToServedMs.p99)
  t.true(large.relayedPerOwnReport.max > small.relayedPerOwnReport.max, 'edges near the publisher relay for more edges')
})

test('edges sharing two cores wait for them: the last of 20 is served after about half their work', t => {
  const alone = modelFleet(input(20, 1))
  const shared = modelFleet({ ...input(20, 1), shared: { cores: 2, cpuPerVersionMs: 25 } })
  t.true(shared.publishToServedMs.max >= 20 * 25 / 2, `${shared.publishToServedMs.max} ms`)
  t.true(shared.publishToServedMs.p50 > alone.publishToServedMs.p50)
})
