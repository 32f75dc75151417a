import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { deadBackend, listeningBackend } from './backends.js'
import { join } from 'node:path'
import { freePort } from '../cli/processes.js'
import { createPublisher, type Leadership, type Publisher } from '../cluster-publisher/create-publisher.js'
import { directorySource } from '../cluster-publisher/sources/directory-source.js'
import { createEdge, type Edge } from '../edge-subscriber/create-edge.js'
import { canonicalBytes } from '../node/canonical-json.js'
import { fileEnvelopeStore } from '../node/file-envelope-store.js'
import { silentLogger } from '../node/logger.js'
import { peerIdOfKey } from '../node/mesh/identity.js'
import type { TrustedKey } from '../node/signing-keys.js'
import { generateSwarmKey, parseSwarmKey } from '../node/swarm-key.js'
import { waitFor } from './wait-for.js'
import type { Envelope } from '../node/envelope.js'
import { wavesReached, type RolloutHead } from '../node/rollout-head.js'
import { FAST_TIMING, REPORT_GRACE_MS, signingKeyPair } from './world.js'

const MESH = 'faults'
export const PUBLISHER = 'publisher'
/** Generous: a busy machine is slow, not wrong. */
const SETTLE_LIMIT_MS = 60_000
/** Fewer connections than the world has edges: some reach the publisher, and report to it, only through others, as in a large fleet. */
const PUBLISHER_MAX_CONNECTIONS = 2

type KeyPair = ReturnType<typeof signingKeyPair>

/** Leadership as a test drives it: the world says who leads. */
class ManualLeadership implements Leadership {
  private readonly started: Array<() => void> = []
  private readonly stopped: Array<() => void> = []
  constructor (private leading: boolean) {}
  onStartedLeading (listener: () => void): void { this.started.push(listener) }
  onStoppedLeading (listener: () => void): void { this.stopped.push(listener) }
  start (): void { if (this.leading) for (const listener of this.started) listener() }
  async stop (): Promise<void> {}
  async stepDown (): Promise<void> { this.set(false) }
  set (leading: boolean): void {
    this.leading = leading
    for (const listener of leading ? this.started : this.stopped) listener()
  }
}

interface Replica { port: number, publisher: Publisher | undefined, leadership: ManualLeadership | undefined }

/** Rollouts in a fault world: the policy, and the labels of the n-th edge (from 0). */
export interface WorldRollouts {
  policy: string
  labels: (index: number) => Record<string, string>
}

/** What the rollout heads signed so far say of one version in rollout. */
export interface RolloutRecord {
  /** The edges (by peer id) of every wave a head reached while rolling. */
  allowed: Set<string>
  complete: boolean
  rolledBack: boolean
}
interface SimEdge { name: string, dataDir: string, port: number, edge: Edge | undefined }
/** What an edge started serving: its version and body hash, and where it came from. */
export interface Served { version: number, sha: string, origin: string }

/**
 * A mesh for fault sequences: two publisher replicas (one leads; they share a
 * durable state file, as replicas share a ConfigMap) and edges, all real
 * libp2p nodes in this process. Links are cut between node names, so a cut
 * holds across restarts and key changes. Everything signed and everything an
 * edge serves is recorded for the invariant checks.
 */
export class FaultWorld {
  readonly fragments: string
  private readonly stateFile: string
  private readonly swarmKey = parseSwarmKey(generateSwarmKey(), 'faults swarm key')
  private signingKey: KeyPair = signingKeyPair('key 1')
  private nextKey: KeyPair | undefined
  private keyCount = 1
  private edgeTrust: TrustedKey[] = [this.signingKey.trusted]
  private publisherTrust: TrustedKey[] = []
  private readonly replicas: Replica[] = []
  private leaderIndex = 0
  private readonly edges: SimEdge[] = []
  private readonly cuts = new Set<string>()
  private readonly names = new Map<string, string>()
  private clockOffsetMs = 0
  /** Every version a publisher signed, with its body's hash. */
  readonly signed = new Map<number, string>()
  /** Bodies signed, by hash (for the canonical-bytes check). */
  readonly bodies = new Map<string, Uint8Array>()
  /** Per edge name, everything it started serving, across restarts. */
  readonly served = new Map<string, Served[]>()
  /** Per version in rollout, what the signed heads allowed. */
  readonly rollouts = new Map<number, RolloutRecord>()
  /** Each edge's peer id (its identity is kept in its data directory, so restarts keep it). */
  readonly peerIds = new Map<string, string>()
  private readonly backends: Array<{ close: () => void }> = []
  private readonly backendUrls = new Map<number, string>()

