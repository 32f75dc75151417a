// npm run bench [-- processes]: every figure beside a baseline measured in the same run, as a ratio.
// `processes [EDGES…]` runs only the all-processes part: every node its own process, against bare libp2p processes.
// `rollouts` runs only the rollout part (issue 26): edit → first wave, promotion → next wave, verdict → rollback.
// `fan-in [EDGES…]` runs only the fleet-size part (issue 28): what each edge and the publisher cost as the fleet grows.
// `fleet [EDGES…]` runs the real edge code at fleet sizes (50, 100, 200 by default: the most this machine's 2 cores carry), 50 edges to a process, against one publisher process.
// `edge-cpu [ROUTERS…]` runs only the large-version part (issue 28): CPU per version on one edge process, beside inflating, hashing and writing the same bodies alone.
// `fleet-model [EDGES…]` models fleets too large for processes here (1,000 and 10,000 edges by default), from one hop measured on processes, checked against processes at 20 edges.
import { execFileSync } from 'node:child_process'
import { commandExists } from '../cli/processes.js'
import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { measureApiLoad } from './bench/api-load.js'
import { measureBurst } from './bench/burst.js'
import { measureBytesPerVersion } from './bench/bytes-per-version.js'
import { measureEdgeCpu } from './bench/edge-cpu.js'
import { measureFanIn } from './bench/fan-in.js'
import { measureFleet } from './bench/fleet-hosts.js'
import { runFleetModel } from './bench/fleet-model.js'
import { namespacesUnavailable } from './netns.js'
import { configWithRouters, routersForSize } from './bench/configs.js'
import { measurePropagation } from './bench/propagation.js'
import { measureDimePropagation, measureRawPropagation, type IdleCost } from './bench/process-propagation.js'
import { measureStartTimes } from './bench/process-start.js'
import { measureRolloutPropagation } from './bench/rollout-propagation.js'
import { edgeProcess, nginxServing, wrk } from './bench/serving.js'
import { percentile, round } from './bench/stats.js'

/** nginx and wrk come from Debian's packages; installed here when missing and allowed. */
function ensureTools (): void {
  const missing = [['nginx', 'nginx-light'], ['wrk', 'wrk']].filter(([command]) => !commandExists(command ?? ''))
  if (missing.length === 0) return
  if (process.getuid?.() !== 0) throw new Error(`install ${missing.map(([, pkg]) => pkg).join(' and ')} first (apt-get install), or run as root`)
  process.stdout.write(`installing ${missing.map(([, pkg]) => pkg).join(', ')} from Debian's packages…\n`)
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore' })
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing.map(([, pkg]) => pkg ?? '')], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
}

const rows: string[][] = []
function row (...cells: Array<string | number>): void {
  rows.push(cells.map(String))
  process.stdout.write(`${cells.join(' | ')}\n`)
}

const ratio = (ours: number, baseline: number, digits = 2): string => `×${round(ours / baseline, digits)}`
const idleCpu = (idle: IdleCost | undefined): string => `${round(idle?.cpuPercent.mean ?? NaN, 2)} % of a core (largest ${round(idle?.cpuPercent.max ?? NaN, 2)} %)`

/**
 * Every node its own process (issues 14 and 15): propagation, idle cost, memory and start-up, each against bare libp2p processes.
 * Given mesh sizes (`npm run bench -- processes 5 20`), only the 2 KiB propagation at those sizes.
 */
