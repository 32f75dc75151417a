import FlatQueue from 'flatqueue'
import { mean, percentile } from './bench/stats.js'
import { seeded } from './bench/node-processes.js'

/**
 * A model of a fleet too large to run as processes here (1,000 and 10,000
 * edges): the topology the mesh code builds, and one version spreading over
 * it, hop by hop, with each hop's delay drawn from delays measured on real
 * processes. It stands for the real code only where it follows its rules:
 *
 * - Connections: the first edges to join stay connected to the publisher
 *   until its cap is reached; every edge then dials known peers until it
 *   has `targetPeers` (the peer keeper), never past a peer's cap (a full
 *   peer sheds the newest). Peers are picked at random among those with
 *   room: the peer exchange spreads knowledge of the mesh, which this takes
 *   as complete.
 * - Gossip: the publisher sends to every connection (gossipsub's flood
 *   publish); every edge forwards to its gossipsub mesh peers (degree D,
 *   at most Dhi) once it has verified and persisted the version (the
 *   beacon handler). A peer that already has the message says so
 *   (IDONTWANT) and is not sent it again once that has arrived.
 * - Reports: each edge reports to the peer that delivered the version
 *   first, which relays them on the same way to the publisher.
 * - Machines: every edge on its own, or, to set the model beside processes
 *   sharing this machine, `shared` cores that each edge's work on a version
 *   (`cpuPerVersionMs`) waits for, first come first served.
 */
export interface FleetModelInput {
  edges: number
  publisherCap: number
  edgeCap: number
  targetPeers: number
  /** gossipsub's D and Dhi. */
  meshDegree: number
  meshDegreeHigh: number
  /** One hop, from a node's send to the next node's forward (verify, persist), measured: drawn at random for each hop. */
  hopDelaysMs: number[]
  /** One-way network latency between nodes (IDONTWANT travels in it). */
  linkLatencyMs: number
  /** Every edge's work on a version queues for these cores; each edge its own machine when absent. */
  shared?: { cores: number, cpuPerVersionMs: number } | undefined
  seed: number
}

export interface FleetModelResult {
  edges: number
  publisherConnections: number
  edgeConnections: { mean: number, max: number }
  hops: { p50: number, p99: number, max: number }
  publishToServedMs: { p50: number, p99: number, max: number }
  /** Copies of the version each edge receives (one is needed; the rest are duplicates sent before IDONTWANT arrived). */
  copiesPerEdge: { mean: number, max: number }
  /** Reports the busiest edge passes on for every one it sends of its own: the size of what it relays for. */
  relayedPerOwnReport: { mean: number, max: number }
}

const PUBLISHER = 0

export function modelFleet (input: FleetModelInput): FleetModelResult {
  const random = seeded(input.seed)
  const links = connect(input, random)
  const mesh = gossipMesh(input, links, random)
  const spread = propagate(input, links, mesh, random)
  const edges = Array.from({ length: input.edges }, (_, i) => i + 1)
  const degrees = edges.map(edge => links[edge]?.size ?? 0)
  const relayed = relayLoad(spread.firstFrom)
  return {
    edges: input.edges,
    publisherConnections: links[PUBLISHER]?.size ?? 0,
    edgeConnections: { mean: mean(degrees), max: Math.max(...degrees) },
    hops: summary(edges.map(edge => spread.hops[edge] ?? NaN)),
    publishToServedMs: summary(edges.map(edge => spread.servedAt[edge] ?? NaN)),
    copiesPerEdge: { mean: mean(edges.map(edge => spread.copies[edge] ?? 0)), max: Math.max(...edges.map(edge => spread.copies[edge] ?? 0)) },
    relayedPerOwnReport: { mean: mean(edges.map(edge => relayed[edge] ?? 0)), max: Math.max(...edges.map(edge => relayed[edge] ?? 0)) }
  }
}

/** Who is connected to whom, node 0 being the publisher. */
function connect (input: FleetModelInput, random: () => number): Array<Set<number>> {
  const links: Array<Set<number>> = Array.from({ length: input.edges + 1 }, () => new Set<number>())
  const capOf = (node: number): number => node === PUBLISHER ? input.publisherCap : input.edgeCap
  const link = (a: number, b: number): void => { links[a]?.add(b); links[b]?.add(a) }
  for (let edge = 1; edge <= input.edges; edge++) {
    if ((links[PUBLISHER]?.size ?? 0) < input.publisherCap) link(edge, PUBLISHER)
    const candidates = Array.from({ length: edge - 1 }, (_, i) => i + 1)
    while ((links[edge]?.size ?? 0) < input.targetPeers && candidates.length > 0) {
      const peer = candidates.splice(Math.floor(random() * candidates.length), 1)[0] ?? PUBLISHER
      if ((links[peer]?.size ?? 0) < capOf(peer)) link(edge, peer)
    }
  }
  return links
}

