import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { compressBody } from '../../node/body-codec.js'
import { NamespaceMesh } from '../netns.js'
import { configWithRouters, withOneRouterChanged } from './configs.js'
import { percentile } from './stats.js'
import { waitFor } from '../wait-for.js'

export interface BytesPerVersion {
  edges: number
  routers: number
  /** The config compressed as the sync protocol sends it. */
  compressedBytes: number
  /** Bytes each edge's interface received for one new version, beyond its idle traffic (beacons, announcements, pings). */
  perEdge: { p50: number, max: number }
  /** The same, for versions that change one router's rule. */
  perEdgeOneRouter: { p50: number, max: number }
}

const IDLE_SAMPLE_MS = 5000
const SETTLE_MS = 1500

/**
 * Real processes in network namespaces, so each edge has an interface of its
 * own: the kernel's receive counter around each new version, less the idle
 * rate, is what one version costs an edge on the wire.
 */
export async function measureBytesPerVersion (edges: number, routers: number, versions: number): Promise<BytesPerVersion> {
  const root = await mkdtemp(join(tmpdir(), 'dime-bench-bytes-'))
  const mesh = new NamespaceMesh(root, edges)
  try {
    mesh.setUp()
    await mesh.writeKeysAndFragments()
    await mesh.writeFragmentText(configWithRouters(routers, 'v0').fragment)
    mesh.startPublisher()
    for (const edge of mesh.edgeNodes) mesh.startEdge(edge)
    const converged = async (): Promise<boolean> => {
      const published = await mesh.publishedVersion()
      if (published === undefined) return false
      return (await Promise.all(mesh.edgeNodes.map(async edge => await mesh.servedVersion(edge)))).every(v => v === published)
    }
    await waitFor('every edge to serve the first config', async () => await converged() ? true : undefined, 60_000, 50)
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))

    const rx = (): number[] => mesh.edgeNodes.map(edge => mesh.receivedBytes(edge))
    const idleStart = rx()
    await new Promise(resolve => setTimeout(resolve, IDLE_SAMPLE_MS))
    const idlePerMs = rx().map((bytes, i) => (bytes - (idleStart[i] ?? 0)) / IDLE_SAMPLE_MS)

    const measure = async (configs: Array<{ fragment: string }>): Promise<number[]> => {
      const costs: number[] = []
      for (const [v, config] of configs.entries()) {
        const before = rx()
        const started = Date.now()
        const previous = await mesh.publishedVersion()
        await mesh.writeFragmentText(config.fragment)
        await waitFor(`every edge to serve version ${v}`, async () => (await mesh.publishedVersion()) !== previous && await converged() ? true : undefined, 60_000, 50)
        await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
        const elapsed = Date.now() - started
        rx().forEach((bytes, i) => { costs.push(bytes - (before[i] ?? 0) - (idlePerMs[i] ?? 0) * elapsed) })
      }
      return costs
    }
    const rewrites = Array.from({ length: versions }, (_, v) => configWithRouters(routers, `v${v + 1}`))
    const costs = await measure(rewrites)
    const oneRouter = await measure(Array.from({ length: versions }, (_, v) => withOneRouterChanged(routers, `v${versions}`, `changed-${v}`)))
    return {
      edges,
      routers,
      compressedBytes: (await compressBody(rewrites[rewrites.length - 1]?.bytes ?? new Uint8Array())).byteLength,
      perEdge: { p50: percentile(costs, 50), max: Math.max(...costs) },
      perEdgeOneRouter: { p50: percentile(oneRouter, 50), max: Math.max(...oneRouter) }
    }
  } finally {
    mesh.tearDown()
    await rm(root, { recursive: true, force: true })
  }
}