  constructor (private readonly root: string, private readonly waves?: WorldRollouts) {
    this.fragments = join(root, 'fragments')
    this.stateFile = join(root, 'publisher-state.envelope')
  }

  /**
   * Makes the server of a fragment's variant. With rollouts, edges probe backends:
   * each variant is a live TCP listener here, and variant 0 a port nothing
   * listens on (a change the health gate fails). Without, an address that is
   * never dialled.
   */
  async addBackend (variant: number): Promise<void> {
    if (this.waves === undefined || this.backendUrls.has(variant)) return
    if (variant === 0) {
      this.backendUrls.set(variant, await deadBackend())
      return
    }
    const backend = await listeningBackend()
    this.backendUrls.set(variant, backend.url)
    this.backends.push(backend)
  }

  /** The server of a variant (`addBackend` first, with rollouts). */
  serverUrl (variant: number): string {
    if (this.waves === undefined) return `http://10.0.0.${variant}:80`
    const url = this.backendUrls.get(variant)
    if (url === undefined) throw new TypeError(`no backend for variant ${variant} yet`)
    return url
  }

  async start (edges: number): Promise<void> {
    await mkdir(this.fragments, { recursive: true })
    for (let i = 0; i < 2; i++) this.replicas.push({ port: await freePort(), publisher: undefined, leadership: undefined })
    for (let i = 0; i < 2; i++) await this.startReplica(i)
    for (let i = 0; i < edges; i++) await this.joinEdge()
  }

  async stop (): Promise<void> {
    await Promise.all(this.edges.map(async edge => { await edge.edge?.stop(); edge.edge = undefined }))
    for (const replica of this.replicas) { await replica.publisher?.stop(); replica.publisher = undefined }
    for (const backend of this.backends) backend.close()
  }

  leader (): Publisher {
    const publisher = this.replicas[this.leaderIndex]?.publisher
    if (publisher === undefined) throw new Error('no leader running')
    return publisher
  }

  runningEdges (): Array<{ name: string, edge: Edge }> {
    return this.edges.flatMap(({ name, edge }) => edge === undefined ? [] : [{ name, edge }])
  }

  edgeNames (): string[] {
    return this.edges.map(edge => edge.name)
  }

  async writeFragment (name: string, text: string): Promise<void> {
    await mkdir(this.fragments, { recursive: true })
    await writeFile(join(this.fragments, `${name}.yaml`), text)
  }

  async deleteFragment (name: string): Promise<void> {
    await rm(join(this.fragments, `${name}.yaml`), { force: true })
  }

  /** The leader crashes and comes back with nothing but the shared state file. */
  async restartLeader (): Promise<void> {
    await this.replicas[this.leaderIndex]?.publisher?.stop()
    await this.startReplica(this.leaderIndex)
  }

  /** The other replica takes over; the old leader stops publishing (and keeps running as a follower). */
  async changeLeader (): Promise<void> {
    const old = this.replicas[this.leaderIndex]
    this.leaderIndex = 1 - this.leaderIndex
    old?.leadership?.set(false)
    await waitFor('the old leader to stop publishing', () => old?.publisher?.status().leader === false && old.publisher.mesh.addresses().length === 0 ? true : undefined, SETTLE_LIMIT_MS)
    this.replicas[this.leaderIndex]?.leadership?.set(true)
    await this.leaderListening()
  }

  /** Sets the publishers' clock this far from the real one (both replicas; signing uses it). */
  setClockOffset (ms: number): void {
    this.clockOffsetMs = ms
  }

