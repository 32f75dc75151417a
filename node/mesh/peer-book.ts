import type { Logger } from '../logger.js'

export interface KnownPeer {
  readonly id: string
  readonly addresses: string[]
  /** When the peer was last heard of, in ms since the epoch. */
  readonly lastSeen: number
}

/** Where a node keeps the peers it has learned of between restarts. */
export interface PeerBookStore {
  load(): Promise<KnownPeer[]>
  save(peers: KnownPeer[]): Promise<void>
}

export function memoryPeerBookStore (): PeerBookStore {
  let saved: KnownPeer[] = []
  return { load: async () => saved, save: async peers => { saved = peers } }
}

const MAX_KNOWN_PEERS = 256
const MAX_ADDRESSES_PER_PEER = 8
const SAVE_DELAY_MS = 1000
const DIALABLE = /^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d{1,5}$/

/**
 * The peers a node has heard of (from identify and from their own
 * announcements), so that after a restart it can find other edges again
 * even when the publisher is out of reach.
 */
export class PeerBook {
  private readonly peers = new Map<string, KnownPeer>()
  private saveTimer: NodeJS.Timeout | undefined
  private saving: Promise<void> = Promise.resolve()

  constructor (private readonly selfId: string, private readonly store: PeerBookStore, private readonly log: Logger) {}

  async load (): Promise<void> {
    try {
      for (const peer of await this.store.load()) this.peers.set(peer.id, peer)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'known peers could not be loaded; starting from the bootstrap peers')
    }
  }

  /** Remembers where a peer listens; addresses may end in the peer's own `/p2p/ID`, as libp2p prints them. */
  learn (id: string, addresses: string[], now = Date.now()): void {
    const bare = addresses.map(address => address.endsWith(`/p2p/${id}`) ? address.slice(0, -`/p2p/${id}`.length) : address)
    const dialable = [...new Set(bare.filter(address => DIALABLE.test(address)))].slice(0, MAX_ADDRESSES_PER_PEER)
    if (id === this.selfId || dialable.length === 0) return
    const known = this.peers.get(id)
    const changed = known === undefined || known.addresses.join() !== dialable.join()
    this.peers.set(id, { id, addresses: dialable, lastSeen: now })
    if (this.peers.size > MAX_KNOWN_PEERS) this.dropOldest()
    if (changed) this.scheduleSave()
  }

  list (): KnownPeer[] {
    return [...this.peers.values()]
  }

  async flush (): Promise<void> {
    if (this.saveTimer !== undefined) {
      clearTimeout(this.saveTimer)
      this.saveTimer = undefined
      this.save()
    }
    await this.saving
  }

  private dropOldest (): void {
    const oldest = [...this.peers.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0]
    if (oldest !== undefined) this.peers.delete(oldest.id)
  }

  private scheduleSave (): void {
    this.saveTimer ??= setTimeout(() => { this.saveTimer = undefined; this.save() }, SAVE_DELAY_MS)
  }

  private save (): void {
    const peers = this.list()
    this.saving = this.saving.then(async () => { await this.store.save(peers) }).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'known peers could not be saved')
    })
  }
}
