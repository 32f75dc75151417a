import { ApiException } from '@kubernetes/client-node'
import { canonicalBytes } from '../../node/canonical-json.js'
import { ANNOUNCE_INTERVAL_MS } from '../../node/constants.js'
import type { Logger } from '../../node/logger.js'
import { Reconciler } from '../reconciler.js'
import type { RouteStatusView, RouteStatusWriter } from '../route-status.js'

/** One object whose status the publisher keeps: what it says, what it should say, and how to write it. */
export interface StatusTarget {
  /** Kind, namespace and name, for the logs. */
  what: string
  current: unknown
  desired: unknown
  /** Replaces the status (the status subresource), with the resourceVersion the object was read at. */
  write: () => Promise<unknown>
}

export interface StatusWriterInit {
  /** Every object whose status is kept, with what it should say given the view, as the informers hold them now. */
  targets: (view: RouteStatusView, now: string) => StatusTarget[]
  log: Logger
  /** Rewrites what is due this often even when nothing pokes it (an edge gone silent pokes nothing). */
  resyncMs?: number | undefined
  retryMinMs?: number | undefined
}

/**
 * Keeps the status of the objects routes come from (Ingresses; Gateway API
 * classes, Gateways, HTTPRoutes): the edges' public addresses, so
 * ExternalDNS points the hosts at them, and what was taken and why not.
 * Level-triggered: each run compares every object with what it should say
 * and replaces the status of those that differ, with the resourceVersion it
 * read, so a conflict (409) or an API server outage fails the run, which is
 * retried with backoff from what the informers hold then.
 */
export class StatusWriter implements RouteStatusWriter {
  private readonly reconciler: Reconciler
  private view: (() => RouteStatusView) | undefined
  private resync: NodeJS.Timeout | undefined

  constructor (private readonly init: StatusWriterInit) {
    this.reconciler = new Reconciler({
      reconcile: async () => { await this.reconcile() },
      log: init.log.child({ component: 'status' }),
      retryMinMs: init.retryMinMs
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
    const failures: string[] = []
    for (const target of this.init.targets(view, new Date().toISOString())) {
      if (Buffer.from(canonicalBytes(target.current ?? {})).equals(canonicalBytes(target.desired))) continue
      try {
        await target.write()
        this.init.log.info({ object: target.what }, 'status written')
      } catch (err) {
        failures.push(`${target.what} (${err instanceof ApiException ? `HTTP ${err.code}` : (err as Error).message})`)
      }
    }
    if (failures.length > 0) throw new Error(`could not write the status of ${failures.join(', ')}`)
  }
}
