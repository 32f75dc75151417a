import { Gauge, Histogram } from 'prom-client'
import type { Freshness } from '../node/freshness.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import { createMeshMetrics, type MeshMetrics } from '../node/metrics.js'

export interface EdgeMetricsSources {
  latest: LatestEnvelope
  freshness: Freshness
  /** How many sealed values the served config left out. */
  unopened: () => number
}

export interface EdgeMetrics extends MeshMetrics {
  /** From the publisher signing a version to this edge serving it. */
  readonly propagation: Histogram
}

/**
 * The edge's metrics, made once /config already answers (prom-client is not
 * needed for that). The gauges read their sources when scraped, so they are
 * current whatever happened before they existed.
 */
export function createEdgeMetrics ({ latest, freshness, unopened }: EdgeMetricsSources): EdgeMetrics {
  const metrics = createMeshMetrics()
  const registers = [metrics.registry]
  new Gauge({ name: 'dime_edge_sealed_unopened', help: 'Sealed values (TLS keys, users) left out of the served config because they do not open here', registers, collect () { this.set(unopened()) } })
  new Gauge({ name: 'dime_edge_config_version', help: 'Version of the config served (0 before the first)', registers, collect () { this.set(latest.current()?.head.version ?? 0) } })
  new Gauge({
    name: 'dime_edge_last_news_age_seconds',
    help: 'Seconds since the last verified news from a publisher (-1 before any)',
    registers,
    collect () {
      const age = freshness.ageMs(Date.now())
      this.set(age === undefined ? -1 : age / 1000)
    }
  })
  new Gauge({ name: 'dime_edge_stale', help: '1 when no news came for longer than --stale-after (the config is still served)', registers, collect () { this.set(freshness.isStale(Date.now()) ? 1 : 0) } })
  const propagation = new Histogram({
    name: 'dime_edge_propagation_seconds',
    help: 'From the publisher signing a version (its issuedAt, on its clock) to this edge serving it',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers
  })
  return { ...metrics, propagation }
}
