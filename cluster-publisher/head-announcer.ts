import { beaconTopic, BEACON_INTERVAL_MS } from '../node/constants.js'
import { sealBeacon } from '../node/head-beacon.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import type { Logger } from '../node/logger.js'
import type { SigningKey } from '../node/signing-keys.js'

export interface HeadAnnouncerInit {
  signingKey: SigningKey
  log: Logger
  intervalMs?: number | undefined
  now?: (() => number) | undefined
}

export interface HeadAnnouncerComponents {
  latest: LatestEnvelope
  mesh: {
    publish: (topic: string, data: Uint8Array) => Promise<number>
    /** The current envelope as a beacon carries it (undefined when too large: peers pull it). */
    carried: () => Promise<Uint8Array | undefined>
  }
}

/**
 * Announces the newest head: at once when it changes, carrying the body when
 * it is small (peers pull it otherwise), and again every interval, without
 * it, so edges can tell "no news" from "cut off".
 */
export class HeadAnnouncer {
  private timer: NodeJS.Timeout | undefined
  private readonly intervalMs: number
  private readonly now: () => number
  private announced = 0

  constructor (private readonly components: HeadAnnouncerComponents, private readonly init: HeadAnnouncerInit) {
    this.intervalMs = init.intervalMs ?? BEACON_INTERVAL_MS
    this.now = init.now ?? Date.now
  }

  start (): void {
    this.timer = setInterval(() => { void this.announce() }, this.intervalMs)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Resolves with how many peers the beacon went to directly. */
  async announce (): Promise<number> {
    const current = this.components.latest.current()
    if (current === undefined || current.head.keyId !== this.init.signingKey.keyId) return 0
    try {
      const carried = current.head.version > this.announced ? await this.components.mesh.carried() : undefined
      this.announced = Math.max(this.announced, current.head.version)
      return await this.components.mesh.publish(beaconTopic(current.head.mesh), sealBeacon(current.head, new Date(this.now()), this.init.signingKey, carried))
    } catch (err) {
      this.init.log.warn({ err: (err as Error).message }, 'head beacon not sent')
      return 0
    }
  }
}
