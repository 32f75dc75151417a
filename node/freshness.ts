/**
 * How long ago a node last heard verified news from a publisher (a beacon or
 * a new config), by its own clock. Stale is something to report: nothing is
 * ever dropped for it.
 */
export class Freshness {
  private lastHeardAt: number | undefined
  private newestAnnouncement = 0

  constructor (private readonly startedAt: number, private readonly staleAfterMs: number) {}

  /**
   * Records a beacon signed at `announcedAt`; false when it is no newer than
   * one already heard (a replay, or the same beacon by another path).
   */
  heardBeacon (announcedAt: string, now: number): boolean {
    const at = Date.parse(announcedAt)
    if (at <= this.newestAnnouncement) return false
    this.newestAnnouncement = at
    this.heard(now)
    return true
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
