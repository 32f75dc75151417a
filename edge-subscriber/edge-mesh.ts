import { join } from 'node:path'
import { EDGE_MAX_CONNECTIONS } from '../node/constants.js'
import type { Freshness } from '../node/freshness.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import type { RolloutTrack } from '../node/rollout-track.js'
import { peerIdOfKey } from '../node/mesh/identity.js'
import { createMeshNode, type MeshNode } from '../node/mesh/mesh-node.js'
import { outcomeCounter, type MeshMetrics } from '../node/metrics.js'
import type { PeerAnnouncement } from '../node/peer-announcement.js'
import type { TrustedKey } from '../node/signing-keys.js'
import type { EdgeOptions } from './edge-options.js'
import { filePeerBookStore } from './file-peer-book-store.js'
import { loadOrCreatePeerKey } from './peer-identity.js'
import { StatusAnnouncer } from './status-announcer.js'

export const PEER_KEY_FILE = 'peer.key'
export const PEERS_FILE = 'peers.json'

export interface EdgeMeshComponents {
  latest: LatestEnvelope
  rollouts: RolloutTrack
  freshness: Freshness
  metrics: MeshMetrics
  /** What this edge serves and where it can be dialled, when it announces. */
  announcement: () => PeerAnnouncement
}

/** The edge's side of the mesh: its node, its announcements, and who it admits. */
export interface EdgeMesh {
  readonly node: MeshNode
  readonly announcer: StatusAnnouncer
  /** Admits the publishers of these keys (always, even with an allow list) and reports to them. */
  admitTrusted(keys: TrustedKey[]): void
}

/**
 * Makes the edge's mesh node (not started), with its persisted identity and
 * peer book. Loaded only once the edge already answers /config: libp2p and
 * gossipsub take longer to load than everything the edge needs to serve.
 */
export async function edgeMesh (components: EdgeMeshComponents, options: EdgeOptions): Promise<EdgeMesh> {
  const { latest, rollouts, freshness, metrics, announcement } = components
  const log = options.log
  // The allow list grows with the trusted keys: their publishers are always admitted.
  const allowed = options.allowPeers === undefined ? undefined : new Set<string>()
  // The trusted keys' publishers: reported to after each change (their peer id follows from their key).
  let publisherPeerIds: string[] = []
  const admitTrusted = (keys: TrustedKey[]): void => {
    publisherPeerIds = keys.map(peerIdOfKey)
    if (allowed === undefined) return
    allowed.clear()
    for (const id of [...options.allowPeers ?? [], ...publisherPeerIds]) allowed.add(id)
  }
  admitTrusted(options.trust)

  const timing = options.timing ?? {}
  const node = await createMeshNode({
    latest,
    rollouts,
    maxConnections: EDGE_MAX_CONNECTIONS,
    forwardReports: true,
    swarmKey: options.swarmKey,
    listen: options.listen,
    bootstrap: options.bootstrap,
    privateKey: await loadOrCreatePeerKey(join(options.dataDir, PEER_KEY_FILE)),
    peerBookStore: filePeerBookStore(join(options.dataDir, PEERS_FILE)),
    allowPeers: allowed,
    connectionGater: options.connectionGater,
    freshness,
    metrics,
    deltas: options.deltas,
    topics: options.topics,
    timing,
    log
  })
  const reports = outcomeCounter('dime_status_reports_total',
    'This edge\'s status announcements by the way they went: direct (to a publisher it is connected to), relayed (through the edge on its way there), gossiped (to every node)',
    ['direct', 'relayed', 'gossiped'], metrics.registry)
  const reportBytes = outcomeCounter('dime_status_report_bytes_total',
    'Bytes of this edge\'s own status announcements, by the way they went (relayed: before signing and framing; what relays pass on is dime_relayed_report_bytes_total)',
    ['direct', 'relayed', 'gossiped'], metrics.registry)
  const announcer = new StatusAnnouncer({
    announcement,
    publish: async (topic, data) => await node.publish(topic, data),
    // Straight to a publisher this edge is connected to; else through the edges toward it.
    report: async data => await node.report(publisherPeerIds, data) > 0 ? 'direct' : await node.relayReport(data) ? 'relayed' : undefined,
    knownPeers: () => node.knownPeers()
  }, {
    mesh: options.mesh,
    log,
    countReport: (way, bytes) => { reports.inc({ outcome: way }); reportBytes.inc({ outcome: way }, bytes) },
    intervalMs: timing.announceIntervalMs,
    jitterMs: timing.announceJitterMs
  })
  return { node, announcer, admitTrusted }
}
