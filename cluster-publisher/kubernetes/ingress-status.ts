import { ApiException, type NetworkingV1Api, type V1Ingress, type V1IngressLoadBalancerIngress } from '@kubernetes/client-node'
import { isIP } from 'node:net'
import { ANNOUNCE_INTERVAL_MS } from '../../node/constants.js'
import type { Logger } from '../../node/logger.js'
import { Reconciler } from '../reconciler.js'
import type { RouteStatusView, RouteStatusWriter } from '../route-status.js'
import { ingressSource } from './ingress-routes.js'

export interface IngressStatusWriterInit {
  networking: Pick<NetworkingV1Api, 'replaceNamespacedIngressStatus'>
  /** The edges' Ingresses, as the informers hold them now. */
  ingresses: () => V1Ingress[]
  log: Logger
  /** Rewrites what is due this often even when nothing pokes it (an edge gone silent pokes nothing). */
  resyncMs?: number
  retryMinMs?: number
}

/**
 * Writes the edges' public addresses into `status.loadBalancer.ingress` of
 * every Ingress the edges serve (accepted, or kept at its last good
 * content), and empties it on those they do not: ExternalDNS then publishes
 * each host pointing at the edges. Level-triggered: each run compares every
 * Ingress with what it should say and replaces the status of those that
 * differ, with the resourceVersion it read, so a conflict (409) or an API
 * server outage fails the run, which is retried with backoff from what the
 * informers hold then.
 */
export class IngressStatusWriter implements RouteStatusWriter {
  private readonly reconciler: Reconciler
  private view: (() => RouteStatusView) | undefined
  private resync: NodeJS.Timeout | undefined

  constructor (private readonly init: IngressStatusWriterInit) {
    this.reconciler = new Reconciler({
      reconcile: async () => { await this.reconcile() },
      log: init.log.child({ component: 'ingress-status' }),
      ...(init.retryMinMs !== undefined ? { retryMinMs: init.retryMinMs } : {})
    })
  }

  start (view: () => RouteStatusView): void {
    this.view = view
    this.reconciler.start()
    this.resync = setInterval(() => { this.reconciler.markDirty() }, this.init.resyncMs ?? ANNOUNCE_INTERVAL_MS)
  }

  poke (): void {
    this.reconciler.markDirty()
  }

  async stop (): Promise<void> {
    clearInterval(this.resync)
    await this.reconciler.stop()
  }

  private async reconcile (): Promise<void> {
    const view = this.view?.()
    if (view === undefined) return
    const served = new Set(view.fragments.filter(fragment => fragment.status !== 'rejected').map(fragment => fragment.source))
    const failures: string[] = []
    for (const ingress of this.init.ingresses()) {
      const desired = served.has(ingressSource(ingress)) ? view.addresses.map(loadBalancerIngress) : []
      if (sameAddresses(ingress.status?.loadBalancer?.ingress ?? [], desired)) continue
      const { namespace = '', name = '' } = ingress.metadata ?? {}
      try {
        await this.init.networking.replaceNamespacedIngressStatus({ name, namespace, body: { ...ingress, status: { ...ingress.status, loadBalancer: { ingress: desired } } } })
        this.init.log.info({ ingress: `${namespace}/${name}`, addresses: view.addresses }, 'Ingress status written')
      } catch (err) {
        failures.push(`${namespace}/${name} (${err instanceof ApiException ? `HTTP ${err.code}` : (err as Error).message})`)
      }
    }
    if (failures.length > 0) throw new Error(`could not write the status of the Ingresses ${failures.join(', ')}`)
  }
}

function loadBalancerIngress (address: string): V1IngressLoadBalancerIngress {
  return isIP(address) !== 0 ? { ip: address } : { hostname: address }
}

function sameAddresses (current: V1IngressLoadBalancerIngress[], desired: V1IngressLoadBalancerIngress[]): boolean {
  const key = (entry: V1IngressLoadBalancerIngress): string => entry.ip ?? entry.hostname ?? ''
  return current.map(key).join(',') === desired.map(key).join(',')
}
