import { serviceDependencies, setMaxListeners, type Connection, type IdentifyResult, type Libp2pEvents, type PeerStore, type Startable, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Ping } from '@libp2p/ping'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { BOOTSTRAP_PING_INTERVAL_MS, BOOTSTRAP_PING_TIMEOUT_MS, BOOTSTRAP_REDIAL_MAX_MS, FULL_PEER_REDIAL_MAX_MS, FULL_PEER_REDIAL_MIN_MS, KNOWN_PEER_REDIAL_MAX_MS, PEER_CHECK_INTERVAL_MS, REDIAL_MIN_MS, TARGET_PEERS } from '../constants.js'
import { backoffDelay } from '../backoff.js'
import { withDefaults, type Filled } from '../defaults.js'
import type { Logger } from '../logger.js'
import type { PeerBook } from './peer-book.js'

export interface PeerKeeperInit {
  bootstrap: Multiaddr[]
  book: PeerBook
  log: Logger
  targetPeers?: number | undefined
  minDelayMs?: number | undefined
  /** Longest wait between two dials of a bootstrap address. */
  bootstrapMaxDelayMs?: number | undefined
  /** Longest wait between two dials of another known peer. */
  knownPeerMaxDelayMs?: number | undefined
  checkIntervalMs?: number | undefined
  pingIntervalMs?: number | undefined
  pingTimeoutMs?: number | undefined
  /** Peers whose last peer exchange answer said they are over their connection cap. */
  atCapacity?: ReadonlySet<string> | undefined
  /** Wait before redialling a bootstrap peer that said it is full, while other peers are connected. */
  fullPeerMinDelayMs?: number | undefined
  fullPeerMaxDelayMs?: number | undefined
  /** Asks a connected peer for the peers it knows: how many were new. Used while too few are known to reach the target. */
  askForPeers?: (() => Promise<number>) | undefined
  /** Told of every dial this keeper makes: to a bootstrap address or a known peer, and whether it connected. */
  countDial?: ((target: 'bootstrap' | 'known-peer', outcome: 'connected' | 'failed') => void) | undefined
}

export interface PeerKeeperComponents {
  /** The node's ping service: a round trip to a connected peer, rejected when it does not answer. */
  ping: Ping
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  peerStore: PeerStore
}

/** Delay before attempt `n` (0-based): doubling from min, capped at max, jittered over its upper half. */
export function redialDelay (attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = backoffDelay(attempt + 1, minMs, maxMs)
  return ceiling / 2 + random() * ceiling / 2
}

interface Backoff { attempts: number, nextAttemptAt: number }

/** The connection manager's tag on bootstrap peers: kept when connections are pruned. */
const BOOTSTRAP_TAG = 'dime-bootstrap'

/**
 * Keeps the node connected, forever and without a restart:
 * - every bootstrap address is redialled whenever it is not connected, with
 *   jittered backoff capped at about a second (libp2p's own retries give up
 *   after a few), so however long a partition lasts, its heal is seen at once;
 *   a connected bootstrap peer is pinged, and hung up on when it stops
 *   answering, since a cut link leaves TCP believing it is still connected;
 * - a peer that said it is full (a publisher or an edge at its connection
 *   cap), bootstrap or known, is redialled seldom, doubling from half a
 *   minute to thirty, as long as this node has other connections: it reaches the
 *   mesh through them. Dialled as any known peer, it would be let in, told
 *   to go and closed again every grace period;
 * - while fewer than `targetPeers` are connected, known peers from the peer
 *   book are dialled, each with its own backoff; while too few are known, a
 *   connected peer is asked for more (backing off while none are new).
 *   Level-triggered: a check runs every interval and on every disconnect,
 *   whatever happened in between.
 * Bootstrap peers are tagged, so the connection manager keeps them.
 */
class PeerKeeper implements Startable {
  readonly [Symbol.toStringTag] = 'dime-peer-keeper'
  readonly [serviceDependencies] = ['@libp2p/ping', '@libp2p/identify']
  private readonly init: Filled<PeerKeeperInit>
  private controller = new AbortController()
  private loops: Array<Promise<void>> = []
  private timer: NodeJS.Timeout | undefined
  private readonly backoff = new Map<string, Backoff>()
  /** Peers that said they are full: when each may be dialled again. */
  private readonly fullPeers = new Map<string, Backoff>()
  private readonly dialing = new Set<string>()
  /** Asking for peers backs off while answers name no one new. */
  private asking = false
  private askBackoff: Backoff = { attempts: 0, nextAttemptAt: 0 }

