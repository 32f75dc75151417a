import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { scrapeMetric } from '../scrape.js'
import { configWithRouters, routersForSize } from './configs.js'
import type { EdgeHostSetup } from './edge-host.js'
import { bundledScript, cpuOf, inTempDir, listedAtNewest, spawnNode, startPublisherProcess, type LoggedProcess } from './node-processes.js'
import { latencies, type Latencies } from './process-propagation.js'
import { mean, percentile, sum } from './stats.js'

const MESH = 'bench'
/** Between two edges' starts on one host: with 4 hosts, 80 edges a second knock on the publisher. */
const START_GAP_MS = 50
const JOIN_LIMIT_MS = 1_200_000
/** For the connections over the publisher's cap to be closed (10 s grace) and gossipsub's mesh to settle. */
const SETTLE_MS = 60_000
const IDLE_WINDOW_MS = 60_000
const ARRIVAL_LIMIT_MS = 300_000
const ROUND_GAP_MS = 2000

/** What a fleet of `edges` real edges (the edge code, several to a process) and one publisher process cost. */
export interface Fleet {
  edges: number
  hosts: number
  /** The publisher's open mesh connections once settled, and its cap. */
  publisherConnections: number
  publisherCap: number
  /** Each edge's open mesh connections once settled. */
  edgeConnections: { mean: number, p99: number, max: number }
  /** Edges the publisher's /status lists at its newest version at the end, and edges it names as missing. */
  listedServingNewest: number
  listedMissing: number
  /** Per edge: CPU over the idle windows before and after the rounds in % of a core, memory in MiB (its host's, shared out). */
  idleCpuPercentPerEdge: Idle
  rssMbPerEdge: number
  /** CPU per version (2 KiB config) per edge beyond idle, in ms, and the publisher's. */
  cpuPerVersionMsPerEdge: number
  publisherCpuPerVersionMs: number
  publisherIdleCpuPercent: Idle
  /** Connections the publisher let in over its cap and closed, a minute, in each idle window: edges knocking. */
  knocksPerMinute: Idle
  publisherRssMb: number
  /** Bytes on loopback per version beyond idle (every node's TCP traffic, counted once), per edge; and idle, per edge per minute. */
  loopbackBytesPerVersionPerEdge: number
  idleLoopbackBytesPerEdgePerMinute: Idle
  /** From the publisher's "config published" line to each edge's first serving of the version. */
  latency: Latencies
}

/** A figure of the idle windows before and after the rounds. */
export interface Idle { before: number, after: number }

/**
 * A `dime publisher` process and `edges` edges spread over `hosts` processes,
 * every edge bootstrapping to the publisher alone (as if an Ansible inventory
 * named only it), started together: what the real protocol code does at a
 * size this machine cannot hold as one process per edge. Edges sharing a
 * process share its event loop, so their times are upper bounds of one edge
 * on its own machine; connections, bytes and the publisher's view are not
 * affected.
 */
