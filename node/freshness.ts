/**
 * How long ago a node last heard verified news from a publisher (a beacon or
 * a new config), by its own clock. Stale is something to report: nothing is
 * ever dropped for it.
 */
export class Freshness {
  private lastHeardAt: number | undefined
  private newestAnnouncement = 0

  constructor (private readonly startedAt: number, private readonly staleAfterMs: number) {}

  /** A beacon signed no later than one already heard: a replay, or the same beacon by another path. */
  isReplay (announcedAt: string): boolean {
    return Date.parse(announcedAt) <= this.newestAnnouncement
  }

  /** Records a beacon signed at `announcedAt` whose version this node serves. */
  heardBeacon (announcedAt: string, now: number): void {
    this.newestAnnouncement = Math.max(this.newestAnnouncement, Date.parse(announcedAt))
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
