import type { Labels } from '../node/edge-labels.js'
import type { AnnouncedHealth, PeerAnnouncement } from '../node/peer-announcement.js'

/** One edge as the publisher last heard of it. */
/** An edge's one state, the worst that applies: what the fleet page, `dime status` and the metric show. */
export const EDGE_STATES = ['up-to-date', 'behind', 'stale', 'missing'] as const
export type EdgeState = typeof EDGE_STATES[number]

export interface EdgeReport {
  peerId: string
  /** What operators call it (`dime edge --name`); null when not given. */
  name: string | null
  labels: Labels
  version: number | null
  state: EdgeState
  upToDate: boolean
  stale: boolean
  /** How long the version it serves took to reach it: its accept time minus the issue time (two clocks). */
  propagationMs: number | null
  lastSeenSecondsAgo: number
  /** Silent for longer than the missing threshold. */
  missing: boolean
  /** Where clients reach its Traefik (`dime edge --public-address`), if it said. */
  publicAddress: string | null
  /** Where other edges dial it. */
  meshAddresses: string[]
  /** How many mesh peers it is connected to, if it said. */
  peers: number | null
  /** The version its proxy (Traefik) last fetched from it, and how long ago by the edge's clock; null when it has not said. */
  fetchedVersion: number | null
  fetchedSecondsAgo: number | null
  /** It takes versions in rollout by wave; false for an edge of an earlier release (it gets them as the last wave). */
  takesRollouts: boolean
  /** What its backends answered for the version in rollout it serves, if it said. */
  health: AnnouncedHealth | null
}

interface Heard {
  announcement: PeerAnnouncement
  at: number
}

const ISSUE_TIMES_KEPT = 32

/** What every edge says it serves, and how each version spread: the data behind `/status` and `dime status`. */
export class Fleet {
  private readonly edges = new Map<string, Heard>()
  private readonly issuedAt = new Map<number, number>()

  constructor (private readonly missingAfterMs: number) {}

  published (version: number, issuedAt: string): void {
    this.issuedAt.set(version, Date.parse(issuedAt))
    if (this.issuedAt.size > ISSUE_TIMES_KEPT) this.issuedAt.delete(Math.min(...this.issuedAt.keys()))
  }

  heard (announcement: PeerAnnouncement, now: number): void {
    this.edges.set(announcement.peerId, { announcement, at: now })
  }

  view (currentVersion: number | null, now: number): EdgeReport[] {
    return [...this.edges.values()]
      .map(({ announcement, at }): EdgeReport => {
        const issued = announcement.version === null ? undefined : this.issuedAt.get(announcement.version)
        const received = announcement.receivedAt === null ? undefined : Date.parse(announcement.receivedAt)
        const upToDate = currentVersion !== null && announcement.version === currentVersion
        const missing = now - at > this.missingAfterMs
        return {
          peerId: announcement.peerId,
          name: announcement.name ?? null,
          labels: announcement.labels ?? {},
          version: announcement.version,
          state: missing ? 'missing' : announcement.stale ? 'stale' : upToDate ? 'up-to-date' : 'behind',
          upToDate,
          stale: announcement.stale,
          propagationMs: issued !== undefined && received !== undefined ? Math.max(0, received - issued) : null,
          lastSeenSecondsAgo: Math.round((now - at) / 1000),
          missing,
          publicAddress: announcement.publicAddress ?? null,
          meshAddresses: announcement.addresses,
          peers: announcement.peers ?? null,
          fetchedVersion: announcement.fetched?.version ?? null,
          // Across two clocks: an edge's clock ahead of this one reads as just now.
          fetchedSecondsAgo: announcement.fetched === undefined ? null : Math.max(0, Math.round((now - Date.parse(announcement.fetched.at)) / 1000)),
          takesRollouts: announcement.rollouts === true,
          health: announcement.health ?? null
        }
      })
      .sort((a, b) => a.peerId < b.peerId ? -1 : 1)
  }

  /** The public addresses of the edges heard from lately (not missing), each once, sorted. */
  publicAddresses (now: number): string[] {
    const present = [...this.edges.values()].filter(({ at }) => now - at <= this.missingAfterMs)
    return [...new Set(present.flatMap(({ announcement }) => announcement.publicAddress ?? []))].sort()
  }
}
