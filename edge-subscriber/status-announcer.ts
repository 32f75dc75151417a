import { ANNOUNCE_INTERVAL_MS, ANNOUNCE_JITTER_MS, ANNOUNCE_MIN_GAP_MS, statusTopic } from '../node/constants.js'
import { encodeAnnouncement, type PeerAnnouncement } from '../node/peer-announcement.js'
import type { Logger } from '../node/logger.js'

export interface StatusAnnouncerInit {
  mesh: string
  log: Logger
  intervalMs?: number | undefined
  minGapMs?: number | undefined
  /**
   * After a change, wait a random time up to this long: a new version reaches
   * every edge at once, and their announcements should not all arrive together.
   */
  jitterMs?: number | undefined
  random?: (() => number) | undefined
  /** Told of each announcement by the way it went: direct (to a publisher), relayed (through edges), gossiped. */
  countReport?: ((way: ReportWay, bytes: number) => void) | undefined
}

export type ReportWay = 'direct' | 'relayed' | 'gossiped'

export interface StatusAnnouncerComponents {
  announcement: () => PeerAnnouncement
  publish: (topic: string, data: Uint8Array) => Promise<number>
  /** Sends straight to the publishers this edge is connected to, else to its upstream edge; resolves with the way it went, if either took it. */
  report: (data: Uint8Array) => Promise<'direct' | 'relayed' | undefined>
  /** How many peers this edge knows of: the bigger the mesh, the less often each edge gossips. */
  knownPeers: () => number
}

/**
 * Tells the publishers what this edge serves, straight to those it is
 * connected to, as an Envoy tells its control plane, or through the edge on
 * its way to them (a publisher keeps a bounded number of connections): after
 * each change (jittered) and every interval. Gossip reaches every node, so
 * each gossiped announcement costs every edge a verification: an edge gossips
 * only when neither way takes it, when it starts (so other edges learn
 * where to dial it), and, for the same reason, every interval times a
 * share of the mesh's size, so the whole mesh gossips a few announcements
 * an interval however large it grows.
 */
export class StatusAnnouncer {
  private readonly intervalMs: number
  private readonly minGapMs: number
  private readonly jitterMs: number
  private readonly random: () => number
  private readonly topic: string
  private timer: NodeJS.Timeout | undefined
  private lastSentAt = 0
  private nextGossipAt = 0

  constructor (private readonly components: StatusAnnouncerComponents, private readonly init: StatusAnnouncerInit) {
    this.intervalMs = init.intervalMs ?? ANNOUNCE_INTERVAL_MS
    this.minGapMs = init.minGapMs ?? ANNOUNCE_MIN_GAP_MS
    this.jitterMs = init.jitterMs ?? ANNOUNCE_JITTER_MS
    this.random = init.random ?? Math.random
    this.topic = statusTopic(init.mesh)
  }

  start (): void {
    this.schedule(this.minGapMs)
  }

  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Something changed: announce after a jittered delay, and no sooner than the rate limit allows. */
  poke (): void {
    if (this.timer === undefined) return
    this.schedule(Math.max(this.random() * this.jitterMs, this.lastSentAt + this.minGapMs - Date.now()))
  }

  private schedule (delayMs: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.announce() }, delayMs)
  }

  /** Every interval, a mesh of N known peers sees about GOSSIPED_PER_INTERVAL announcements gossiped. */
  private gossipIntervalMs (): number {
    return this.intervalMs * Math.max(1, (this.components.knownPeers() + 1) / GOSSIPED_PER_INTERVAL) * (0.75 + this.random() / 2)
  }

  private async announce (): Promise<void> {
    const now = Date.now()
    this.lastSentAt = now
    this.schedule(this.intervalMs)
    const data = encodeAnnouncement(this.components.announcement())
    try {
      const gossip = now >= this.nextGossipAt
      if (gossip) this.nextGossipAt = now + this.gossipIntervalMs()
      const way = await this.components.report(data)
      if (way !== undefined) this.init.countReport?.(way, data.byteLength)
      if (gossip || way === undefined) {
        await this.components.publish(this.topic, data)
        this.init.countReport?.('gossiped', data.byteLength)
      }
    } catch (err) {
      this.init.log.debug({ err: (err as Error).message }, 'status announcement not sent')
    }
  }
}

/** About how many announcements the whole mesh gossips each interval, once it is larger than this. */
const GOSSIPED_PER_INTERVAL = 4
