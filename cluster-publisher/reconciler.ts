import { backoffDelay } from '../node/backoff.js'
import { withDefaults, type Filled } from '../node/defaults.js'
import type { Logger } from '../node/logger.js'
import { COALESCE_DELAY_MS, COALESCE_MAX_WAIT_MS, RETRY_MAX_MS, RETRY_MIN_MS } from './constants.js'

export interface ReconcilerInit {
  /** Recomputes everything from what is observed now; throws on a transient failure. */
  reconcile: () => Promise<void>
  log: Logger
  delayMs?: number | undefined
  maxWaitMs?: number | undefined
  retryMinMs?: number | undefined
  retryMaxMs?: number | undefined
}

/**
 * A level-triggered worker, as in a Kubernetes controller: changes only mark
 * the state dirty; one run at a time recomputes the whole desired state. A
 * burst of changes coalesces into one run (after `delayMs` of quiet, or
 * `maxWaitMs` at most); a failed run is retried with exponential backoff.
 */
export class Reconciler {
  private readonly init: Filled<ReconcilerInit>
  private dirtySince: number | undefined
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private failures = 0
  private stopped = true

  constructor (init: ReconcilerInit) {
    this.init = withDefaults({ delayMs: COALESCE_DELAY_MS, maxWaitMs: COALESCE_MAX_WAIT_MS, retryMinMs: RETRY_MIN_MS, retryMaxMs: RETRY_MAX_MS }, init)
  }

  start (): void {
    this.stopped = false
    this.markDirty()
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.running
  }

  markDirty (): void {
    if (this.stopped) return
    const now = Date.now()
    this.dirtySince ??= now
    this.schedule(Math.min(this.init.delayMs, this.dirtySince + this.init.maxWaitMs - now))
  }

  private schedule (delayMs: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.run() }, Math.max(0, delayMs))
  }

  private async run (): Promise<void> {
    if (this.running !== undefined || this.stopped) return
    this.dirtySince = undefined
    this.running = this.init.reconcile().then(
      () => { this.failures = 0 },
      (err: unknown) => {
        this.failures++
        const retryMs = backoffDelay(this.failures, this.init.retryMinMs, this.init.retryMaxMs)
        this.init.log.error({ err: (err as Error).message, retryMs }, 'reconcile failed; the last published config stands')
        this.dirtySince ??= Date.now()
        this.schedule(retryMs)
      })
    await this.running
    this.running = undefined
    // Changes that arrived during the run were coalesced; handle them now.
    if (this.dirtySince !== undefined && this.failures === 0) this.markDirty()
  }
}
