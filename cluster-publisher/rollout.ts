import type { PeerAnnouncement } from '../node/peer-announcement.js'

/** One edge as the publisher last heard of it. */
export interface EdgeRollout {
  peerId: string
  version: number | null
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
}

interface Heard {
  announcement: PeerAnnouncement
  at: number
}

const ISSUE_TIMES_KEPT = 32

/** What every edge says it serves, and how each version spread: the data behind `/status` and `dime status`. */
export class Rollout {
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

  view (currentVersion: number | null, now: number): EdgeRollout[] {
    return [...this.edges.values()]
      .map(({ announcement, at }) => {
        const issued = announcement.version === null ? undefined : this.issuedAt.get(announcement.version)
        const received = announcement.receivedAt === null ? undefined : Date.parse(announcement.receivedAt)
        return {
          peerId: announcement.peerId,
          version: announcement.version,
          upToDate: currentVersion !== null && announcement.version === currentVersion,
          stale: announcement.stale,
          propagationMs: issued !== undefined && received !== undefined ? Math.max(0, received - issued) : null,
          lastSeenSecondsAgo: Math.round((now - at) / 1000),
          missing: now - at > this.missingAfterMs,
          publicAddress: announcement.publicAddress ?? null,
          meshAddresses: announcement.addresses,
          peers: announcement.peers ?? null
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
