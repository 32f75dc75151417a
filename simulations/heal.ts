import { NamespaceMesh } from './netns.js'
import { percentile } from './bench/stats.js'
import { waitFor } from './wait-for.js'

export interface HealRound {
  partitionMs: number
  /** Per edge, from the heal to serving the version published during the partition. */
  convergedMs: number[]
  /** Per edge, dials to its bootstrap address per minute while cut off. */
  dialsPerMinute: number[]
}

export interface HealSummary {
  partitionMs: number
  rounds: number
  samples: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  dialsPerEdgePerMinute: number
}

const CONVERGE_LIMIT_MS = 120_000

/**
 * The publisher's link goes down (its packets are dropped: TCP sees nothing),
 * a version is published on its side, and after `partitionMs` the link comes
 * back; each edge's time from the heal to serving that version is measured,
 * with the dials it made meanwhile. Real `dime` processes in network
 * namespaces; needs root.
 */
export async function measureHeal (mesh: NamespaceMesh, partitionMs: number, round: number): Promise<HealRound> {
  const edges = mesh.edgeNodes
  const before = await newest(mesh)
  mesh.link(mesh.publisher, false)
  const dialsAtCut = await Promise.all(edges.map(async edge => await mesh.counter(edge, 'dime_mesh_dials_total', { target: 'bootstrap' })))
  const cutAt = Date.now()
  await mesh.writeFragment(`cut-${partitionMs}-${round}`)
  await new Promise(resolve => setTimeout(resolve, partitionMs))
  const dialsAtHeal = await Promise.all(edges.map(async edge => await mesh.counter(edge, 'dime_mesh_dials_total', { target: 'bootstrap' })))
  const minutes = (Date.now() - cutAt) / 60_000
  mesh.link(mesh.publisher, true)
  const healedAt = Date.now()
  const target = await waitFor('the version published during the partition', async () => {
    const version = await mesh.publishedVersion()
    return version !== undefined && version > before ? version : undefined
  }, CONVERGE_LIMIT_MS, 20)
  const convergedMs = await Promise.all(edges.map(async edge => {
    await waitFor(`${edge.name} to serve ${target}`, async () => (await mesh.servedVersion(edge) ?? 0) >= target ? true : undefined, CONVERGE_LIMIT_MS, 20)
    return Date.now() - healedAt
  }))
  return { partitionMs, convergedMs, dialsPerMinute: edges.map((_, i) => ((dialsAtHeal[i] ?? 0) - (dialsAtCut[i] ?? 0)) / minutes) }
}

export function summarise (rounds: HealRound[]): HealSummary {
  const times = rounds.flatMap(round => round.convergedMs).sort((a, b) => a - b)
  const dials = rounds.flatMap(round => round.dialsPerMinute)
  return {
    partitionMs: rounds[0]?.partitionMs ?? 0,
    rounds: rounds.length,
    samples: times.length,
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    maxMs: times.at(-1) ?? 0,
    dialsPerEdgePerMinute: Math.round(dials.reduce((sum, n) => sum + n, 0) / Math.max(1, dials.length))
  }
}

async function newest (mesh: NamespaceMesh): Promise<number> {
  return await waitFor('a published version', async () => await mesh.publishedVersion(), 30_000, 100)
}
