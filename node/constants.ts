/** Prepended to every signed head so a signature made here means nothing in any other protocol. */
export const SIGNATURE_DOMAIN = 'cdn-on-a-dime/config-head/v1\n'

/** First bytes of every envelope, so a stray file or message is recognised at once. */
export const ENVELOPE_MAGIC = 'DIME'
/** First bytes of a head beacon: the publisher's periodic "still here, this is the newest". */
export const BEACON_MAGIC = 'DIMB'
export const BEACON_DOMAIN = 'cdn-on-a-dime/head-beacon/v1\n'
/** First bytes of a rollout head: which edges may serve a version in rollout. */
export const ROLLOUT_MAGIC = 'DIMR'
export const ROLLOUT_DOMAIN = 'cdn-on-a-dime/rollout-head/v1\n'
export const FRAME_FORMAT = 1
export const ED25519_SIGNATURE_LENGTH = 64

/** Largest head accepted; a head is a few hundred bytes. */
export const MAX_HEAD_BYTES = 4 * 1024
/** Largest config accepted by default (`--max-config-mib`), checked before anything is allocated for it. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
/**
 * The publisher makes deltas only for configs up to this size: it keeps
 * DELTA_HISTORY earlier versions, and making one holds both texts and an
 * index of the old one's pieces (applying one only copies bytes).
 */
export const MAX_DELTA_BODY_BYTES = 8 * 1024 * 1024
/** How many earlier versions a node keeps to make deltas against. */
export const DELTA_HISTORY = 3

export const DEFAULT_MESH = 'default'

/**
 * What this release speaks on the mesh, as `dime --version` says it.
 * 1: head beacons, sync, status reports and announcements, peer exchange.
 * 2: also rollouts (their topic, the candidate sync protocol, rollout heads);
 * a node of protocol 1 never joins them, and shares the mesh unharmed
 * (test/integration/previous-release.spec.ts).
 */
export const MESH_PROTOCOL_VERSION = 2
/** The oldest protocol a node of this release shares a mesh with. */
export const OLDEST_MESH_PROTOCOL = 1

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

/**
 * Edges' signed status, passed from edge to edge toward the publisher
 * (node/mesh/report-relay.ts): a node of an earlier release does not list it.
 */
export function relayedReportsProtocol (mesh: string): string {
  return `/dime/${mesh}/relayed-reports/1.0.0`
}
/** The most reports an edge holds for passing on (the newest of each author), and sends in one stream. */
export const MAX_RELAYED_REPORTS = 2048
/** Reports received are passed on this long after the first of them, together. */
export const RELAY_COALESCE_MS = 1_000

/** A node asks each peer it connects to where the mesh's other members listen. */
export function peerExchangeProtocol (mesh: string): string {
  return `/dime/${mesh}/peers/1.0.0`
}

export function syncProtocol (mesh: string): string {
  return `/dime/${mesh}/sync/1.0.0`
}

/**
 * Rollout heads: which waves may serve the version in rollout. Nodes of an
 * earlier release do not join this topic, so they never hear of it.
 */
export function rolloutTopic (mesh: string): string {
  return `/dime/${mesh}/rollouts/1`
}

/**
 * The sync protocol for versions in rollout, apart from the released ones:
 * an edge that may not serve a version yet holds its bytes, and a node of an
 * earlier release, which does not list this protocol, is never offered one.
 */
export function candidateSyncProtocol (mesh: string): string {
  return `/dime/${mesh}/candidate-sync/1.0.0`
}

/** Largest rollout head: it lists the peer ids of the waves reached (about 53 bytes each), so about a thousand edges. */
export const MAX_ROLLOUT_HEAD_BYTES = 64 * 1024

/**
 * A beacon announcing a change carries the body (or its delta) when it
 * compresses to at most this: gossip then delivers it with no pull. Larger
 * ones are pulled, so a large body is never copied to every peer of every node.
 */
export const MAX_CARRIED_BYTES = 8 * 1024

