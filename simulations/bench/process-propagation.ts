import { configWithRouters, withOneRouterChanged } from './configs.js'
import { type DimeMesh, inTempDir, type LoggedProcess, sleep, startBareMesh, startDimeMesh } from './node-processes.js'
import { percentile } from './stats.js'

const ROUND_GAP_MS = 1000
const ARRIVAL_LIMIT_MS = 30_000
/** Time for gossipsub to build its mesh (a few heartbeats) before the first round. */
const SETTLE_MS = 3000
/** How long an idle mesh is watched for its CPU use: several periods of every timer (beacons every 10 s). */
const IDLE_WINDOW_MS = 30_000

export interface Latencies { p50: number, p99: number, max: number, samples: number }

/** What a mesh of processes costs when nothing happens, per edge process. */
export interface IdleCost {
  /** CPU time per edge over the idle window, as a percentage of one core: mean and largest. */
  cpuPercent: { mean: number, max: number }
  rssMb: { p50: number, max: number }
}

export interface ProcessPropagation {
  nodes: number
  routers: number
  edit: 'every router' | 'one router'
  /** From the publisher's "config published" line to each edge's "serving config" line, in ms. */
  latency: Latencies
  /** From writing the fragment (its watcher waits for 100 ms of quiet) to each edge's "serving config" line, in ms. */
  fromEdit: Latencies
  /** Measured before the first edit, when `idle` is asked for. */
  idle?: IdleCost
  publisherRssMb: number
  /** The publisher's resident memory at the end of the idle window, when `idle` is asked for. */
  publisherIdleRssMb?: number
  /** Edges' resident memory once the last version is served, in MiB. */
  edgeRssMb: { p50: number, max: number }
}

export interface RawPropagation {
  nodes: number
  bytes: number
  latency: Latencies
  idle?: IdleCost
}

export function latencies (samples: number[]): Latencies {
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples), samples: samples.length }
}


/**
 * A publisher and `size` edges, each a `dime` process on loopback; `rounds`
 * edits of the fragment one second apart. Each edge's delay for each version
 * is one sample.
 */
export async function measureDimePropagation (size: number, routers: number, rounds: number, edit: ProcessPropagation['edit'], options: { idle?: boolean, seed?: number } = {}): Promise<ProcessPropagation> {
  const fragment = (round: number): string => edit === 'every router' ? configWithRouters(routers, `v${round}`).fragment : withOneRouterChanged(routers, 'v0', `edit-${round}`).fragment
  return await inTempDir('dime-bench-processes-', async root => {
    const mesh = await startDimeMesh(root, size, options.seed ?? 1, fragment(0))
    try {
      await sleep(SETTLE_MS)
      const idle = options.idle === true ? await idleCost(mesh.edges) : undefined
      const publisherIdleRssMb = idle !== undefined ? await mesh.publisher.rssMb() : undefined
      const { samples, fromEdit } = await publishRounds(mesh, rounds, fragment)
      return { nodes: size, routers, edit, latency: latencies(samples), fromEdit: latencies(fromEdit), ...(idle !== undefined ? { idle } : {}), ...(publisherIdleRssMb !== undefined ? { publisherIdleRssMb } : {}), publisherRssMb: await mesh.publisher.rssMb(), edgeRssMb: await rssOf(mesh.edges) }
    } finally {
      await mesh.stop()
    }
  })
}

/**
 * `rounds` edits of the fragment, a second apart, each waited for on every
 * edge: per edge and version, the delay from the publisher's "config
 * published" line (samples) and from writing the fragment (fromEdit).
 */
export async function publishRounds (mesh: DimeMesh, rounds: number, fragment: (round: number) => string): Promise<{ samples: number[], fromEdit: number[] }> {
  const samples: number[] = []
  const fromEdit: number[] = []
  let last = Number((await mesh.publisher.line('a version', line => line.msg === 'config published')).version)
  for (let round = 1; round <= rounds; round++) {
    const began = Date.now()
    await mesh.writeFragment(fragment(round))
    const published = await mesh.publisher.line(`a version above ${last}`, line => line.msg === 'config published' && Number(line.version) > last)
    last = Number(published.version)
    const served = await Promise.all(mesh.edges.map(async edge => await servedLine(edge, last)))
    samples.push(...served.map(line => Number(line.time) - Number(published.time)))
    fromEdit.push(...served.map(line => Number(line.time) - began))
    await sleep(ROUND_GAP_MS - (Date.now() - began))
  }
  return { samples, fromEdit }
}

async function servedLine (edge: LoggedProcess, version: number): Promise<Record<string, unknown>> {
  return await edge.line(`serving version ${version}`, line => line.msg === 'serving config' && line.version === version, ARRIVAL_LIMIT_MS)
}

/** The baseline: bare libp2p processes in the same dial pattern, node 0 publishing `bytes`-byte messages on a gossipsub topic. */
export async function measureRawPropagation (size: number, bytes: number, rounds: number, options: { idle?: boolean, seed?: number } = {}): Promise<RawPropagation> {
  return await inTempDir('dime-bench-bare-', async root => {
    const mesh = await startBareMesh(root, size, options.seed ?? 1)
    try {
      await sleep(SETTLE_MS)
      const idle = options.idle === true ? await idleCost(mesh.edges) : undefined
      const publisher = mesh.nodes[0] as LoggedProcess
      const samples: number[] = []
      for (let round = 1; round <= rounds; round++) {
        const began = Date.now()
        publisher.child.stdin?.write(`publish ${round} ${bytes}\n`)
        const published = await publisher.line(`published ${round}`, line => line.msg === 'published' && line.seq === round)
        const received = await Promise.all(mesh.edges.map(async node => await node.line(`message ${round}`, line => line.msg === 'received' && line.seq === round, ARRIVAL_LIMIT_MS)))
        samples.push(...received.map(line => Number(line.time) - Number(published.time)))
        await sleep(ROUND_GAP_MS - (Date.now() - began))
      }
      return { nodes: size, bytes, latency: latencies(samples), ...(idle !== undefined ? { idle } : {}) }
    } finally {
      await mesh.stop()
    }
  })
}

async function rssOf (nodes: LoggedProcess[]): Promise<{ p50: number, max: number }> {
  const rss = await Promise.all(nodes.map(async node => await node.rssMb()))
  return { p50: percentile(rss, 50), max: Math.max(...rss) }
}

/** CPU and memory of each edge over a window in which nothing is published. */
async function idleCost (edges: LoggedProcess[]): Promise<IdleCost> {
  const before = await Promise.all(edges.map(async edge => await edge.cpuSeconds()))
  const started = performance.now()
  await sleep(IDLE_WINDOW_MS)
  const after = await Promise.all(edges.map(async edge => await edge.cpuSeconds()))
  const seconds = (performance.now() - started) / 1000
  const percents = after.map((cpu, i) => (cpu - (before[i] ?? 0)) / seconds * 100)
  return { cpuPercent: { mean: percents.reduce((sum, p) => sum + p, 0) / percents.length, max: Math.max(...percents) }, rssMb: await rssOf(edges) }
}
