import type { FragmentReport } from './desired-config.js'
import type { SkippedObject } from './fragment-files.js'
import type { Pin } from './publisher-state.js'
import type { EdgeRollout } from './rollout.js'

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
  edges: EdgeRollout[]
  /** The version the mesh is pinned to (`dime pin`), if it is. */
  pinned: Pin | null
  /** Why this replica's last attempt to become the publisher failed (its mesh did not start, …), until one succeeds. */
  leadFailure: string | null
  lastError: string | null
}
