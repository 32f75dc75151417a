import { serviceDependencies, type Connection, type PeerStore, type Startable } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { JOIN_GRACE_MS, PEER_CHECK_INTERVAL_MS } from '../constants.js'
import type { Logger } from '../logger.js'

export interface ConnectionCapInit {
  /** The connections this node keeps. libp2p admits a few more (JOIN_HEADROOM), so a newcomer can still learn of the mesh. */
  maxConnections: number
  log: Logger
  /** How long a connection over the cap is kept: its peer identifies, exchanges peers and syncs meanwhile. */
  graceMs?: number | undefined
  checkIntervalMs?: number | undefined
  /** Told of every connection closed for being over the cap. */
  countShed?: (() => void) | undefined
}

export interface ConnectionCapComponents {
  connectionManager: ConnectionManager
  peerStore: PeerStore
}

export interface ConnectionCap {
  /** Whether this node holds more connections than it keeps: a peer exchange answer then says so. */
  full(): boolean
}

/**
 * Holds a node at its number of connections, whatever the fleet's size: a
 * newcomer is let in for a grace period (enough to learn other peers and the
 * newest config, and to be told this node is full), then connections over
 * the cap are closed: untagged ones first (gossipsub tags its mesh peers, the
 * keeper its bootstrap peers, as libp2p's own pruner weighs them), the newest
 * first. Level-triggered: a check runs every interval.
 */
class ConnectionCapService implements ConnectionCap, Startable {
  readonly [Symbol.toStringTag] = 'dime-connection-cap'
  readonly [serviceDependencies] = ['@libp2p/identify']
  private timer: NodeJS.Timeout | undefined
  private checking = false

  constructor (private readonly components: ConnectionCapComponents, private readonly init: ConnectionCapInit) {}

  start (): void {
    this.timer = setInterval(() => { void this.check() }, this.init.checkIntervalMs ?? PEER_CHECK_INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  full (): boolean {
    return this.components.connectionManager.getConnections().length > this.init.maxConnections
  }

  private async check (): Promise<void> {
    if (this.checking) return
    this.checking = true
    try {
      const connections = this.components.connectionManager.getConnections()
      const excess = connections.length - this.init.maxConnections
      if (excess <= 0) return
      const graceEnds = Date.now() - (this.init.graceMs ?? JOIN_GRACE_MS)
      const sheddable: Array<{ connection: Connection, value: number }> = []
      for (const connection of connections) {
        if (connection.timeline.open <= graceEnds) sheddable.push({ connection, value: await this.tagValue(connection) })
      }
      const order = sheddable.sort((a, b) => a.value - b.value || b.connection.timeline.open - a.connection.timeline.open).slice(0, excess)
      for (const { connection } of order) {
        // Others may have closed meanwhile (a peer left, a link was cut): shed only what is still over.
        if (!this.full()) return
        this.init.countShed?.()
        this.init.log.debug({ peer: connection.remotePeer.toString() }, 'over the connection cap: closing the newest connection')
        await connection.close().catch((err: Error) => { connection.abort(err) })
      }
    } finally {
      this.checking = false
    }
  }

  private async tagValue (connection: Connection): Promise<number> {
    const peer = await this.components.peerStore.get(connection.remotePeer).catch(() => undefined)
    return [...peer?.tags.values() ?? []].reduce((sum, tag) => sum + tag.value, 0)
  }
}

export function connectionCap (init: ConnectionCapInit): (components: ConnectionCapComponents) => ConnectionCap {
  return (components) => new ConnectionCapService(components, init)
}