export async function measureFleet (edges: number, hosts: number, rounds: number): Promise<Fleet> {
  const routers = routersForSize(2048)
  const fragment = (round: number): string => configWithRouters(routers, `v${round}`).fragment
  return await inTempDir('dime-bench-fleet-', async root => {
    const publisher = await startPublisherProcess(root, fragment(0), { logLevel: 'info' })
    const script = await bundledScript('edge-host')
    const perHost = Math.ceil(edges / hosts)
    const hostProcesses: LoggedProcess[] = []
    try {
      for (let h = 0; h < hosts; h++) {
        const setup: EdgeHostSetup = { first: h * perHost, count: Math.min(perHost, edges - h * perHost), root, mesh: MESH, swarmKeyFile: publisher.swarmKeyFile, trustFile: publisher.trustFile, bootstrap: [publisher.address], startGapMs: START_GAP_MS }
        // The young generation an edge process runs with (2 MiB) is sized for one edge, not hundreds.
        hostProcesses.push(spawnNode(`edges-${h}`, ['--max-semi-space-size=32', '--max-old-space-size=8192', script, JSON.stringify(setup)]))
      }
      await Promise.all(hostProcesses.map(async host => await host.line('all edges started', line => line.msg === 'started', JOIN_LIMIT_MS)))
      const first = Number((await publisher.process.line('a published config', line => line.msg === 'config published')).version)
      await servedEverywhere(hostProcesses, edges, first, JOIN_LIMIT_MS)
      await sleep(SETTLE_MS)

      const admin = String((await publisher.process.line('admin endpoint', line => line.msg === 'admin endpoint listening')).url)
      const connections = (await stats(hostProcesses)).flatMap(host => host.edges.map(edge => edge.connections))
      const all = [publisher.process, ...hostProcesses]
      const idleBefore = await idleWindow(all, admin)

      const cpuBefore = await cpuOf(all)
      const loopbackBefore = await loopbackBytes()
      const started = performance.now()
      const samples: number[] = []
      let last = first
      for (let round = 1; round <= rounds; round++) {
        const began = Date.now()
        await publisher.writeFragment(fragment(round))
        const published = await publisher.process.line(`a version above ${last}`, line => line.msg === 'config published' && Number(line.version) > last)
        last = Number(published.version)
        const served = await servedEverywhere(hostProcesses, edges, last, ARRIVAL_LIMIT_MS)
        samples.push(...served.map(time => time - Number(published.time)))
        await sleep(ROUND_GAP_MS - (Date.now() - began))
      }
      const seconds = (performance.now() - started) / 1000
      const loopbackDuring = await loopbackBytes() - loopbackBefore
      const cpuDuring = (await cpuOf(all)).map((cpu, i) => cpu - (cpuBefore[i] ?? 0))
      // Idle work still settles (edges over the cap knock less and less often): the rounds are
      // measured against the mean of the idle windows either side of them.
      const idleAfter = await idleWindow(all, admin)
      const idle = { cpuRates: idleBefore.cpuRates.map((rate, i) => (rate + (idleAfter.cpuRates[i] ?? 0)) / 2), loopbackRate: (idleBefore.loopbackRate + idleAfter.loopbackRate) / 2 }
      const perVersionMs = cpuDuring.map((cpu, i) => (cpu - (idle.cpuRates[i] ?? 0) * seconds) * 1000 / rounds)
      const loopbackPerVersion = (loopbackDuring - idle.loopbackRate * seconds) / rounds
      const listed = await listedAtNewest(admin, edges, 60_000)
      const hostStats = await stats(hostProcesses)
      return {
        edges,
        hosts,
        publisherConnections: await scrapeMetric(admin, 'dime_mesh_connections'),
        publisherCap: await scrapeMetric(admin, 'dime_mesh_max_connections'),
        edgeConnections: { mean: mean(connections), p99: percentile(connections, 99), max: Math.max(...connections) },
        listedServingNewest: listed.newest,
        listedMissing: listed.missing,
        idleCpuPercentPerEdge: { before: sum(idleBefore.cpuRates.slice(1)) / edges * 100, after: sum(idleAfter.cpuRates.slice(1)) / edges * 100 },
        rssMbPerEdge: sum(hostStats.map(host => host.rssMb)) / edges,
        cpuPerVersionMsPerEdge: sum(perVersionMs.slice(1)) / edges,
        publisherCpuPerVersionMs: perVersionMs[0] ?? NaN,
        publisherIdleCpuPercent: { before: (idleBefore.cpuRates[0] ?? NaN) * 100, after: (idleAfter.cpuRates[0] ?? NaN) * 100 },
        knocksPerMinute: { before: idleBefore.shedPerMinute, after: idleAfter.shedPerMinute },
        publisherRssMb: await publisher.process.rssMb(),
        loopbackBytesPerVersionPerEdge: loopbackPerVersion / edges,
        idleLoopbackBytesPerEdgePerMinute: { before: idleBefore.loopbackRate * 60 / edges, after: idleAfter.loopbackRate * 60 / edges },
        latency: latencies(samples)
      }
    } finally {
      await Promise.all([publisher.process, ...hostProcesses].map(async node => { await node.stop() }))
    }
  })
}

/** When each edge first served `version` (ms since the epoch); throws unless all do within the limit. */
async function servedEverywhere (hosts: LoggedProcess[], edges: number, version: number, limitMs: number): Promise<number[]> {
  const deadline = Date.now() + limitMs
  for (;;) {
    const first = new Map<number, number>()
    for (const host of hosts) {
      for (const line of host.lines) {
        if (line.msg === 'served' && line.version === version && !first.has(Number(line.edge))) first.set(Number(line.edge), Number(line.time))
      }
    }
    if (first.size >= edges) return [...first.values()]
    if (Date.now() > deadline) throw new Error(`${first.size} of ${edges} edges served version ${version} within ${limitMs} ms`)
    await sleep(250)
  }
}

interface HostStats { edges: Array<{ connections: number, knownPeers: number, version: number | null }>, rssMb: number }

async function stats (hosts: LoggedProcess[]): Promise<HostStats[]> {
  return await Promise.all(hosts.map(async host => {
    const asked = host.lines.length
    host.child.stdin?.write('stats\n')
    return await host.line('stats', line => line.msg === 'stats' && host.lines.indexOf(line) >= asked) as unknown as HostStats
  }))
}

/** Over a window in which nothing is published: each process's CPU rate (cores), loopback bytes a second, connections the publisher shed a minute. */
async function idleWindow (nodes: LoggedProcess[], admin: string): Promise<{ cpuRates: number[], loopbackRate: number, shedPerMinute: number }> {
  const cpuBefore = await cpuOf(nodes)
  const loopbackBefore = await loopbackBytes()
  const shedBefore = await scrapeMetric(admin, 'dime_mesh_connections_shed_total')
  const started = performance.now()
  await sleep(IDLE_WINDOW_MS)
  const seconds = (performance.now() - started) / 1000
  const cpuAfter = await cpuOf(nodes)
  return {
    cpuRates: cpuAfter.map((cpu, i) => (cpu - (cpuBefore[i] ?? 0)) / seconds),
    loopbackRate: (await loopbackBytes() - loopbackBefore) / seconds,
    shedPerMinute: (await scrapeMetric(admin, 'dime_mesh_connections_shed_total') - shedBefore) / seconds * 60
  }
}

/** Bytes sent on the loopback interface so far. */
async function loopbackBytes (): Promise<number> {
  const line = (await readFile(join('/proc', 'net', 'dev'), 'utf8')).split('\n').find(l => l.trim().startsWith('lo:')) ?? ''
  // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit bytes.
  return Number(line.split(':')[1]?.trim().split(/\s+/)[8] ?? NaN)
}
