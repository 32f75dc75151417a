import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { OfferOutcome } from './latest-envelope.js'

export interface MeshMetrics {
  readonly registry: Registry
  readonly envelopeOffers: Counter<'outcome'>
  readonly beacons: Counter<'outcome'>
  readonly bodyBytes: Counter<'form'>
  readonly dials: Counter<'target' | 'outcome'>
  readonly peerExchanges: Counter<'outcome'>
  readonly connections: Gauge
  readonly connectionLimit: Gauge
  readonly connectionsShed: Counter
  readonly gossipLinksReset: Counter
  readonly relayedReports: Counter<'outcome'>
  readonly relayedReportBytes: Counter
}

/** A registry per program instance (tests run several in one process), with the counters both sides share. */
export function createMeshMetrics (): MeshMetrics {
  const registry = new Registry()
  // prom-client samples event loop delay every 10 ms by default: a wake-up a hundredth of a
  // second cost an idle node half a percent of a core, more than all its mesh traffic.
  // Every stall of 100 ms or more is still recorded.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 100 })
  const envelopeOffers = new Counter({
    name: 'dime_envelope_offers_total',
    help: 'Envelopes and signed heads received over sync or from disk, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry]
  })
  const beacons = new Counter({
    name: 'dime_beacons_total',
    help: 'Head beacons received, by outcome (accepted ones are forwarded once their body is served)',
    labelNames: ['outcome'] as const,
    registers: [registry]
  })
  const bodyBytes = new Counter({
    name: 'dime_sync_body_bytes_total',
    help: 'Compressed bytes of config bodies received over sync, whole or as deltas',
    labelNames: ['form'] as const,
    registers: [registry]
  })
  const dials = new Counter({
    name: 'dime_mesh_dials_total',
    help: 'Dials made to stay connected, by target (bootstrap, known-peer) and outcome (connected, failed): while cut off, the cost of noticing a heal',
    labelNames: ['target', 'outcome'] as const,
    registers: [registry]
  })
  const peerExchanges = new Counter({
    name: 'dime_peer_exchanges_total',
    help: 'Peer lists asked of newly connected peers, by outcome (learned, refused: malformed, failed: no answer)',
    labelNames: ['outcome'] as const,
    registers: [registry]
  })
  const connections = new Gauge({ name: 'dime_mesh_connections', help: 'Open mesh connections', registers: [registry] })
  const connectionLimit = new Gauge({
    name: 'dime_mesh_max_connections',
    help: 'Connections this node keeps (the publisher: --max-connections); newcomers over it are let in briefly, then closed',
    registers: [registry]
  })
  const connectionsShed = new Counter({
    name: 'dime_mesh_connections_shed_total',
    help: 'Connections closed for being over the cap, after their grace period (their peers reach the mesh through others)',
    registers: [registry]
  })
  const gossipLinksReset = new Counter({
    name: 'dime_mesh_gossip_links_reset_total',
    help: 'Peers hung up on because gossipsub had lost its streams to them while connected (no subscriptions heard for a minute); both ends dial again',
    registers: [registry]
  })
  const relayedReports = outcomeCounter('dime_relayed_reports_total',
    'Edges\' status reports relayed toward the publisher, by outcome (sent upstream, received and checked, refused: not signed by its author or malformed, dropped: over the bound while waiting)',
    ['sent', 'received', 'refused', 'dropped'], registry)
  const relayedReportBytes = new Counter({
    name: 'dime_relayed_report_bytes_total',
    help: 'Bytes of relayed reports this node sent upstream: its own and those of the edges below it',
    registers: [registry]
  })
  return { registry, envelopeOffers, beacons, bodyBytes, dials, peerExchanges, connections, connectionLimit, connectionsShed, gossipLinksReset, relayedReports, relayedReportBytes }
}

export function offerCounter (metrics: MeshMetrics): (outcome: OfferOutcome) => void {
  return (outcome) => { metrics.envelopeOffers.inc({ outcome }) }
}

/** A counter by outcome whose every outcome is exported from the start, at 0: alerts and dashboards read 0 rather than nothing. */
export function outcomeCounter (name: string, help: string, outcomes: readonly string[], registry: Registry): Counter<'outcome'> {
  const counter = new Counter({ name, help, labelNames: ['outcome'] as const, registers: [registry] })
  for (const outcome of outcomes) counter.inc({ outcome }, 0)
  return counter
}