async function processes (sizes: number[] = []): Promise<Record<string, unknown>> {
  const small = routersForSize(2048)
  const meshes = []
  for (const nodes of sizes.length > 0 ? sizes : [5, 20, 50]) {
    const idle = nodes >= 20
    const raw = await measureRawPropagation(nodes, 2048, 20, { idle })
    const ours = await measureDimePropagation(nodes, small, 20, 'every router', { idle })
    meshes.push({ raw, ours })
    row(`publish → served, ${nodes} edge processes, 2 KiB config (20 edits, 1 s apart)`, `p50 ${round(ours.latency.p50)} ms / p99 ${round(ours.latency.p99)} ms`,
      `raw gossipsub, 2 KiB messages: p50 ${round(raw.latency.p50, 1)} ms / p99 ${round(raw.latency.p99, 1)} ms`, `${ratio(ours.latency.p50, raw.latency.p50)} / ${ratio(ours.latency.p99, raw.latency.p99)}`)
    if (idle) {
      row(`idle CPU per edge, ${nodes} edge processes`, idleCpu(ours.idle), `bare libp2p: ${idleCpu(raw.idle)}`, ratio(ours.idle?.cpuPercent.mean ?? NaN, raw.idle?.cpuPercent.mean ?? NaN))
      row(`idle edge RSS, ${nodes} edge processes, 2 KiB config`, `p50 ${round(ours.idle?.rssMb.p50 ?? NaN)} MiB, max ${round(ours.idle?.rssMb.max ?? NaN)} MiB`,
        `bare libp2p: p50 ${round(raw.idle?.rssMb.p50 ?? NaN)} MiB`, ratio(ours.idle?.rssMb.p50 ?? NaN, raw.idle?.rssMb.p50 ?? NaN))
      row(`publisher RSS, ${nodes} edges`, `idle ${round(ours.publisherIdleRssMb ?? NaN)} MiB; after 20 edits ${round(ours.publisherRssMb)} MiB`, 'target idle ≤ 100 MiB', '')
    }
  }
  if (sizes.length > 0) return { meshes }
  const bareIdle = meshes.at(-1)?.raw.idle
  const large = await measureDimePropagation(50, 10_000, 5, 'every router', { idle: true })
  row('publish → served, 50 edge processes, 10,000 routers (every router changed, 5 edits)', `p50 ${round(large.latency.p50)} ms / p99 ${round(large.latency.p99)} ms`, 'target p99 ≤ 1,000 ms', '')
  row('idle edge RSS, 50 edge processes, 10,000 routers', `p50 ${round(large.idle?.rssMb.p50 ?? NaN)} MiB`, `bare libp2p: p50 ${round(bareIdle?.rssMb.p50 ?? NaN)} MiB`, ratio(large.idle?.rssMb.p50 ?? NaN, bareIdle?.rssMb.p50 ?? NaN))
  const huge = await measureDimePropagation(5, 30_000, 5, 'one router')
  row('30,000 routers, a one-router edit, 5 edge processes (5 edits)', `served by all: p50 ${round(huge.latency.p50)} ms / max ${round(huge.latency.max)} ms; edge RSS max ${round(huge.edgeRssMb.max)} MiB`, 'targets ≤ 1,000 ms, ≤ 150 MiB', '')

  const start = await measureStartTimes(10, [small, 10_000])
  row('`dime --help` (10 runs)', `p50 ${round(start.help.p50)} ms (${round(start.help.min)}–${round(start.help.max)})`, `node -e 0: p50 ${round(start.nodeNothing.p50)} ms`, ratio(start.help.p50, start.nodeNothing.p50))
  for (const edge of start.edgeFirst200) {
    row(`edge restart → first 200 from its persisted config, ${edge.routers} routers, publisher down (10 runs)`, `p50 ${round(edge.ms.p50)} ms (${round(edge.ms.min)}–${round(edge.ms.max)})`,
      `node -e 0: ${round(start.nodeNothing.p50)} ms; bare libp2p node listening: ${round(start.bareLibp2p.p50)} ms`, ratio(edge.ms.p50, start.bareLibp2p.p50))
  }
  return { meshes, large, huge, start }
}

/**
 * Rollouts in waves, every node its own process: an edit reaching the first
 * wave against an edit reaching every edge without a policy; a promotion
 * (a signed head, no body) against raw gossipsub of a head-sized message;
 * a failed verdict to the rollback served on every edge that took the version.
 */
function counts (args: string[], usage: string): number[] {
  return args.map(count => {
    if (!/^[1-9]\d*$/.test(count)) throw new Error(`"${count}" is not a positive whole number: npm run bench -- ${usage}`)
    return Number(count)
  })
}

/**
 * As the fleet grows (issue 28): the publisher's connections against its cap,
 * each edge's connections, idle CPU and CPU per version, publish → served, the
 * reports' ways; beside bare libp2p processes in the same dial pattern.
 */
