import { serviceCapabilities, serviceDependencies, type Connection, type IdentifyResult, type Libp2pEvents, type PeerId, type Startable, type Stream, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { readOneFrame, writeOneFrame } from './one-frame.js'
import { canonicalBytes } from '../canonical-json.js'
import { EXCHANGED_PEERS, peerExchangeProtocol, SYNC_TIMEOUT_MS } from '../constants.js'
import type { Logger } from '../logger.js'
import { isObject, parseMeshJson } from '../signed-frame.js'
import type { PeerBook } from './peer-book.js'

const MAX_ADDRESSES = 8
const MAX_FIELD_LENGTH = 256
/** Room for EXCHANGED_PEERS peers of MAX_ADDRESSES addresses each, and more than an honest answer needs. */
const MAX_ANSWER_BYTES = 64 * 1024

/** An answer to a peer exchange that is not a list of peers. */
export class InvalidPeerListError extends Error {
  override readonly name: string = 'InvalidPeerListError'
}

export interface PeerExchangeInit {
  mesh: string
  book: PeerBook
  log: Logger
  /** Whether this node is over its connection cap: answers then say so, and the asker keeps away. */
  full?: (() => boolean) | undefined
  /** The peers whose last answer said they are full (the keeper redials them seldom). */
  atCapacity?: Set<string> | undefined
  /** Told of every exchange this node asked for: learned (a valid list, even empty), refused (malformed) or failed (no answer). */
  countExchange?: ((outcome: 'learned' | 'refused' | 'failed') => void) | undefined
  timeoutMs?: number | undefined
}

export interface PeerExchangeComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
}

/** Asks connected peers for the peers they know. */
export interface PeerExchange {
  /** Asks one connected peer that speaks the exchange, chosen at random: how many peers it named that this node did not know. */
  askAnyone(): Promise<number>
}

interface ExchangedPeer { id: string, addresses: string[] }
/** An answer: peers, and whether the answering node is over its connection cap (absent from earlier releases: not full). */
interface PeerList { peers: ExchangedPeer[], full: boolean }

/**
 * Tells a node where the mesh's other members listen as soon as it connects,
 * so edges that start together know each other within seconds, not after
 * their next gossiped announcement. On every identified peer that speaks the
 * protocol, this node asks; the peer answers with the peers it knows of
 * (connected ones first), which go into the peer book the keeper dials from.
 * A node of an earlier release does not list the protocol and is not asked.
 */
class PeerExchangeService implements PeerExchange, Startable {
  readonly [Symbol.toStringTag] = 'dime-peer-exchange'
  readonly [serviceCapabilities] = ['dime/peer-exchange']
  readonly [serviceDependencies] = ['@libp2p/identify']
  private readonly protocol: string
  private readonly log: Logger
  private readonly timeoutMs: number
  private readonly countExchange: (outcome: 'learned' | 'refused' | 'failed') => void
  /** Peers that listed the exchange when they identified. */
  private readonly speakers = new Set<string>()

  constructor (private readonly components: PeerExchangeComponents, private readonly init: PeerExchangeInit) {
    this.protocol = peerExchangeProtocol(init.mesh)
    this.log = init.log.child({ component: 'peer-exchange' })
    this.timeoutMs = init.timeoutMs ?? SYNC_TIMEOUT_MS
    this.countExchange = init.countExchange ?? (() => {})
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, async (stream, connection) => { await this.answer(stream, connection) })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    await this.components.registrar.unhandle(this.protocol)
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    if (!event.detail.protocols.includes(this.protocol)) return
    this.speakers.add(event.detail.peerId.toString())
    void this.askCounted(event.detail.peerId)
  }

  async askAnyone (): Promise<number> {
    const connected = this.components.connectionManager.getConnections().map(c => c.remotePeer).filter(peer => this.speakers.has(peer.toString()))
    for (const gone of this.speakers) {
      if (!connected.some(peer => peer.toString() === gone)) this.speakers.delete(gone)
    }
    const peer = connected[Math.floor(Math.random() * connected.length)]
    return peer === undefined ? 0 : await this.askCounted(peer)
  }

  /** Asks `peer`, counting the outcome; a failure is logged and learns nothing. */
  private async askCounted (peer: PeerId): Promise<number> {
    try {
      const learned = await this.ask(peer)
      this.countExchange('learned')
      return learned
    } catch (err) {
      this.countExchange(err instanceof InvalidPeerListError ? 'refused' : 'failed')
      this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'peer exchange failed')
      return 0
    }
  }

  private async ask (peer: PeerId): Promise<number> {
    const answer = decodePeerList(await readOneFrame(this.components.connectionManager, peer, this.protocol, MAX_ANSWER_BYTES, this.timeoutMs))
    const known = new Set(this.init.book.list().map(p => p.id))
    for (const named of answer.peers) this.init.book.learn(named.id, named.addresses)
    const id = peer.toString()
    if (!answer.full) this.init.atCapacity?.delete(id)
    else if (this.init.atCapacity?.has(id) === false) {
      this.log.debug({ peer: id }, 'peer is over its connection cap; dialled seldom')
      this.init.atCapacity.add(id)
    }
    return this.init.book.list().filter(p => !known.has(p.id)).length
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const asker = connection.remotePeer.toString()
    const connected = new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
    const peers = this.init.book.list()
      .filter(peer => peer.id !== asker)
      .sort((a, b) => Number(connected.has(b.id)) - Number(connected.has(a.id)) || b.lastSeen - a.lastSeen)
      .slice(0, EXCHANGED_PEERS)
      .map(({ id, addresses }) => ({ id, addresses }))
    // An earlier release reads `peers` only.
    const full = this.init.full?.() === true ? { full: true } : {}
    await writeOneFrame(stream, canonicalBytes({ peers, ...full }), this.timeoutMs).catch(() => {})
  }
}

/** The peers of an answer; throws InvalidPeerListError unless it is exactly a bounded list of them. */
export function decodePeerList (bytes: Uint8Array): PeerList {
  const value = parseMeshJson(bytes, () => new InvalidPeerListError('peer list is not JSON'))
  if (!isObject(value) || !Array.isArray(value.peers) || value.peers.length > EXCHANGED_PEERS || !value.peers.every(isExchangedPeer)) {
    throw new InvalidPeerListError(`peer list is not a list of at most ${EXCHANGED_PEERS} peers with at most ${MAX_ADDRESSES} addresses each`)
  }
  return { peers: value.peers, full: value.full === true }
}

function isExchangedPeer (value: unknown): value is ExchangedPeer {
  return isObject(value) && isShortString(value.id) &&
    Array.isArray(value.addresses) && value.addresses.length <= MAX_ADDRESSES && value.addresses.every(isShortString)
}

function isShortString (value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_FIELD_LENGTH
}

export function peerExchange (init: PeerExchangeInit): (components: PeerExchangeComponents) => PeerExchange {
  return (components) => new PeerExchangeService(components, init)
}
