import { collectDefaultMetrics, Counter, Registry } from 'prom-client'
import type { OfferOutcome } from './latest-envelope.js'

export interface MeshMetrics {
  readonly registry: Registry
  readonly envelopeOffers: Counter<'outcome'>
}

/** A registry per program instance (tests run several in one process), with the counters both sides share. */
export function createMeshMetrics (): MeshMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const envelopeOffers = new Counter({
    name: 'dime_envelope_offers_total',
    help: 'Envelopes received from gossip, sync or disk, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry]
  })
  return { registry, envelopeOffers }
}

export function offerCounter (metrics: MeshMetrics): (outcome: OfferOutcome) => void {
  return (outcome) => { metrics.envelopeOffers.inc({ outcome }) }
}
