import { cpus } from 'node:os'
import { modelFleet, type FleetModelResult } from '../fleet-model.js'
import { configWithRouters, routersForSize } from './configs.js'
import { measureFanIn, type FanIn } from './fan-in.js'
import { inTempDir, startDimeMesh } from './node-processes.js'
import { publishRounds } from './process-propagation.js'
import { EDGE_MAX_CONNECTIONS, PUBLISHER_MAX_CONNECTIONS, TARGET_PEERS } from '../../node/constants.js'

/** gossipsub's defaults, which the mesh keeps. */
const MESH_DEGREE = 6
const MESH_DEGREE_HIGH = 12
/** Loopback, where the hop delays were measured. */
const LINK_LATENCY_MS = 0.1
const SETTLE_MS = 3000

export interface FleetModelRun {
  /** Publish → served on one edge process (one hop), measured: what each modelled hop draws from. */
  hopDelaysMs: number[]
  /** Real processes at the calibration size, and the model at the same size with their CPU per version on this machine's cores. */
  calibration: { processes: FanIn, model: FleetModelResult, cpuBeforeServingMs: number }
  models: FleetModelResult[]
}

/**
 * One hop measured on real processes; the model at `calibrationEdges`
 * beside real processes at that size (topology and latency); then the model
 * at each of `sizes`.
 */
export async function runFleetModel (calibrationEdges: number, sizes: number[]): Promise<FleetModelRun> {
  const hopDelaysMs = await oneHopDelays(40)
  const model = (edges: number, shared?: { cores: number, cpuPerVersionMs: number }): FleetModelResult => modelFleet({
    edges,
    publisherCap: PUBLISHER_MAX_CONNECTIONS,
    edgeCap: EDGE_MAX_CONNECTIONS,
    targetPeers: TARGET_PEERS,
    meshDegree: MESH_DEGREE,
    meshDegreeHigh: MESH_DEGREE_HIGH,
    hopDelaysMs,
    linkLatencyMs: LINK_LATENCY_MS,
    shared,
    seed: 1
  })
  const processes = await measureFanIn(calibrationEdges, 10)
  // Only the part of an edge's work that comes before it serves delays the next hop: fitted to the processes' p50, checked on their p99.
  const onPath = fitted(0, processes.cpuPerVersionMs.mean, cpu => model(calibrationEdges, { cores: cpus().length, cpuPerVersionMs: cpu }).publishToServedMs.p50 - processes.latency.p50)
  const calibrated = model(calibrationEdges, { cores: cpus().length, cpuPerVersionMs: onPath })
  return { hopDelaysMs, calibration: { processes, model: calibrated, cpuBeforeServingMs: onPath }, models: sizes.map(edges => model(edges)) }
}

/** Where an increasing `error` crosses zero between `low` and `high`, by bisection. */
function fitted (low: number, high: number, error: (value: number) => number): number {
  for (let step = 0; step < 30; step++) {
    const middle = (low + high) / 2
    if (error(middle) < 0) low = middle
    else high = middle
  }
  return (low + high) / 2
}

/** Publish → served on a single edge process (2 KiB config), each of `rounds` versions. */
async function oneHopDelays (rounds: number): Promise<number[]> {
  const routers = routersForSize(2048)
  const fragment = (round: number): string => configWithRouters(routers, `v${round}`).fragment
  return await inTempDir('dime-bench-hop-', async root => {
    const mesh = await startDimeMesh(root, 1, 1, fragment(0))
    try {
      await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
      return (await publishRounds(mesh, rounds, fragment)).samples
    } finally {
      await mesh.stop()
    }
  })
}
