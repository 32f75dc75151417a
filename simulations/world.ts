import { multiaddr } from '@multiformats/multiaddr'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { listeningBackend } from './backends.js'
import { createPublisher, type Publisher } from '../cluster-publisher/create-publisher.js'
import { directorySource } from '../cluster-publisher/sources/directory-source.js'
import { createEdge, type Edge } from '../edge-subscriber/create-edge.js'
import { silentLogger } from '../node/logger.js'
import type { MeshNode } from '../node/mesh/mesh-node.js'
import { generateSigningKeyPem, parseSigningKey, parseTrustedKey, type SigningKey, type TrustedKey } from '../node/signing-keys.js'
import { generateSwarmKey, parseSwarmKey } from '../node/swarm-key.js'
import { Partition } from './partition.js'
import type { Recorder } from './recorder.js'
import { waitFor } from './wait-for.js'

/**
 * Timings for simulations and tests: the production values scaled down (faster
 * anti-entropy, peer checks, beacons and announcements), so scenarios finish in
 * seconds. Redialling is as in production: heals are part of what is measured.
 */
/**
 * How long the edges of a wave have to report before their silence fails it,
 * in tests and simulations: generous, since a busy machine is slow, not
 * wrong (a failure an edge reports still fails the wave at once).
 */
export const REPORT_GRACE_MS = 60_000
export const FAST_TIMING = { syncIntervalMs: 1000, peerCheckIntervalMs: 250, joinGraceMs: 3000, announceIntervalMs: 1000, announceJitterMs: 200 }
/**
 * For large worlds, where every node shares one process and two cores:
 * production intervals for anti-entropy and peer checks, and rarer, more
 * spread status announcements (each is relayed by every node, so a round
 * costs N² sends here, where in a real mesh each node pays only N).
 */
export const SCALE_TIMING = { syncIntervalMs: 5000, peerCheckIntervalMs: 2000, joinGraceMs: 10_000, announceIntervalMs: 60_000, announceJitterMs: 10_000 }
/** Worlds larger than this run on SCALE_TIMING. */
const FAST_TIMING_MAX_EDGES = 20

export function timingFor (edges: number): typeof FAST_TIMING {
  return edges > FAST_TIMING_MAX_EDGES ? SCALE_TIMING : FAST_TIMING
}
/** A new publisher key: the signing half and the half edges trust. */
export function signingKeyPair (name: string): { signing: SigningKey, trusted: TrustedKey } {
  const pem = generateSigningKeyPem()
  return { signing: parseSigningKey(pem.privatePem, name), trusted: parseTrustedKey(pem.publicPem, name) }
}

export const PUBLISHER = 'publisher'
const MESH = 'simulation'

interface SimEdge {
  name: string
  dataDir: string
  peerId: string | undefined
  edge: Edge | undefined
}

export interface WorldInit {
  edges: number
  root: string
  recorder: Recorder
  /** The clock the publisher signs with (a replacement may run behind). */
  now?: (() => number) | undefined
  /** Versions go out in waves under this policy; the n-th edge (from 0) gets these labels. */
  rollout?: { policy: string, labels: (index: number) => Record<string, string> } | undefined
}

/**
 * A publisher and N edges as real libp2p nodes in this process, with links
 * cut below the protocols by a connection gater. Everything a scenario does
 * goes through here, and every config an edge starts serving is recorded.
 */
export class World {
  readonly partition = new Partition()
  private readonly edges: SimEdge[] = []
  private publisher: Publisher | undefined
  private publisherAddress = ''
  private readonly signingKey: SigningKey
  private readonly trustedKey: TrustedKey
  private readonly swarmKey: Uint8Array
  private readonly fragments: string
  private publishCount = 0
  /** With rollouts, the service's backend answers (edges probe it); without, it is never dialled. */
  private backend: { close: () => void } | undefined
  private server = 'http://192.0.2.1:80'
  private readonly timing: typeof FAST_TIMING

  constructor (private readonly init: WorldInit) {
    const keys = signingKeyPair('simulation key')
    this.signingKey = keys.signing
    this.trustedKey = keys.trusted
    this.swarmKey = parseSwarmKey(generateSwarmKey(), 'simulation swarm key')
    this.fragments = join(init.root, 'fragments')
    this.timing = timingFor(init.edges)
  }

  publisherStatus (): ReturnType<Publisher['status']> | undefined {
    return this.publisher?.status()
  }

  edgeNames (): string[] {
    return this.edges.map(edge => edge.name)
  }

  runningEdges (): Array<{ name: string, edge: Edge }> {
    return this.edges.flatMap(({ name, edge }) => edge === undefined ? [] : [{ name, edge }])
  }

  /** Starts everything and waits until every edge serves the first config, so scenarios measure propagation, not start-up. */
  async start (): Promise<void> {
    await mkdir(this.fragments, { recursive: true })
    if (this.init.rollout !== undefined) {
      const backend = await listeningBackend()
      this.backend = backend
      this.server = backend.url
    }
    await this.writeFragment()
    await this.startPublisher()
    await this.addEdges(this.init.edges)
    const serving = (): number => {
      const version = this.publisher?.status().version ?? null
      return version === null ? 0 : this.runningEdges().filter(({ edge }) => edge.status().version === version).length
    }
    // Start-up of many nodes in one process is slow on two cores; allow for it.
    await waitFor(() => `every edge to serve the first config (${serving()} of ${this.init.edges} do)`,
      () => serving() === this.init.edges ? true : undefined, 60_000 + 1000 * this.init.edges, 10)
    this.init.recorder.mark('all edges up')
  }

