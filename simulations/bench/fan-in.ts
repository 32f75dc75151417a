import { mean, sum } from './stats.js'
import { scrapeMetric } from '../scrape.js'
import { configWithRouters, routersForSize } from './configs.js'
import { cpuOf, inTempDir, listedAtNewest, sleep, startDimeMesh } from './node-processes.js'
import { latencies, publishRounds, type Latencies } from './process-propagation.js'

/** Time for gossipsub to build its mesh, and for the connections over the publisher's cap to be closed (10 s grace). */
const SETTLE_MS = 20_000
const IDLE_WINDOW_MS = 30_000

/** What one edge costs, and what the publisher holds, in a mesh of `nodes` edge processes. */
export interface FanIn {
  nodes: number
  /** The publisher's open mesh connections once settled, and its cap. */
  publisherConnections: number
  publisherCap: number
  /** Each edge's open mesh connections once settled. */
  edgeConnections: { mean: number, max: number }
  /** Edges the publisher lists, serving the newest version, at the end: its fleet view is complete when it equals `nodes`. */
  listedServingNewest: number
  /** CPU time per edge over an idle window, % of a core: mean and largest. */
  idleCpuPercent: { mean: number, max: number }
  /** CPU time per edge per version (2 KiB config), beyond its idle use, in ms: mean and largest. */
  cpuPerVersionMs: { mean: number, max: number }
  /** The publisher's CPU per version, beyond its idle use, in ms. */
  publisherCpuPerVersionMs: number
  /** From the publisher's "config published" line to each edge's "serving config" line, in ms. */
  latency: Latencies
  /** Reports that reached the publisher by each way, over the rounds, per edge per minute. */
  reportsPerEdgePerMinute: Record<string, number>
  /** Report bytes per edge per minute over the rounds: each edge's own announcements (every way), and what it sent up the relay (its own and those it passed on): mean and largest. */
  reportBytesPerEdgePerMinute: { own: number, relayed: { mean: number, max: number } }
}


/**
 * A publisher and `size` edge processes, each edge bootstrapping to the
 * publisher and a few earlier edges (the benchmarks' dial pattern), with the
 * publisher's default connection cap: what each part costs as the fleet grows.
 */
export async function measureFanIn (size: number, rounds: number): Promise<FanIn> {
  const routers = routersForSize(2048)
  const fragment = (round: number): string => configWithRouters(routers, `v${round}`).fragment
  return await inTempDir('dime-bench-fan-in-', async root => {
    const mesh = await startDimeMesh(root, size, 1, fragment(0))
    try {
      await sleep(SETTLE_MS)
      const admin = String((await mesh.publisher.line('admin endpoint', line => line.msg === 'admin endpoint listening')).url)
      const edgeBase = mesh.configUrls.map(url => url.replace(/\/config$/, ''))
      const connections = await Promise.all(edgeBase.map(async base => await scrapeMetric(base, 'dime_mesh_connections')))
      const all = [mesh.publisher, ...mesh.edges]
      const idleBefore = await cpuOf(all)
      const idleStarted = performance.now()
      await sleep(IDLE_WINDOW_MS)
      const idleSeconds = (performance.now() - idleStarted) / 1000
      const idleAfter = await cpuOf(all)
      const idleRate = idleAfter.map((cpu, i) => (cpu - (idleBefore[i] ?? 0)) / idleSeconds)
      const reportsBefore = await reportsByWay(edgeBase)
      const bytesBefore = await reportBytes(edgeBase)

      const started = performance.now()
      const { samples } = await publishRounds(mesh, rounds, fragment)
      const seconds = (performance.now() - started) / 1000
      const after = await cpuOf(all)
      const perVersionMs = after.map((cpu, i) => (cpu - (idleAfter[i] ?? 0) - (idleRate[i] ?? 0) * seconds) * 1000 / rounds)
      const edgesPerVersion = perVersionMs.slice(1)
      const reportsAfter = await reportsByWay(edgeBase)
      const bytesAfter = await reportBytes(edgeBase)
      const perMinute = (values: number[], before: number[]): number[] => values.map((value, i) => (value - (before[i] ?? 0)) / (seconds / 60))
      const relayedBytes = perMinute(bytesAfter.relayed, bytesBefore.relayed)
      const listedServingNewest = (await listedAtNewest(admin, size, 30_000)).newest
      return {
        nodes: size,
        publisherConnections: await scrapeMetric(admin, 'dime_mesh_connections'),
        publisherCap: await scrapeMetric(admin, 'dime_mesh_max_connections'),
        edgeConnections: { mean: mean(connections), max: Math.max(...connections) },
        listedServingNewest,
        idleCpuPercent: { mean: mean(idleRate.slice(1)) * 100, max: Math.max(...idleRate.slice(1)) * 100 },
        cpuPerVersionMs: { mean: mean(edgesPerVersion), max: Math.max(...edgesPerVersion) },
        publisherCpuPerVersionMs: perVersionMs[0] ?? NaN,
        latency: latencies(samples),
        reportsPerEdgePerMinute: Object.fromEntries(Object.keys(reportsAfter).map(way =>
          [way, ((reportsAfter[way] ?? 0) - (reportsBefore[way] ?? 0)) / size / (seconds / 60)])),
        reportBytesPerEdgePerMinute: { own: mean(perMinute(bytesAfter.own, bytesBefore.own)), relayed: { mean: mean(relayedBytes), max: Math.max(...relayedBytes) } }
      }
    } finally {
      await mesh.stop()
    }
  })
}

async function reportsByWay (bases: string[]): Promise<Record<string, number>> {
  const totals: Record<string, number> = {}
  for (const way of ['direct', 'relayed', 'gossiped']) {
    const each = await Promise.all(bases.map(async base => await scrapeMetric(base, 'dime_status_reports_total', { outcome: way })))
    totals[way] = sum(each)
  }
  return totals
}

/** Each edge's bytes of its own announcements (every way) and of relayed reports it sent upstream. */
async function reportBytes (bases: string[]): Promise<{ own: number[], relayed: number[] }> {
  const own = await Promise.all(bases.map(async base => {
    let sum = 0
    for (const way of ['direct', 'relayed', 'gossiped']) sum += await scrapeMetric(base, 'dime_status_report_bytes_total', { outcome: way })
    return sum
  }))
  const relayed = await Promise.all(bases.map(async base => await scrapeMetric(base, 'dime_relayed_report_bytes_total')))
  return { own, relayed }
}