/** Largest sync request or reply header: a small JSON object. */
export const MAX_SYNC_MESSAGE_BYTES = 1024
/** One sync exchange, a body included, must end within this long. */
export const SYNC_TIMEOUT_MS = 30_000
/**
 * Anti-entropy: how often a node asks one connected peer for anything newer.
 * A backstop only: a node also syncs with every peer that connects, and pulls
 * on every beacon (the publisher's come every 10 s), so it matters only to a
 * node that missed a beacon while the publisher is gone. Each exchange opens
 * a stream, which costs libp2p milliseconds of CPU on both sides, for the
 * released versions and again for those in rollout: at 15 s it was about a
 * sixth of an idle edge's CPU (BENCHMARKS.md).
 */
export const SYNC_INTERVAL_MS = 60_000

export const REDIAL_MIN_MS = 250
/**
 * Bootstrap addresses (the publisher, chosen edges) are retried at least this
 * often however long they have been away, so a heal is seen within about a
 * second: a failed dial costs one TCP SYN (and a RST or nothing).
 */
export const BOOTSTRAP_REDIAL_MAX_MS = 1_000
/** Other known peers back off further: the bootstrap addresses already bound a heal. */
export const KNOWN_PEER_REDIAL_MAX_MS = 30_000
/**
 * How long a TCP connect may take before it is tried again with a new SYN.
 * Only the connect: the handshakes after it have libp2p's own timeouts. Over a
 * link that drops packets (a cut overlay route), the kernel retransmits a SYN
 * only after 1 s, 3 s, 7 s…, so a dial left waiting would see a heal late.
 */
export const TCP_CONNECT_TIMEOUT_MS = 1_200
/**
 * A connection to a bootstrap address is pinged this often, and hung up (then
 * redialled) when a ping takes longer than the timeout: over a cut link TCP
 * notices nothing for many minutes, and after the heal resumes only at its
 * next retransmission, which backs off to a minute and more. A ping opens a
 * stream (milliseconds of CPU on both sides), so not more often than this.
 */
export const BOOTSTRAP_PING_INTERVAL_MS = 10_000
export const BOOTSTRAP_PING_TIMEOUT_MS = 3_000
/** How many connections a node keeps by dialling known peers (bootstrap peers come on top). */
export const TARGET_PEERS = 6
/**
 * How long identify may take on a new connection. It runs once per
 * connection and a failure is not retried: a connection whose identify timed
 * out (libp2p's default is 5 s: a busy peer, a slow overlay link) stays open
 * but never gossips, syncs or exchanges peers.
 */
export const IDENTIFY_TIMEOUT_MS = 30_000
/**
 * A connected peer that speaks gossipsub and has not told this node its
 * subscriptions after this long has lost its gossip streams, and is hung up
 * on. Twice identify's timeout: however slow, both ends have identified each
 * other and exchanged subscriptions by then.
 */
export const GOSSIP_LINK_GRACE_MS = 2 * IDENTIFY_TIMEOUT_MS
/**
 * How many connections the publisher keeps, whatever the fleet's size
 * (`dime publisher --max-connections`): edges beyond it reach it through
 * other edges. libp2p's default (300) would admit and prune, and an edge
 * redialling its bootstrap address every second would churn.
 */
export const PUBLISHER_MAX_CONNECTIONS = 64
/** An edge keeps TARGET_PEERS by dialling; others dial it, and past this many the newest are closed. */
export const EDGE_MAX_CONNECTIONS = 32
/** Connections libp2p admits over a node's cap, so a newcomer still learns peers and the newest config before it is closed. */
export const JOIN_HEADROOM = 16
/** How long a connection over the cap is kept: identify, a peer exchange and a sync take well under this. */
export const JOIN_GRACE_MS = 10_000
/**
 * A peer that said it is full is redialled no sooner than this, doubling to
 * the max, while the node has other connections (with none, as any bootstrap
 * address). Each knock holds one of the publisher's JOIN_HEADROOM slots for
 * JOIN_GRACE_MS: 936 edges over a cap of 64, knocking every 15 to 30 minutes
 * once settled, hold about 8 of its 16 (every 5 to 10 minutes, 21: newcomers
 * were turned away). The first knocks stay soon: a knock is let in long
 * enough to sync, which is how a group of edges that reaches no publisher
 * otherwise (all full) catches up after a heal.
 */
export const FULL_PEER_REDIAL_MIN_MS = 30_000
export const FULL_PEER_REDIAL_MAX_MS = 1_800_000
/** The most peers one answer to a peer exchange lists. */
export const EXCHANGED_PEERS = 32
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