  constructor (private readonly components: PeerKeeperComponents, init: PeerKeeperInit) {
    this.init = withDefaults({
      targetPeers: TARGET_PEERS,
      minDelayMs: REDIAL_MIN_MS,
      bootstrapMaxDelayMs: BOOTSTRAP_REDIAL_MAX_MS,
      knownPeerMaxDelayMs: KNOWN_PEER_REDIAL_MAX_MS,
      checkIntervalMs: PEER_CHECK_INTERVAL_MS,
      pingIntervalMs: BOOTSTRAP_PING_INTERVAL_MS,
      pingTimeoutMs: BOOTSTRAP_PING_TIMEOUT_MS,
      atCapacity: new Set<string>(),
      fullPeerMinDelayMs: FULL_PEER_REDIAL_MIN_MS,
      fullPeerMaxDelayMs: FULL_PEER_REDIAL_MAX_MS,
      countDial: () => {},
      askForPeers: async () => 0
    }, { ...init, log: init.log.child({ component: 'peers' }) })
  }

  start (): void {
    this.controller = new AbortController()
    // One signal serves every dial for the node's lifetime (as in libp2p's own services).
    setMaxListeners(Infinity, this.controller.signal)
    this.loops = this.init.bootstrap.map(async address => { await this.keepConnected(address, this.controller.signal) })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:disconnect', this.check)
    this.timer = setInterval(this.check, this.init.checkIntervalMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    this.controller.abort()
    clearInterval(this.timer)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:disconnect', this.check)
    await Promise.allSettled(this.loops)
  }

  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    this.init.book.learn(event.detail.peerId.toString(), event.detail.listenAddrs.map(String))
  }

  /** Dials known peers, with per-peer backoff, until the target is met. */
  private readonly check = (): void => {
    if (this.controller.signal.aborted) return
    const connected = new Set(this.components.connectionManager.getConnections().map(c => c.remotePeer.toString()))
    const wanted = this.init.targetPeers - connected.size - this.dialing.size
    if (wanted <= 0) return
    const now = Date.now()
    this.trackFullPeers(now)
    const candidates = this.init.book.list()
      .filter(peer => !connected.has(peer.id) && !this.dialing.has(peer.id) && this.due(peer.id, now, connected.size))
      .sort(() => Math.random() - 0.5)
      .slice(0, wanted)
    for (const peer of candidates) {
      if (this.fullPeers.has(peer.id)) this.nextFullDial(peer.id, now)
      void this.dialKnown(peer.id, peer.addresses)
    }
    if (candidates.length < wanted) this.askForPeers(now)
  }

  /** A full peer waits out its own delay while others are connected; any other, its dial backoff. */
  private due (id: string, now: number, connected: number): boolean {
    const full = this.fullPeers.get(id)
    if (full !== undefined && connected > 0) return full.nextAttemptAt <= now
    return (this.backoff.get(id)?.nextAttemptAt ?? 0) <= now
  }

  /** Starts the wait of each peer newly said to be full; forgets those whose latest answer said they are not. */
  private trackFullPeers (now: number): void {
    for (const id of this.fullPeers.keys()) {
      if (!this.init.atCapacity.has(id)) this.fullPeers.delete(id)
    }
    for (const id of this.init.atCapacity) {
      if (!this.fullPeers.has(id)) this.nextFullDial(id, now)
    }
  }

  /** When a peer that said it is full is due: as scheduled (a check may have seen it first), or scheduled now. */
  private fullDialAt (id: string, now: number): number {
    const full = this.fullPeers.get(id)
    return full !== undefined && full.nextAttemptAt > now ? full.nextAttemptAt : this.nextFullDial(id, now)
  }

  /** Schedules the next dial of a peer that said it is full, each wait twice the last: when it is due. */
  private nextFullDial (id: string, now: number): number {
    const attempts = this.fullPeers.get(id)?.attempts ?? 0
    const nextAttemptAt = now + redialDelay(attempts, this.init.fullPeerMinDelayMs, this.init.fullPeerMaxDelayMs)
    this.fullPeers.set(id, { attempts: attempts + 1, nextAttemptAt })
    return nextAttemptAt
  }

  /**
   * A node that joined through a peer that knew few others (the first edges
   * to reach a publisher) would otherwise know no more than that answer:
   * cut from that peer, it would be alone.
   */
  private askForPeers (now: number): void {
    if (this.asking || now < this.askBackoff.nextAttemptAt) return
    this.asking = true
    void this.init.askForPeers().catch(() => 0).then(learned => {
      const attempts = learned > 0 ? 0 : this.askBackoff.attempts + 1
      this.askBackoff = { attempts, nextAttemptAt: Date.now() + redialDelay(attempts, this.init.checkIntervalMs, this.init.knownPeerMaxDelayMs) }
      this.asking = false
      if (learned > 0) this.check()
    })
  }