async function fanIn (sizes: number[]): Promise<Record<string, unknown>> {
  const results = []
  for (const nodes of sizes.length > 0 ? sizes : [5, 20, 50, 100]) {
    const ours = await measureFanIn(nodes, 10)
    const raw = await measureRawPropagation(nodes, 2048, 10, { idle: true })
    results.push({ ours, raw })
    row(`${nodes} edge processes: connections`, `publisher ${ours.publisherConnections} (cap ${ours.publisherCap}); per edge mean ${round(ours.edgeConnections.mean, 1)}, max ${ours.edgeConnections.max}`, '', '')
    row(`${nodes} edge processes: idle CPU per edge`, `${round(ours.idleCpuPercent.mean, 2)} % of a core (largest ${round(ours.idleCpuPercent.max, 2)} %)`,
      `bare libp2p: ${idleCpu(raw.idle)}`, ratio(ours.idleCpuPercent.mean, raw.idle?.cpuPercent.mean ?? NaN))
    row(`${nodes} edge processes: CPU per version (2 KiB)`, `per edge mean ${round(ours.cpuPerVersionMs.mean, 1)} ms, max ${round(ours.cpuPerVersionMs.max, 1)} ms; publisher ${round(ours.publisherCpuPerVersionMs, 1)} ms`, '', '')
    row(`${nodes} edge processes: publish → served`, `p50 ${round(ours.latency.p50)} ms / p99 ${round(ours.latency.p99)} ms`,
      `raw gossipsub, 2 KiB: p50 ${round(raw.latency.p50)} ms / p99 ${round(raw.latency.p99)} ms`, `${ratio(ours.latency.p50, raw.latency.p50)} / ${ratio(ours.latency.p99, raw.latency.p99)}`)
    row(`${nodes} edge processes: the publisher's fleet view`, `${ours.listedServingNewest} of ${nodes} edges listed serving the newest version; reports per edge per minute ${Object.entries(ours.reportsPerEdgePerMinute).map(([way, n]) => `${way} ${round(n, 1)}`).join(', ')}`, '', '')
    const bytes = ours.reportBytesPerEdgePerMinute
    row(`${nodes} edge processes: report bytes per edge per minute (a version a second)`, `own ${round(bytes.own)} B; sent up the relay mean ${round(bytes.relayed.mean)} B, largest ${round(bytes.relayed.max)} B`, '', '')
  }
  return { results }
}

/** Edges to a process: their idle work fills about half of its event loop. */
const EDGES_PER_HOST = 50

/**
 * The real edge code at sizes one process per edge cannot reach here: each
 * per-edge figure beside the smallest fleet's in the same run (flat is ×1).
 */
async function fleet (sizes: number[]): Promise<Record<string, unknown>> {
  const results = []
  for (const edges of sizes.length > 0 ? sizes : [50, 100, 200]) {
    results.push(await measureFleet(edges, Math.ceil(edges / EDGES_PER_HOST), 20))
  }
  const base = results[0]
  if (base === undefined) return { results }
  for (const r of results) {
    const where = `${r.edges} edges in ${r.hosts} processes`
    row(`${where}: connections`, `publisher ${r.publisherConnections} (cap ${r.publisherCap}); per edge mean ${round(r.edgeConnections.mean, 1)}, p99 ${r.edgeConnections.p99}, max ${r.edgeConnections.max}`, `${base.edges} edges: mean ${round(base.edgeConnections.mean, 1)}`, ratio(r.edgeConnections.mean, base.edgeConnections.mean))
    row(`${where}: the publisher's fleet view`, `${r.listedServingNewest} of ${r.edges} listed serving the newest version, ${r.listedMissing} missing`, '', '')
    row(`${where}: bytes on loopback per version (2 KiB) per edge, beyond idle`, `${round(r.loopbackBytesPerVersionPerEdge / 1024, 1)} KiB`, `${base.edges} edges: ${round(base.loopbackBytesPerVersionPerEdge / 1024, 1)} KiB`, ratio(r.loopbackBytesPerVersionPerEdge, base.loopbackBytesPerVersionPerEdge))
    row(`${where}: bytes on loopback per edge per minute, idle (before / after the rounds)`, `${round(r.idleLoopbackBytesPerEdgePerMinute.before / 1024, 1)} / ${round(r.idleLoopbackBytesPerEdgePerMinute.after / 1024, 1)} KiB`, `${base.edges} edges: ${round(base.idleLoopbackBytesPerEdgePerMinute.after / 1024, 1)} KiB after`, ratio(r.idleLoopbackBytesPerEdgePerMinute.after, base.idleLoopbackBytesPerEdgePerMinute.after))
    row(`${where}: CPU per version per edge (edges sharing a process)`, `${round(r.cpuPerVersionMsPerEdge, 1)} ms; publisher ${round(r.publisherCpuPerVersionMs)} ms`, `${base.edges} edges: ${round(base.cpuPerVersionMsPerEdge, 1)} ms; publisher ${round(base.publisherCpuPerVersionMs)} ms`, ratio(r.cpuPerVersionMsPerEdge, base.cpuPerVersionMsPerEdge))
    row(`${where}: idle CPU per edge, edges sharing a process (before / after the rounds)`, `${round(r.idleCpuPercentPerEdge.before, 2)} / ${round(r.idleCpuPercentPerEdge.after, 2)} % of a core; publisher ${round(r.publisherIdleCpuPercent.before, 1)} / ${round(r.publisherIdleCpuPercent.after, 1)} %, ${round(r.knocksPerMinute.before, 1)} / ${round(r.knocksPerMinute.after, 1)} edges knocking over its cap a minute`, `${base.edges} edges: ${round(base.idleCpuPercentPerEdge.after, 2)} % after`, ratio(r.idleCpuPercentPerEdge.after, base.idleCpuPercentPerEdge.after))
    row(`${where}: memory per edge`, `${round(r.rssMbPerEdge, 1)} MiB; publisher ${round(r.publisherRssMb)} MiB`, `${base.edges} edges: ${round(base.rssMbPerEdge, 1)} MiB; publisher ${round(base.publisherRssMb)} MiB`, ratio(r.rssMbPerEdge, base.rssMbPerEdge))
    row(`${where}: publish → served (2 cores for all)`, `p50 ${round(r.latency.p50)} / p99 ${round(r.latency.p99)} ms`, `${base.edges} edges: p50 ${round(base.latency.p50)} / p99 ${round(base.latency.p99)} ms`, ratio(r.latency.p99, base.latency.p99))
  }
  return { results }
}

