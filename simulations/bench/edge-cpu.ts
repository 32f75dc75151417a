import { join } from 'node:path'
import { compressBody, decompressBody } from '../../node/body-codec.js'
import { sha256Hex } from '../../node/envelope.js'
import { fileEnvelopeStore } from '../../node/file-envelope-store.js'
import { configWithRouters } from './configs.js'
import { inTempDir, sleep, startDimeMesh } from './node-processes.js'
import { publishRounds } from './process-propagation.js'

const SETTLE_MS = 5000
const IDLE_WINDOW_MS = 10_000

export interface EdgeCpu {
  routers: number
  versions: number
  /** The edge process's CPU per version (every thread), beyond its idle rate. */
  edgeMsPerVersion: number
  /** The floor: the same bodies inflated, hashed and written durably, in this process and nothing else. */
  floorMsPerVersion: number
}

/**
 * What one version of `routers` routers (every router changed) costs one edge
 * process, publisher in its own process, beside the work no edge can skip:
 * inflating the body, hashing it and writing it to disk with an fsync.
 */
export async function measureEdgeCpu (routers: number, versions: number): Promise<EdgeCpu> {
  return await inTempDir('dime-bench-edge-cpu-', async root => {
    const fragment = (round: number): string => configWithRouters(routers, `v${round}`).fragment
    const mesh = await startDimeMesh(root, 1, 1, fragment(0))
    let edgeMsPerVersion: number
    try {
      const edge = mesh.edges[0]
      if (edge === undefined) throw new Error('no edge started')
      await sleep(SETTLE_MS)
      const idleFrom = await edge.cpuSeconds()
      await sleep(IDLE_WINDOW_MS)
      const idleMsPerMs = (await edge.cpuSeconds() - idleFrom) * 1000 / IDLE_WINDOW_MS
      const before = await edge.cpuSeconds()
      const began = performance.now()
      await publishRounds(mesh, versions, fragment)
      const busyMs = (await edge.cpuSeconds() - before) * 1000 - idleMsPerMs * (performance.now() - began)
      edgeMsPerVersion = busyMs / versions
    } finally {
      await mesh.stop()
    }
    return { routers, versions, edgeMsPerVersion, floorMsPerVersion: await floorCost(root, routers, versions) }
  })
}

/** The edge's own steps for a fetched body, alone: inflating it, hashing it, and the file store's durable write. */
async function floorCost (root: string, routers: number, versions: number): Promise<number> {
  const bodies = Array.from({ length: versions }, (_, round) => configWithRouters(routers, `v${round + 1}`).bytes)
  const compressed = await Promise.all(bodies.map(async body => await compressBody(body)))
  const store = fileEnvelopeStore(join(root, 'floor.bin'))
  const pass = async (): Promise<void> => {
    for (const [i, payload] of compressed.entries()) {
      const size = bodies[i]?.byteLength ?? 0
      const body = await decompressBody(payload, size, size)
      sha256Hex(body)
      await store.save([body])
    }
  }
  // The first pass warms what a long-running edge has warm (compiled code, the thread pool, pages of memory).
  await pass()
  const before = process.cpuUsage()
  await pass()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000 / versions
}
