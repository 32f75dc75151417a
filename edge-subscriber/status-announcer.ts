import { ANNOUNCE_INTERVAL_MS, ANNOUNCE_JITTER_MS, ANNOUNCE_MIN_GAP_MS, statusTopic } from '../node/constants.js'
import { encodeAnnouncement, type PeerAnnouncement } from '../node/peer-announcement.js'
import type { Logger } from '../node/logger.js'

export interface StatusAnnouncerInit {
  mesh: string
  log: Logger
  intervalMs?: number
  minGapMs?: number
  /**
   * After a change, wait a random time up to this long: a new version reaches
   * every edge at once, and their announcements should not all arrive together.
   */
  jitterMs?: number
  random?: () => number
}

export interface StatusAnnouncerComponents {
  announcement: () => PeerAnnouncement
  publish: (topic: string, data: Uint8Array) => Promise<number>
  /** Sends straight to the publishers this edge is connected to; resolves with how many got it. */
  report: (data: Uint8Array) => Promise<number>
}

/**
 * Tells the mesh what this edge serves and where it can be dialled, by
 * gossip every interval; never more often than the minimum gap. After a
 * change (`poke`) it tells the publishers straight away, as an Envoy tells
 * its control plane it took a config: gossiped, the news of every edge would
 * reach every node, so each new version would cost each edge one message
 * per edge. Only when no publisher is connected does it gossip instead.
 */
export class StatusAnnouncer {
  private readonly intervalMs: number
  private readonly minGapMs: number
  private readonly jitterMs: number
  private readonly random: () => number
  private readonly topic: string
  private timer: NodeJS.Timeout | undefined
  private lastSentAt = 0

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
    this.schedule(Math.max(this.random() * this.jitterMs, this.lastSentAt + this.minGapMs - Date.now()), true)
  }

  private schedule (delayMs: number, change = false): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.announce(change) }, delayMs)
  }

  private async announce (change: boolean): Promise<void> {
    this.lastSentAt = Date.now()
    this.schedule(this.intervalMs)
    const data = encodeAnnouncement(this.components.announcement())
    try {
      if (change && await this.components.report(data) > 0) return
      await this.components.publish(this.topic, data)
    } catch (err) {
      this.init.log.debug({ err: (err as Error).message }, 'status announcement not sent')
    }
  }
}