async function fleetModel (sizes: number[]): Promise<Record<string, unknown>> {
  const run = await runFleetModel(20, sizes.length > 0 ? sizes : [20, 50, 100, 1000, 10_000])
  row('one hop, measured (publisher → one edge process, 2 KiB, 40 versions)', `p50 ${round(percentile(run.hopDelaysMs, 50))} ms / p99 ${round(percentile(run.hopDelaysMs, 99))} ms`, 'what each modelled hop draws from', '')
  const { processes, model } = run.calibration
  row(`calibration, ${processes.nodes} edges: connections per edge, mean / max`, `model ${round(model.edgeConnections.mean, 1)} / ${model.edgeConnections.max}`, `processes ${round(processes.edgeConnections.mean, 1)} / ${processes.edgeConnections.max}`, ratio(model.edgeConnections.mean, processes.edgeConnections.mean))
  row(`calibration, ${processes.nodes} edges: publish → served`, `model p50 ${round(model.publishToServedMs.p50)} / p99 ${round(model.publishToServedMs.p99)} ms`,
    `processes p50 ${round(processes.latency.p50)} / p99 ${round(processes.latency.p99)} ms (${processes.nodes + 1} processes on this machine's cores; the model's edges queue for as many, ${round(run.calibration.cpuBeforeServingMs, 1)} ms each before serving, fitted to the p50, of the ${round(processes.cpuPerVersionMs.mean, 1)} ms of CPU each spends per version)`, `${ratio(model.publishToServedMs.p50, processes.latency.p50)} / ${ratio(model.publishToServedMs.p99, processes.latency.p99)}`)
  for (const result of run.models) {
    row(`model, ${result.edges} edges, each on its own machine`, `publisher ${result.publisherConnections} connections (flood publish: a send to each per version); per edge ${round(result.edgeConnections.mean, 1)} connections (max ${result.edgeConnections.max}), ${round(result.copiesPerEdge.mean, 1)} copies of a version (max ${result.copiesPerEdge.max})`,
      `hops p50 ${result.hops.p50} / p99 ${result.hops.p99} / max ${result.hops.max}; publish → served p50 ${round(result.publishToServedMs.p50)} / p99 ${round(result.publishToServedMs.p99)} ms`,
      `reports relayed per own report: mean ${round(result.relayedPerOwnReport.mean, 1)}, busiest edge ${result.relayedPerOwnReport.max}`)
  }
  return { ...run }
}

