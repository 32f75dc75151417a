import type { FragmentReport } from './desired-config.js'
import type { SkippedObject } from './fragment-files.js'
import type { Pin } from './publisher-state.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import type { MeshNode } from '../node/mesh/mesh-node.js'
import type { EdgeReport, Fleet } from './fleet.js'
import type { LeadershipTransitions } from './leadership-transitions.js'
import type { PublisherController } from './publisher-controller.js'
import type { FragmentSource } from './sources/fragment-source.js'
import type { PolicyStatus, Rollouts, RolloutStatus } from './rollouts.js'

export interface PublisherStatus {
  mesh: string
  peerId: string
  keyId: string
  /** Whether this replica holds the lease and publishes. */
  leader: boolean
  version: number | null
  configSha256: string | null
  issuedAt: string | null
  fragments: FragmentReport[]
  skipped: SkippedObject[]
  /** Annotated Services waiting for something (an address) before they are routed. */
  pending: SkippedObject[]
  peers: string[]
  edges: EdgeReport[]
  /** The version the mesh is pinned to (`dime pin`), if it is. */
  pinned: Pin | null
  /** Why this replica's last attempt to become the publisher failed (its mesh did not start, …), until one succeeds. */
  leadFailure: string | null
  /** The rollout in progress, or the last one since this replica leads; null when none. */
  rollout: RolloutStatus | null
  /** The rollout policy in force (none: every version goes to every edge at once), and why a newer document was refused. */
  rolloutPolicy: PolicyStatus
  lastError: string | null
}

export interface PublisherStatusParts {
  mesh: string
  keyId: string
  node: Pick<MeshNode, 'peerId' | 'peers'>
  leadership: Pick<LeadershipTransitions, 'leading' | 'failure'>
  latest: Pick<LatestEnvelope, 'current'>
  controller: Pick<PublisherController, 'view' | 'pinned'>
  fleet: Pick<Fleet, 'view'>
  source: Pick<FragmentSource, 'synced'>
  rollouts: Pick<Rollouts, 'status' | 'policyStatus'>
}

/** What the publisher says of itself on /status, at `now`. */
export function publisherStatus (parts: PublisherStatusParts, now: number): PublisherStatus {
  const head = parts.latest.current()?.head
  const { fragments, skipped, pending, lastError } = parts.controller.view()
  const leading = parts.leadership.leading()
  return {
    mesh: parts.mesh,
    peerId: parts.node.peerId,
    keyId: parts.keyId,
    leader: leading,
    version: head?.version ?? null,
    configSha256: head?.bodySha256 ?? null,
    issuedAt: head?.issuedAt ?? null,
    fragments,
    skipped,
    pending,
    peers: leading ? parts.node.peers() : [],
    edges: parts.fleet.view(head?.version ?? null, now),
    pinned: parts.controller.pinned() ?? null,
    leadFailure: parts.leadership.failure()?.message ?? null,
    rollout: parts.rollouts.status() ?? null,
    rolloutPolicy: parts.rollouts.policyStatus(),
    lastError
  }
}

/** Why /readyz answers 503, or undefined when ready: a failed win first, then the fragments, then the first publish. */
export function notReadyReason (parts: Pick<PublisherStatusParts, 'leadership' | 'controller' | 'source'>): string | undefined {
  const { published, lastError } = parts.controller.view()
  const failure = parts.leadership.failure()
  if (failure !== undefined) return failure.message
  if (!parts.source.synced()) return lastError ?? 'fragment source not synced yet'
  if (parts.leadership.leading() && !published) return lastError ?? 'no config published yet'
  return undefined
}