  private async dialKnown (id: string, addresses: string[]): Promise<void> {
    this.dialing.add(id)
    try {
      const peerId = peerIdFromString(id)
      await this.components.peerStore.merge(peerId, { multiaddrs: addresses.map(address => multiaddr(address)) })
      await this.components.connectionManager.openConnection(peerId, { signal: this.controller.signal })
      this.init.countDial('known-peer', 'connected')
      this.backoff.delete(id)
    } catch (err) {
      this.init.countDial('known-peer', 'failed')
      const attempts = (this.backoff.get(id)?.attempts ?? 0) + 1
      this.backoff.set(id, { attempts, nextAttemptAt: Date.now() + redialDelay(attempts, this.init.minDelayMs, this.init.knownPeerMaxDelayMs) })
      this.init.log.debug({ peer: id, attempts, err: (err as Error).message }, 'known peer unreachable')
    } finally {
      this.dialing.delete(id)
    }
  }

  private async keepConnected (address: Multiaddr, signal: AbortSignal): Promise<void> {
    const log = this.init.log.child({ bootstrap: address.toString() })
    let attempt = 0
    let lastError = ''
    while (!signal.aborted) {
      try {
        const connection = await this.components.connectionManager.openConnection(address, { signal })
        this.init.countDial('bootstrap', 'connected')
        const peer = connection.remotePeer.toString()
        log.info({ peer }, 'connected to bootstrap peer')
        await this.components.peerStore.merge(connection.remotePeer, { tags: { [BOOTSTRAP_TAG]: { value: 50 } } }).catch(() => {})
        attempt = 0
        lastError = ''
        await this.watch(connection, signal, log)
        if (signal.aborted) return
        if (this.init.atCapacity.has(peer) && this.othersConnected()) {
          const delay = this.fullDialAt(peer, Date.now()) - Date.now()
          log.info({ peer, redialInSeconds: Math.round(delay / 1000) }, 'bootstrap peer is full; reaching the mesh through other peers')
          await this.sleepWhileOthersConnected(delay, signal)
          continue
        }
        this.fullPeers.delete(peer)
        log.warn('bootstrap connection lost; redialling')
      } catch (err) {
        if (signal.aborted) return
        this.init.countDial('bootstrap', 'failed')
        const message = (err as Error).message
        if (message !== lastError) log.warn({ err: message }, 'bootstrap peer unreachable; retrying with backoff')
        lastError = message
        attempt++
      }
      await sleep(redialDelay(attempt, this.init.minDelayMs, this.init.bootstrapMaxDelayMs), signal)
    }
  }

  private othersConnected (): boolean {
    return this.components.connectionManager.getConnections().length > 0
  }

  /** Waits `ms`, or less once this node has no connection left (a bootstrap address is then its way back). */
  private async sleepWhileOthersConnected (ms: number, signal: AbortSignal): Promise<void> {
    const until = Date.now() + ms
    while (!signal.aborted && Date.now() < until && this.othersConnected()) {
      await sleep(Math.min(this.init.checkIntervalMs, until - Date.now()), signal)
    }
  }

  /** Resolves once the connection closes; hangs it up first if its peer stops answering pings. */
  private async watch (connection: Connection, signal: AbortSignal, log: Logger): Promise<void> {
    const closed = this.closed(connection, signal)
    // Aborted once the connection closes, or the keeper stops (closed() resolves then too).
    const gone = new AbortController()
    void closed.then(() => { gone.abort() })
    while (!gone.signal.aborted) {
      await sleep(this.init.pingIntervalMs, gone.signal)
      if (gone.signal.aborted) break
      try {
        await this.components.ping.ping(connection.remotePeer, { signal: AbortSignal.timeout(this.init.pingTimeoutMs) })
      } catch (err) {
        if (gone.signal.aborted) break
        log.warn({ err: (err as Error).message }, 'bootstrap peer stopped answering pings; hanging up to redial')
        connection.abort(err as Error)
        break
      }
    }
    await closed
  }

  private async closed (connection: Connection, signal: AbortSignal): Promise<void> {
    if (connection.status !== 'open') return
    await new Promise<void>(resolve => {
      const onClose = (event: CustomEvent<Connection>): void => {
        if (event.detail.id === connection.id) done()
      }
      const done = (): void => {
        this.components.events.removeEventListener('connection:close', onClose)
        signal.removeEventListener('abort', done)
        resolve()
      }
      this.components.events.addEventListener('connection:close', onClose)
      signal.addEventListener('abort', done)
    })
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}

export function peerKeeper (init: PeerKeeperInit): (components: PeerKeeperComponents) => Startable {
  return (components) => new PeerKeeper(components, init)
}