/** CPU per version on one edge process for large versions (issue 28: ≤ 10 ms at 10,000 routers), beside the work no edge can skip. */
async function edgeCpu (routerCounts: number[]): Promise<Record<string, unknown>> {
  const runs = []
  for (const routers of routerCounts.length > 0 ? routerCounts : [10_000]) {
    const run = await measureEdgeCpu(routers, 40)
    runs.push(run)
    row(`CPU per version on one edge process, ${routers} routers, every router changed (${run.versions} versions)`, `${round(run.edgeMsPerVersion, 1)} ms`,
      `inflating, hashing and writing (fsync) the same bodies alone: ${round(run.floorMsPerVersion, 1)} ms`, ratio(run.edgeMsPerVersion, run.floorMsPerVersion))
  }
  return { runs }
}

async function rollouts (): Promise<Record<string, unknown>> {
  const edges = 20
  const rounds = 10
  const small = routersForSize(2048)
  const raw = await measureRawPropagation(edges, 2048, rounds)
  const today = await measureDimePropagation(edges, small, rounds, 'every router')
  const waves = await measureRolloutPropagation(edges, 2, 8, rounds, small)
  const pair = (l: { p50: number, p99: number }): string => `p50 ${round(l.p50)} ms / p99 ${round(l.p99)} ms`
  row(`fragment written → first wave served (${waves.waves[0]} of ${edges} edge processes, 2 KiB config, ${rounds} edits)`, pair(waves.editToFirstWave),
    `without a policy, fragment written → every edge served: ${pair(today.fromEdit)}`, `${ratio(waves.editToFirstWave.p50, today.fromEdit.p50)} / ${ratio(waves.editToFirstWave.p99, today.fromEdit.p99)}`)
  row(`promotion → next wave served (${waves.waves[1]} edge processes: a signed head, no body)`, pair(waves.promotionToWave),
    `raw gossipsub, 2 KiB messages, ${edges} processes: ${pair(raw.latency)}`, `${ratio(waves.promotionToWave.p50, raw.latency.p50)} / ${ratio(waves.promotionToWave.p99, raw.latency.p99)} (target p99 ≤ ×1.5)`)
  row(`failed verdict → rollback served on every edge that took it (${waves.waves[0] + waves.waves[1]} edge processes)`, pair(waves.verdictToRollback), 'target p99 ≤ 2,000 ms', '')
  return { raw, today, waves }
}

