import type { GossipSub } from '@libp2p/gossipsub'
import { serviceDependencies, type PeerId, type PeerStore, type Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { GOSSIP_LINK_GRACE_MS, PEER_CHECK_INTERVAL_MS } from '../constants.js'
import type { Logger } from '../logger.js'

export interface GossipLinksInit {
  /** A topic every member of the mesh subscribes to: a peer not heard subscribing to it has no working gossip link. */
  topic: string
  log: Logger
  checkIntervalMs?: number | undefined
  /** Told of every peer hung up on for it. */
  countReset?: (() => void) | undefined
}

export interface GossipLinksComponents {
  pubsub: GossipSub
  connectionManager: ConnectionManager
  peerStore: PeerStore
}

/**
 * Gossipsub opens its streams to a peer only when a connection to it opens,
 * and forgets the peer when one of them fails; it never opens them again
 * while the connection lives (libp2p/js-libp2p#2771,
 * ChainSafe/js-libp2p-gossipsub#456). A stream reset, or a connection
 * replaced while the old one's streams were still closing, leaves a peer
 * connected but deaf: measured, a publisher cut off from every edge but one
 * whose link to that one was left so, with no inbound gossip stream and none
 * of its subscriptions, sent it no beacon and heard no report for minutes.
 * Level-triggered: every interval, a peer that speaks gossipsub, connected
 * for longer than the grace, that this node has not heard subscribe to the
 * mesh's topic is hung up on; the peer keepers dial again and gossipsub
 * starts afresh on the new connection.
 */
class GossipLinks implements Startable {
  readonly [Symbol.toStringTag] = 'dime-gossip-links'
  readonly [serviceDependencies] = ['@libp2p/pubsub', '@libp2p/identify']
  private timer: NodeJS.Timeout | undefined
  private checking = false

  constructor (private readonly components: GossipLinksComponents, private readonly init: GossipLinksInit) {}

  start (): void {
    this.timer = setInterval(() => { void this.check() }, this.init.checkIntervalMs ?? PEER_CHECK_INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  private async check (): Promise<void> {
    if (this.checking) return
    this.checking = true
    try {
      for (const peer of this.unheardPeers()) {
        if (!await this.speaksGossip(peer)) continue
        this.init.countReset?.()
        this.init.log.info({ peer: peer.toString() }, 'no gossip heard from a connected peer (its gossip stream was reset); hanging up so both ends start again')
        await this.components.connectionManager.closeConnections(peer).catch(() => {})
      }
    } finally {
      this.checking = false
    }
  }

  /** Peers connected since before the grace whose subscriptions this node has not heard. */
  private unheardPeers (): PeerId[] {
    const subscribed = new Set(this.components.pubsub.getSubscribers(this.init.topic).map(String))
    const graceEnds = Date.now() - GOSSIP_LINK_GRACE_MS
    const peers = new Map<string, PeerId>()
    for (const connection of this.components.connectionManager.getConnections()) {
      const id = connection.remotePeer.toString()
      if (connection.timeline.open <= graceEnds && !subscribed.has(id)) peers.set(id, connection.remotePeer)
    }
    return [...peers.values()]
  }

  private async speaksGossip (peer: PeerId): Promise<boolean> {
    const known = await this.components.peerStore.get(peer).catch(() => undefined)
    return known?.protocols.some(protocol => protocol.startsWith('/meshsub/')) === true
  }
}

export function gossipLinks (init: GossipLinksInit): (components: GossipLinksComponents) => Startable {
  return (components) => new GossipLinks(components, init)
}
