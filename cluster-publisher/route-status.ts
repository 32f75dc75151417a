import type { FragmentReport } from './desired-config.js'
import type { SkippedObject } from './fragment-files.js'

/** What the objects routes come from should say about where they are served. */
export interface RouteStatusView {
  /** The public addresses of the edges heard from lately (`dime edge --public-address`). */
  addresses: string[]
  /** Every fragment as last built. */
  fragments: FragmentReport[]
  /** The objects that will be routed once something happens (a Service's address). */
  pending: SkippedObject[]
}

/**
 * Writes where routes are served back to the objects they come from (in
 * Kubernetes, the Ingresses' and Gateways' status), so ExternalDNS points
 * their hosts at the edges, and what was taken and why not. Runs only while this replica leads, and reads
 * the whole view each time it reconciles.
 */
export interface RouteStatusWriter {
  start(view: () => RouteStatusView): void
  /** Something in the view may have changed. */
  poke(): void
  stop(): Promise<void>
}
