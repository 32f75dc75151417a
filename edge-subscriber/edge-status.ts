import type { Labels } from '../node/edge-labels.js'
import type { Freshness } from '../node/freshness.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import type { MeshNode } from '../node/mesh/mesh-node.js'
import type { PeerAnnouncement } from '../node/peer-announcement.js'
import type { ConfigFetch } from './config-answer.js'
import type { ServedState } from './served-state.js'
import type { EdgeRollouts, KnownRollout } from './edge-rollouts.js'
import { announcedHealth, type BackendHealth } from './backend-probes.js'

export interface EdgeStatus {
  mesh: string
  peerId: string
  /** `--name`; null when not given. */
  name: string | null
  labels: Labels
  version: number | null
  configSha256: string | null
  issuedAt: string | null
  /** When this process accepted the config from the mesh; null when it was restored from disk. */
  receivedAt: string | null
  keyId: string | null
  /** False when the served config's key was dropped from the trust list since (it is still served). */
  keyTrusted: boolean | null
  trustedKeyIds: string[]
  /** Seconds since the last verified news from a publisher (a beacon or a config); null before any. */
  lastNewsAgeSeconds: number | null
  /** No news for longer than --stale-after. Reported only: the config is served regardless. */
  stale: boolean
  /** Paths of sealed values left out of what Traefik gets: no --secrets-key, or not the mesh's. */
  sealedUnopened: string[]
  peers: string[]
  listen: string[]
  /** Where clients reach this edge's Traefik (`--public-address`); null when not given. */
  publicAddress: string | null
  /** The proxy's last fetch of /config that got the config served; null before any since start. */
  lastFetch: ConfigFetch | null
  /** What the backends a version in rollout changed answered here; null before any was served. */
  rolloutHealth: BackendHealth | null
  /** The rollout this edge knows of; null when it knows of none. */
  rollout: KnownRollout | null
}

export interface EdgeStatusParts {
  mesh: string
  latest: Pick<LatestEnvelope, 'current' | 'currentKeyTrusted' | 'trustedKeyIds'>
  served: Pick<ServedState, 'current' | 'lastReceivedAt' | 'unopened' | 'lastFetch'>
  rollouts: Pick<EdgeRollouts, 'backendHealth' | 'known'>
  freshness: Pick<Freshness, 'ageMs' | 'isStale'>
  /** The edge's mesh node, once it has joined. */
  node: Pick<MeshNode, 'peerId' | 'peers' | 'addresses'> | undefined
  publicAddress: string | undefined
  name: string | undefined
  labels: Labels | undefined
}

/** What the edge says of itself on /status, at `now`. */
export function edgeStatus (parts: EdgeStatusParts, now: number): EdgeStatus {
  // What is served: a released version, or one in rollout this edge's wave has reached.
  const head = parts.served.current()?.head
  const age = parts.freshness.ageMs(now)
  return {
    mesh: parts.mesh,
    peerId: parts.node?.peerId ?? '',
    name: parts.name ?? null,
    labels: parts.labels ?? {},
    version: head?.version ?? null,
    configSha256: head?.bodySha256 ?? null,
    issuedAt: head?.issuedAt ?? null,
    receivedAt: parts.served.lastReceivedAt(),
    keyId: head?.keyId ?? null,
    keyTrusted: parts.latest.currentKeyTrusted() ?? null,
    trustedKeyIds: parts.latest.trustedKeyIds(),
    lastNewsAgeSeconds: age === undefined ? null : Math.round(age / 1000),
    stale: parts.freshness.isStale(now),
    sealedUnopened: parts.served.unopened(),
    peers: parts.node?.peers() ?? [],
    listen: parts.node?.addresses() ?? [],
    publicAddress: parts.publicAddress ?? null,
    lastFetch: parts.served.lastFetch() ?? null,
    rolloutHealth: parts.rollouts.backendHealth() ?? null,
    rollout: parts.rollouts.known() ?? null
  }
}

/** What the edge tells the mesh of itself: its status, as an announcement made at `now`. */
export function announcementOf (status: EdgeStatus, now: number): PeerAnnouncement {
  return {
    peerId: status.peerId,
    version: status.version,
    bodySha256: status.configSha256,
    receivedAt: status.receivedAt,
    stale: status.stale,
    addresses: status.listen,
    peers: status.peers.length,
    // What was not given stays absent on the wire (a publisher of an earlier release refuses a null).
    ...(status.publicAddress !== null ? { publicAddress: status.publicAddress } : {}),
    ...(status.name !== null ? { name: status.name } : {}),
    ...(Object.keys(status.labels).length > 0 ? { labels: status.labels } : {}),
    ...(status.lastFetch !== null ? { fetched: { version: status.lastFetch.version, at: status.lastFetch.at } } : {}),
    rollouts: true,
    ...(status.rolloutHealth !== null ? { health: announcedHealth(status.rolloutHealth) } : {}),
    announcedAt: new Date(now).toISOString()
  }
}