  /** Rotation, step 1: every edge trusts the current key and a new one. */
  trustNextKey (): void {
    this.nextKey = signingKeyPair(`key ${++this.keyCount}`)
    this.edgeTrust = [this.signingKey.trusted, this.nextKey.trusted]
    for (const { edge } of this.runningEdges()) edge.setTrust(this.edgeTrust)
  }

  /** Rotation, step 2: both replicas restart signing with the new key, still counting the old one's configs. */
  async signWithNextKey (): Promise<void> {
    if (this.nextKey === undefined) throw new TypeError('no next key is trusted yet')
    this.publisherTrust = [this.signingKey.trusted]
    this.signingKey = this.nextKey
    this.nextKey = undefined
    for (let i = 0; i < 2; i++) {
      await this.replicas[i]?.publisher?.stop()
      await this.startReplica(i)
    }
  }

  /** Rotation, step 3: the edges drop every key but the one signing now. */
  dropOldKeys (): void {
    this.edgeTrust = [this.signingKey.trusted]
    for (const { edge } of this.runningEdges()) edge.setTrust(this.edgeTrust)
  }

  hasNextKey (): boolean {
    return this.nextKey !== undefined
  }

  trustsOldKey (): boolean {
    return this.edgeTrust.length > 1
  }

  async restartEdge (name: string): Promise<void> {
    const sim = this.sim(name)
    await sim.edge?.stop()
    sim.edge = undefined
    await this.startEdge(sim)
  }

  async joinEdge (): Promise<string> {
    const sim: SimEdge = { name: `edge-${this.edges.length + 1}`, dataDir: join(this.root, `edge-${this.edges.length + 1}`), port: await freePort(), edge: undefined }
    this.edges.push(sim)
    await this.startEdge(sim)
    return sim.name
  }

  /** Cuts the links between these pairs of node names (PUBLISHER or an edge) and closes open connections across them. */
  async cut (pairs: Array<[string, string]>): Promise<void> {
    for (const [a, b] of pairs) this.cuts.add(pairKey(a, b))
    const nodes = [...this.runningEdges().map(({ name, edge }) => ({ name, mesh: edge.mesh })), ...this.replicas.flatMap(r => r.publisher === undefined ? [] : [{ name: PUBLISHER, mesh: r.publisher.mesh }])]
    for (const { name, mesh } of nodes) {
      for (const peer of mesh.peers()) {
        if (this.isCut(name, this.names.get(peer) ?? '')) await mesh.hangUp(peer)
      }
    }
  }

  healAll (): void {
    this.cuts.clear()
  }

  isPartitioned (): boolean {
    return this.cuts.size > 0
  }

  /** Waits until every running edge serves the leader's newest version (or a newer one). */
  async converged (): Promise<number> {
    return await waitFor(() => `every edge to serve the leader's version (${this.runningEdges().map(({ name, edge }) => `${name}: ${edge.status().version ?? 'none'}`).join(', ')}; leader: ${this.leader().status().version ?? 'none'})`, () => {
      const version = this.leader().status().version
      return version !== null && this.runningEdges().every(({ edge }) => (edge.status().version ?? 0) >= version) ? version : undefined
    }, SETTLE_LIMIT_MS, 50)
  }

  private isCut (a: string, b: string): boolean {
    return this.cuts.has(pairKey(a, b))
  }

  /** The gater of the node named `self`; it names its own peer id as soon as it knows it, before any connection of its own. */
  private gaterFor (self: string, ownPeerId: () => string | undefined = () => undefined): ConnectionGater {
    const refused = (peer: PeerId): boolean => {
      const own = ownPeerId()
      if (own !== undefined) this.names.set(own, self)
      return this.isCut(self, this.names.get(peer.toString()) ?? '')
    }
    return { denyDialPeer: refused, denyInboundEncryptedConnection: refused, denyOutboundEncryptedConnection: refused }
  }