  async stop (): Promise<void> {
    await Promise.all(this.runningEdges().map(async ({ name }) => { await this.killEdge(name) }))
    await this.killPublisher()
    this.backend?.close()
  }

  /**
   * Changes a fragment and waits until the publisher has signed the new
   * config (released, or put in rollout). `server`: the service's backend
   * (a changed one is probed by the edges of a rollout's waves).
   */
  async publish (server?: string): Promise<number> {
    const newest = (): number | null => Math.max(this.publisher?.status().version ?? 0, this.publisher?.status().rollout?.version ?? 0) || null
    const before = newest()
    await this.writeFragment(server)
    return await waitFor('the publisher to sign a new version', () => {
      const version = newest()
      return version !== null && version !== before ? version : undefined
    }, 60_000, 10)
  }

  async startPublisher (now = this.init.now): Promise<void> {
    let self: string | undefined
    const publisher = await createPublisher({
      mesh: MESH,
      source: directorySource({ directory: this.fragments }),
      signingKey: this.signingKey,
      swarmKey: this.swarmKey,
      listen: [this.publisherAddress === '' ? '/ip4/127.0.0.1/tcp/0' : this.publisherAddress],
      log: silentLogger(),
      timing: { ...this.timing, beaconIntervalMs: 500 },
      connectionGater: this.partition.gaterFor(() => self),
      rolloutPolicy: this.init.rollout === undefined ? undefined : { read: () => ({ where: 'simulation', text: this.init.rollout?.policy ?? '' }), onChange: () => {} },
      now
    })
    self = publisher.mesh.peerId
    this.publisher = publisher
    this.init.recorder.watchPublisher(publisher)
    await publisher.start()
    this.publisherAddress = (publisher.mesh.addresses()[0] ?? '').replace(/\/p2p\/.*$/, '')
  }

  async killPublisher (): Promise<void> {
    const publisher = this.publisher
    this.publisher = undefined
    await publisher?.stop()
  }

  async addEdges (count: number): Promise<string[]> {
    const names: string[] = []
    for (let i = 0; i < count; i++) {
      const name = `edge-${String(this.edges.length + 1).padStart(3, '0')}`
      this.edges.push({ name, dataDir: join(this.init.root, name), peerId: undefined, edge: undefined })
      names.push(name)
    }
    await Promise.all(names.map(async name => { await this.restartEdge(name) }))
    return names
  }

  async killEdge (name: string): Promise<void> {
    const sim = this.sim(name)
    const edge = sim.edge
    sim.edge = undefined
    await edge?.stop()
  }

  /** Starts (or restarts, on its data directory) an edge bootstrapped to the publisher's address. */
  async restartEdge (name: string): Promise<void> {
    const sim = this.sim(name)
    // Its peer id survives restarts (and is known again once it has joined the mesh).
    let self = (): string | undefined => sim.peerId
    const edge = await createEdge({
      mesh: MESH,
      trust: [this.trustedKey],
      bootstrap: [multiaddr(this.publisherAddress)],
      swarmKey: this.swarmKey,
      listen: ['/ip4/127.0.0.1/tcp/0'],
      dataDir: sim.dataDir,
      serve: { host: '127.0.0.1', port: 0 },
      log: silentLogger(),
      timing: this.timing,
      connectionGater: this.partition.gaterFor(() => self()),
      labels: this.init.rollout?.labels(this.edges.indexOf(sim))
    })
    self = () => edge.peerId() ?? sim.peerId
    this.init.recorder.watchEdge(name, edge)
    await edge.start()
    sim.peerId = edge.mesh.peerId
    sim.edge = edge
  }

  /** Cuts every link between the two groups (names of edges, or PUBLISHER). */
  async cut (left: string[], right: string[]): Promise<void> {
    await this.partition.split(left.map(name => this.meshOf(name)), right.map(name => this.meshOf(name)))
  }

  heal (): void {
    this.partition.heal()
  }

  private meshOf (name: string): Pick<MeshNode, 'peerId' | 'hangUp'> {
    if (name === PUBLISHER) return this.publisher?.mesh ?? { peerId: '', hangUp: async () => {} }
    const sim = this.sim(name)
    return sim.edge?.mesh ?? { peerId: sim.peerId ?? '', hangUp: async () => {} }
  }

  private sim (name: string): SimEdge {
    const sim = this.edges.find(edge => edge.name === name)
    if (sim === undefined) throw new TypeError(`no edge named ${name}`)
    return sim
  }

  private async writeFragment (server = this.server): Promise<void> {
    const n = this.publishCount++
    const routers = Array.from({ length: 3 }, (_, i) => `    r${n}-${i}:\n      rule: "Host(\`r${n}-${i}.example.com\`)"\n      service: s\n`).join('')
    await writeFile(join(this.fragments, 'routes.yaml'), `http:\n  routers:\n${routers}  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: "${server}"\n`)
  }
}