/** Each node grafts random connections until it has D mesh peers; a peer at Dhi refuses. */
function gossipMesh (input: FleetModelInput, links: Array<Set<number>>, random: () => number): Array<Set<number>> {
  const mesh: Array<Set<number>> = links.map(() => new Set<number>())
  const order = shuffled(links.map((_, i) => i), random)
  for (const node of order) {
    const candidates = shuffled([...links[node] ?? []], random)
    for (const peer of candidates) {
      if ((mesh[node]?.size ?? 0) >= input.meshDegree) break
      if ((mesh[peer]?.size ?? 0) >= input.meshDegreeHigh || mesh[node]?.has(peer) === true) continue
      mesh[node]?.add(peer)
      mesh[peer]?.add(node)
    }
  }
  return mesh
}

interface Spread { servedAt: number[], hops: number[], firstFrom: number[], copies: number[] }

/** Earliest arrival over every path (Dijkstra), each hop's delay drawn once; then the duplicates each node was sent. */
function propagate (input: FleetModelInput, links: Array<Set<number>>, mesh: Array<Set<number>>, random: () => number): Spread {
  const count = links.length
  const hop = (): number => input.hopDelaysMs[Math.floor(random() * input.hopDelaysMs.length)] ?? 0
  const servedAt = new Array<number>(count).fill(Infinity)
  const hops = new Array<number>(count).fill(0)
  const firstFrom = new Array<number>(count).fill(-1)
  /** When each node sends on: the publisher at once, an edge once it has verified and persisted. */
  const forwardAt = new Array<number>(count).fill(Infinity)
  const delay = new Map<string, number>()
  const delayOf = (from: number, to: number): number => {
    const key = `${from}>${to}`
    let value = delay.get(key)
    if (value === undefined) { value = hop(); delay.set(key, value) }
    return value
  }
  const sendsTo = (node: number): Set<number> => node === PUBLISHER ? links[PUBLISHER] ?? new Set() : mesh[node] ?? new Set()
  servedAt[PUBLISHER] = 0
  forwardAt[PUBLISHER] = 0
  const cores = new Array<number>(input.shared?.cores ?? 0).fill(0)
  const queue = new FlatQueue<number>()
  queue.push(PUBLISHER, 0)
  const done = new Set<number>()
  for (let node = queue.pop(); node !== undefined; node = queue.pop()) {
    if (done.has(node)) continue
    done.add(node)
    if (node !== PUBLISHER && input.shared !== undefined) {
      const arrived = servedAt[node] ?? 0
      const core = cores.indexOf(Math.min(...cores))
      const finished = Math.max(arrived - input.shared.cpuPerVersionMs, cores[core] ?? 0) + input.shared.cpuPerVersionMs
      cores[core] = finished
      servedAt[node] = forwardAt[node] = Math.max(arrived, finished)
    }
    for (const peer of sendsTo(node)) {
      if (done.has(peer)) continue
      const arrives = (forwardAt[node] ?? 0) + delayOf(node, peer)
      if (arrives < (servedAt[peer] ?? Infinity)) {
        servedAt[peer] = arrives
        forwardAt[peer] = arrives
        hops[peer] = (hops[node] ?? 0) + 1
        firstFrom[peer] = node
        queue.push(peer, arrives)
      }
    }
  }
  // A copy arrives from every sender that sent before this node's IDONTWANT reached it.
  const copies = servedAt.map((served, node) => {
    let received = 0
    for (const sender of links[node] ?? []) {
      if (!sendsTo(sender).has(node) || (forwardAt[sender] ?? Infinity) === Infinity) continue
      if (sender === firstFrom[node] || (forwardAt[sender] ?? Infinity) < served + input.linkLatencyMs) received++
    }
    return received
  })
  return { servedAt, hops, firstFrom, copies }
}

/** For each node, how many other edges' reports pass through it: its subtree in the first-delivery tree. */
function relayLoad (firstFrom: number[]): number[] {
  const load = new Array<number>(firstFrom.length).fill(0)
  for (let node = 1; node < firstFrom.length; node++) {
    for (let up = firstFrom[node] ?? -1; up > PUBLISHER; up = firstFrom[up] ?? -1) load[up] = (load[up] ?? 0) + 1
  }
  return load
}

function summary (values: number[]): { p50: number, p99: number, max: number } {
  return { p50: percentile(values, 50), p99: percentile(values, 99), max: Math.max(...values) }
}

function shuffled<T> (values: T[], random: () => number): T[] {
  const copy = [...values]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const a = copy[i] as T
    copy[i] = copy[j] as T
    copy[j] = a
  }
  return copy
}
