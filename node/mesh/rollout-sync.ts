import { serviceCapabilities, serviceDependencies, type Connection, type IdentifyResult, type Libp2pEvents, type PeerId, type Startable, type Stream, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { MAX_ROLLOUT_HEAD_BYTES, rolloutTopic, SYNC_TIMEOUT_MS } from '../constants.js'
import type { Verdict } from '../latest-envelope.js'
import type { Logger } from '../logger.js'
import type { RolloutTrack } from '../rollout-track.js'
import type { EnvelopeSync } from './envelope-sync.js'
import { readOneFrame, writeOneFrame } from './one-frame.js'
import type { TopicHandler } from './topic-handler.js'

/** Asks a newly connected peer for its rollout head, so a node that joins or heals mid-rollout learns it at once. */
export function rolloutHeadProtocol (mesh: string): string {
  return `/dime/${mesh}/rollout-head/1.0.0`
}

export interface RolloutSyncInit {
  track: RolloutTrack
  log: Logger
  timeoutMs?: number | undefined
}

export interface RolloutSyncComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  candidateSync: EnvelopeSync
}

export interface RolloutSync {
  /** The rollout topic's validator: a head is forwarded once the version it names is held here. */
  readonly topic: TopicHandler
}

/**
 * Rollout heads travel on their own topic; one naming a version not held yet
 * is forwarded only once its body has been pulled over the candidate sync
 * protocol, so whoever hears it from this node can pull it here. A node that
 * connects asks its peer for the head it holds (gossip does not replay).
 */
class RolloutSyncService implements RolloutSync, Startable {
  readonly [Symbol.toStringTag] = 'dime-rollout-sync'
  readonly [serviceCapabilities] = ['dime/rollout-sync']
  readonly [serviceDependencies] = ['@libp2p/identify']
  readonly topic: TopicHandler
  private readonly protocol: string
  private readonly log: Logger
  private readonly timeoutMs: number

  constructor (private readonly components: RolloutSyncComponents, private readonly init: RolloutSyncInit) {
    const mesh = init.track.candidates.mesh
    this.protocol = rolloutHeadProtocol(mesh)
    this.log = init.log.child({ component: 'rollout-sync' })
    this.timeoutMs = init.timeoutMs ?? SYNC_TIMEOUT_MS
    this.topic = { topic: rolloutTopic(mesh), validate: async (data, _from, via) => await this.offer(data, peerIdFromString(via)) }
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, async (stream, connection) => { await this.answer(stream, connection) })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    await this.components.registrar.unhandle(this.protocol)
  }

  private async offer (bytes: Uint8Array, from: PeerId): Promise<Verdict> {
    const { verdict, head, carried } = this.init.track.offerHead(bytes, `rollout:${from.toString()}`)
    if (head === undefined || head.state === 'rolled-back') return verdict
    await this.components.candidateSync.pull(head.version, from, carried)
    return this.init.track.candidates.highestVersion() >= head.version ? verdict : 'ignore'
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    if (!event.detail.protocols.includes(this.protocol)) return
    const peer = event.detail.peerId
    this.ask(peer).catch((err: unknown) => { this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'rollout head not fetched') })
  }

  private async ask (peer: PeerId): Promise<void> {
    const answer = await readOneFrame(this.components.connectionManager, peer, this.protocol, MAX_ROLLOUT_HEAD_BYTES, this.timeoutMs)
    if (answer.byteLength > 0) await this.offer(answer, peer)
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    await writeOneFrame(stream, this.init.track.headBytes() ?? new Uint8Array(0), this.timeoutMs).catch((err: unknown) => {
      this.log.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'rollout head request dropped')
    })
  }
}

export function rolloutSync (init: RolloutSyncInit): (components: RolloutSyncComponents) => RolloutSync {
  return (components) => new RolloutSyncService(components, init)
}