  private async startReplica (index: number): Promise<void> {
    const replica = this.replicas[index] as Replica
    const leadership = new ManualLeadership(index === this.leaderIndex)
    this.names.set(peerIdOfKey(this.signingKey.trusted), PUBLISHER)
    const publisher = await createPublisher({
      mesh: MESH,
      source: directorySource({ directory: this.fragments }),
      signingKey: this.signingKey.signing,
      trust: this.publisherTrust,
      swarmKey: this.swarmKey,
      listen: [`/ip4/127.0.0.1/tcp/${replica.port}`],
      log: silentLogger(),
      stateStore: fileEnvelopeStore(this.stateFile),
      leadership,
      now: () => Date.now() + this.clockOffsetMs,
      timing: { ...FAST_TIMING, beaconIntervalMs: 500, missingAfterMs: 3000, reportGraceMs: REPORT_GRACE_MS },
      connectionGater: this.gaterFor(PUBLISHER),
      maxConnections: PUBLISHER_MAX_CONNECTIONS,
      rolloutPolicy: this.waves === undefined ? undefined : { read: () => ({ where: 'fault world', text: this.waves?.policy ?? '' }), onChange: () => {} }
    })
    const signed = (envelope: Envelope, origin: string): void => {
      if (origin !== 'self') return
      this.signed.set(envelope.head.version, envelope.head.bodySha256)
      this.bodies.set(envelope.head.bodySha256, envelope.body)
    }
    publisher.latest.onAccepted(signed)
    publisher.rolloutTrack.candidates.onAccepted(signed)
    publisher.rolloutTrack.onChange(() => { this.recordHead(publisher.rolloutTrack.head()) })
    replica.publisher = publisher
    replica.leadership = leadership
    await publisher.start()
    if (index === this.leaderIndex) await this.leaderListening()
  }

  private recordHead (head: RolloutHead | undefined): void {
    if (head === undefined) return
    const record = this.rollouts.get(head.version) ?? { allowed: new Set<string>(), complete: false, rolledBack: false }
    this.rollouts.set(head.version, record)
    if (head.state === 'complete') record.complete = true
    if (head.state === 'rolled-back') record.rolledBack = true
    if (head.state === 'rolling') for (const wave of wavesReached(head)) for (const peer of wave.peers) record.allowed.add(peer)
  }

  private async leaderListening (): Promise<void> {
    await waitFor('the leader to join the mesh', () => this.leader().status().leader && this.leader().mesh.addresses().length > 0 ? true : undefined, SETTLE_LIMIT_MS)
  }

  private async startEdge (sim: SimEdge): Promise<void> {
    let ownPeerId = (): string | undefined => undefined
    const edge = await createEdge({
      mesh: MESH,
      trust: this.edgeTrust,
      bootstrap: this.replicas.map(replica => multiaddr(`/ip4/127.0.0.1/tcp/${replica.port}`)),
      swarmKey: this.swarmKey,
      listen: [`/ip4/127.0.0.1/tcp/${sim.port}`],
      dataDir: sim.dataDir,
      serve: { host: '127.0.0.1', port: 0 },
      log: silentLogger(),
      timing: FAST_TIMING,
      connectionGater: this.gaterFor(sim.name, () => ownPeerId()),
      labels: this.waves?.labels(this.edges.indexOf(sim))
    })
    ownPeerId = () => edge.peerId()
    const history = this.served.get(sim.name) ?? []
    this.served.set(sim.name, history)
    edge.onServing((envelope, origin) => { history.push({ version: envelope.head.version, sha: envelope.head.bodySha256, origin }) })
    await edge.start()
    this.names.set(edge.mesh.peerId, sim.name)
    this.peerIds.set(sim.name, edge.mesh.peerId)
    sim.edge = edge
  }

  private sim (name: string): SimEdge {
    const sim = this.edges.find(edge => edge.name === name)
    if (sim === undefined) throw new TypeError(`no edge named ${name}`)
    return sim
  }
}

function pairKey (a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}

/** Whether bytes are the canonical form of the JSON they hold (the same config is always the same bytes). */
export function isCanonical (body: Uint8Array): boolean {
  return Buffer.from(canonicalBytes(JSON.parse(new TextDecoder().decode(body)))).equals(body)
}
