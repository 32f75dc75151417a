/** Prepended to every signed head so a signature made here means nothing in any other protocol. */
export const SIGNATURE_DOMAIN = 'cdn-on-a-dime/config-head/v1\n'

/** First bytes of every envelope, so a stray file or message is recognised at once. */
export const ENVELOPE_MAGIC = 'DIME'
/** First bytes of a head beacon: the publisher's periodic "still here, this is the newest". */
export const BEACON_MAGIC = 'DIMB'
export const BEACON_DOMAIN = 'cdn-on-a-dime/head-beacon/v1\n'
export const FRAME_FORMAT = 1
export const ED25519_SIGNATURE_LENGTH = 64

/** Largest head accepted; a head is a few hundred bytes. */
export const MAX_HEAD_BYTES = 4 * 1024
/** Largest config accepted by default (`--max-config-mib`), checked before anything is allocated for it. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
/**
 * Deltas are made and applied only for configs up to this size: both sides
 * parse two versions, and a parsed config takes about ten times its bytes.
 */
export const MAX_DELTA_BODY_BYTES = 8 * 1024 * 1024
/** How many earlier versions a node keeps to make deltas against. */
export const DELTA_HISTORY = 3

export const DEFAULT_MESH = 'default'

/** Head beacons: the publisher's signed "this is the newest", sent on each change and periodically. Bodies are pulled, never gossiped. */
export function beaconTopic (mesh: string): string {
  return `/dime/${mesh}/heads/1`
}

/** Edges' announcements of what they serve and where they can be dialled. */
export function statusTopic (mesh: string): string {
  return `/dime/${mesh}/status/1`
}

/** An edge's status sent straight to a publisher it is connected to, after a change (gossiping it would reach every node). */
export function reportProtocol (mesh: string): string {
  return `/dime/${mesh}/report/1.0.0`
}

export function syncProtocol (mesh: string): string {
  return `/dime/${mesh}/sync/1.0.0`
}

/** Largest sync request or reply header: a small JSON object. */
export const MAX_SYNC_MESSAGE_BYTES = 1024
/** One sync exchange, a body included, must end within this long. */
export const SYNC_TIMEOUT_MS = 30_000
/** Anti-entropy: how often a node asks one connected peer for anything newer. */
export const SYNC_INTERVAL_MS = 5_000

export const REDIAL_MIN_MS = 250
export const REDIAL_MAX_MS = 30_000
/** How many connections a node keeps by dialling known peers (bootstrap peers come on top). */
export const TARGET_PEERS = 6
/** How often a node checks its connections against that target. */
export const PEER_CHECK_INTERVAL_MS = 2_000

/** How often the publisher re-announces its head. */
export const BEACON_INTERVAL_MS = 10_000
/** How long without news before an edge reports itself stale (and keeps serving). */
export const STALE_AFTER_MS = 60_000
/** How often an edge announces its status, at the most often and at the least. */
export const ANNOUNCE_MIN_GAP_MS = 1_000
export const ANNOUNCE_INTERVAL_MS = 15_000
/** After a change, an edge announces within this long (at random), so a fleet does not answer all at once. */
export const ANNOUNCE_JITTER_MS = 2_000
/** An edge silent for this many announce intervals is shown as missing. */
export const MISSING_AFTER_INTERVALS = 3
