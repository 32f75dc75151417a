import type { FragmentReport } from './desired-config.js'

/** What the objects routes come from should say about where they are served. */
export interface RouteStatusView {
  /** The public addresses of the edges heard from lately (`dime edge --public-address`). */
  addresses: string[]
  /** Every fragment as last built. */
  fragments: FragmentReport[]
}

/**
 * Writes where routes are served back to the objects they come from (in
 * Kubernetes, the Ingresses' `status.loadBalancer`), so ExternalDNS points
 * their hosts at the edges. Runs only while this replica leads, and reads
 * the whole view each time it reconciles.
 */
export interface RouteStatusWriter {
  start(view: () => RouteStatusView): void
  /** Something in the view may have changed. */
  poke(): void
  stop(): Promise<void>
}
