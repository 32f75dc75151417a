/**
 * How long ago a node last heard verified news from a publisher (a beacon or
 * a new config), by its own clock. Stale is something to report: nothing is
 * ever dropped for it.
 */
export class Freshness {
  private lastHeardAt: number | undefined
  private newest = { version: 0, announcedAt: 0 }

  constructor (private readonly startedAt: number, private readonly staleAfterMs: number) {}

  /**
   * A beacon no newer than one already heard: a replay, or the same beacon by
   * another path. Newer means a higher version, or the same version announced
   * later: a replacement publisher whose clock is behind announces a higher
   * version, so its beacons count.
   */
  isReplay (version: number, announcedAt: string): boolean {
    const at = Date.parse(announcedAt)
    return version < this.newest.version || (version === this.newest.version && at <= this.newest.announcedAt)
  }

  /** Records a beacon whose version this node serves. */
  heardBeacon (version: number, announcedAt: string, now: number): void {
    if (!this.isReplay(version, announcedAt)) this.newest = { version, announcedAt: Date.parse(announcedAt) }
    this.heard(now)
  }

  heard (now: number): void {
    this.lastHeardAt = now
  }

  /** Milliseconds since the last news, or undefined when none was ever heard. */
  ageMs (now: number): number | undefined {
    return this.lastHeardAt === undefined ? undefined : now - this.lastHeardAt
  }

  isStale (now: number): boolean {
    return now - (this.lastHeardAt ?? this.startedAt) > this.staleAfterMs
  }
}