async function main (): Promise<void> {
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${round(totalmem() / 2 ** 30)} GiB, Node.js ${process.version}`
  process.stdout.write(`machine: ${machine}\n\n`)
  const results: Record<string, unknown> = { machine }
  if (process.argv[2] === 'rollouts') {
    results.rollouts = await rollouts()
    await report(results, 'bench-rollouts.json')
    return
  }
  if (process.argv[2] === 'fleet') {
    results.fleet = await fleet(counts(process.argv.slice(3), 'fleet [EDGES…]'))
    await report(results, 'bench-fleet.json')
    return
  }
  if (process.argv[2] === 'edge-cpu') {
    results.edgeCpu = await edgeCpu(counts(process.argv.slice(3), 'edge-cpu [ROUTERS…]'))
    await report(results, 'bench-edge-cpu.json')
    return
  }
  if (process.argv[2] === 'fleet-model') {
    results.fleetModel = await fleetModel(counts(process.argv.slice(3), 'fleet-model [EDGES…]'))
    await report(results, 'bench-fleet-model.json')
    return
  }
  if (process.argv[2] === 'fan-in') {
    results.fanIn = await fanIn(counts(process.argv.slice(3), 'fan-in [EDGES…]'))
    await report(results, 'bench-fan-in.json')
    return
  }
  if (process.argv[2] === 'processes') {
    results.processes = await processes(counts(process.argv.slice(3), 'processes [EDGES…]'))
    await report(results, 'bench-processes.json')
    return
  }
  ensureTools()

  const small = routersForSize(2048)
  const propagation = []
  for (const [edges, routers, rounds] of [[10, small, 10], [50, small, 5], [10, 10_000, 3], [50, 10_000, 3]] as const) {
    const r = await measurePropagation(edges, routers, rounds)
    propagation.push(r)
    row(`propagation, ${edges} edges, ${routers} routers (${round(r.bodyBytes / 1024, 1)} KiB, compressed ${round(r.compressedBytes / 1024, 1)} KiB)`,
      `p50 ${round(r.ours.p50)} ms / p99 ${round(r.ours.p99)} ms`,
      `whole body gossiped: p50 ${round(r.raw.p50)} ms / p99 ${round(r.raw.p99)} ms`,
      `×${round(r.ours.p50 / r.raw.p50, 2)} / ×${round(r.ours.p99 / r.raw.p99, 2)}`)
  }
  results.propagation = propagation

  const edge = await edgeProcess(small, async url => await wrk(url))
  const nginx = await nginxServing(configWithRouters(small, 'bench').bytes, async url => await wrk(url))
  row('GET /config (2 KiB, keep-alive, wrk -t2 -c32)', `${round(edge.load.requestsPerSecond)} req/s, p50 ${round(edge.load.p50Ms, 2)} ms, p99 ${round(edge.load.p99Ms, 2)} ms`,
    `nginx ${round(nginx.requestsPerSecond)} req/s, p50 ${round(nginx.p50Ms, 2)} ms, p99 ${round(nginx.p99Ms, 2)} ms`, `×${round(edge.load.requestsPerSecond / nginx.requestsPerSecond, 2)} of nginx`)
  const big = await edgeProcess(10_000, async () => undefined)
  row('edge with a 10,000-router config', `RSS ${round(big.rssMb)} MB`, `cold start to serving ${round(big.coldStartMs)} ms`, `(2 KiB config: RSS ${round(edge.rssMb)} MB, cold start ${round(edge.coldStartMs)} ms)`)
  results.serving = { edge, nginx, big }

  const unavailable = namespacesUnavailable()
  if (unavailable === undefined) {
    const bytes = []
    for (const routers of [small, 10_000]) {
      const r = await measureBytesPerVersion(5, routers, 3)
      bytes.push(r)
      row(`bytes received per edge per version, 5 edges (processes in network namespaces), ${routers} routers, every router changed`,
        `p50 ${round(r.perEdge.p50 / 1024, 1)} KiB, max ${round(r.perEdge.max / 1024, 1)} KiB`, `the config compressed: ${round(r.compressedBytes / 1024, 1)} KiB`, `×${round(r.perEdge.p50 / r.compressedBytes, 2)}`)
      row(`bytes received per edge per version, 5 edges (processes in network namespaces), ${routers} routers, one router changed`,
        `p50 ${round(r.perEdgeOneRouter.p50 / 1024, 1)} KiB, max ${round(r.perEdgeOneRouter.max / 1024, 1)} KiB`, `the config compressed: ${round(r.compressedBytes / 1024, 1)} KiB`, `×${round(r.perEdgeOneRouter.p50 / r.compressedBytes, 2)}`)
    }
    results.bytesPerVersion = bytes
  } else {
    process.stdout.write(`bytes per edge per version: skipped (${unavailable})\n`)
  }

  const burst = await measureBurst(10, 20, 2 * 1024 * 1024)
  row(`a burst of ${burst.versions} versions in a second, ${round(burst.bodyBytes / 2 ** 20, 1)} MiB each, ${burst.edges} edge processes`,
    `all serve the newest ${round(burst.convergeMs)} ms after the first (${round(burst.afterLastMs)} ms after the last); ${burst.acceptedPerEdge.min}–${burst.acceptedPerEdge.max} of ${burst.versions} versions fetched per edge; edge RSS peak ${round(burst.rssMb.peak)} MB`,
    `one version alone: ${round(burst.singleMs)} ms; edge RSS idle ${round(burst.rssMb.idle)} MB`,
    `×${round(burst.convergeMs / burst.singleMs, 1)} time, ×${round(burst.rssMb.peak / burst.rssMb.idle, 2)} memory`)
  results.burst = burst

  const apiLoad = []
  for (const edges of [1, 10, 100]) {
    const r = await measureApiLoad(edges, 30_000)
    apiLoad.push(r)
    row(`Kubernetes API load, ${edges} edges`, `${round(r.requestsPerMinute)} requests/min, ${r.watches} watches`, `proof of concept ${r.proofOfConceptPerMinute} lists/min`, `×${round(r.requestsPerMinute / r.proofOfConceptPerMinute, 2)}`)
  }
  results.apiLoad = apiLoad

  results.processes = await processes()
  results.rollouts = await rollouts()
  await report(results, 'bench.json')
}

async function report (results: Record<string, unknown>, file: string): Promise<void> {
  await mkdir('simulations/results', { recursive: true })
  await writeFile(`simulations/results/${file}`, JSON.stringify(results, null, 2))
  process.stdout.write(`\n| measure | ours | baseline | ratio |\n| --- | --- | --- | --- |\n${rows.map(r => `| ${r.join(' | ')} |`).join('\n')}\n\nraw numbers: simulations/results/${file}\n`)
}

await main()
