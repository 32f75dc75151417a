import { ApiException, V1MicroTime, type CoordinationV1Api, type V1Lease } from '@kubernetes/client-node'
import { withDefaults, type Filled } from '../../node/defaults.js'
import type { Logger } from '../../node/logger.js'

export interface LeaderElectionInit {
  namespace: string
  leaseName: string
  /** This replica's name (the pod name): what the Lease says about who holds it. */
  identity: string
  log: Logger
  leaseDurationMs?: number | undefined
  renewDeadlineMs?: number | undefined
  retryPeriodMs?: number | undefined
  now?: (() => number) | undefined
}

export interface LeaderElectionComponents {
  leases: CoordinationV1Api
}

const DEFAULTS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }

/**
 * Leader election on a `coordination.k8s.io` Lease, as client-go does it: a
 * replica takes the Lease when nobody holds it or the holder has not renewed
 * it for a lease duration, measured on this replica's own clock from when it
 * last saw the Lease change (so clock skew between replicas does not matter).
 * Writes use the Lease's resourceVersion, so two replicas cannot both win. A
 * leader that cannot renew within the renew deadline steps down.
 */
export class LeaderElector {
  private readonly init: Filled<LeaderElectionInit>
  private leading = false
  private lastRenewedAt = 0
  private observed = ''
  private observedAt = 0
  private pausedUntil = 0
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> = Promise.resolve()
  private readonly started: Array<() => void> = []
  private readonly stopped: Array<() => void> = []

  constructor (private readonly components: LeaderElectionComponents, init: LeaderElectionInit) {
    this.init = withDefaults({ ...DEFAULTS, now: Date.now }, init)
  }

  onStartedLeading (listener: () => void): void { this.started.push(listener) }
  onStoppedLeading (listener: () => void): void { this.stopped.push(listener) }

  isLeader (): boolean {
    return this.leading
  }

  start (): void {
    const tick = (): void => {
      this.running = this.attempt().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.init.retryPeriodMs)
      })
    }
    this.timer = setTimeout(tick, 0)
  }

  /** Stops campaigning and, when leading, releases the Lease so another replica takes over at once. */
  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.running
    await this.release()
  }

  /**
   * Gives the Lease up (this replica won but cannot publish) and stays out of
   * the race for `pauseMs`, so another replica takes over meanwhile.
   */
  async stepDown (pauseMs: number): Promise<void> {
    this.pausedUntil = this.init.now() + pauseMs
    await this.running
    await this.release()
  }

  private async release (): Promise<void> {
    if (!this.leading) return
    this.setLeading(false)
    try {
      const lease = await this.read()
      if (lease?.spec?.holderIdentity === this.init.identity) {
        const { holderIdentity: _released, ...rest } = lease.spec
        lease.spec = { ...rest, leaseDurationSeconds: 1 }
        await this.components.leases.replaceNamespacedLease({ name: this.init.leaseName, namespace: this.init.namespace, body: lease })
      }
    } catch (err) {
      this.init.log.warn({ err: (err as Error).message }, 'could not release the leader lease; another replica takes over when it expires')
    }
  }

  private async attempt (): Promise<void> {
    if (this.init.now() < this.pausedUntil) return
    try {
      const won = await this.tryAcquireOrRenew()
      if (won) this.lastRenewedAt = this.init.now()
      if (won && !this.leading) this.setLeading(true)
      if (!won && this.leading) this.setLeading(false)
    } catch (err) {
      this.init.log.warn({ err: (err as Error).message }, 'leader lease not reachable')
      if (this.leading && this.init.now() - this.lastRenewedAt > this.init.renewDeadlineMs) this.setLeading(false)
    }
  }

  private setLeading (leading: boolean): void {
    this.leading = leading
    this.init.log.info({ identity: this.init.identity, lease: `${this.init.namespace}/${this.init.leaseName}` }, leading ? 'became leader' : 'stopped leading')
    for (const listener of leading ? this.started : this.stopped) listener()
  }

  private async read (): Promise<V1Lease | undefined> {
    try {
      return await this.components.leases.readNamespacedLease({ name: this.init.leaseName, namespace: this.init.namespace })
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined
      throw err
    }
  }

  /** True when this replica holds the Lease after the attempt. A lost write race (409) is "not leader". */
  private async tryAcquireOrRenew (): Promise<boolean> {
    const now = this.init.now()
    const lease = await this.read()
    const durationSeconds = Math.ceil(this.init.leaseDurationMs / 1000)
    if (lease === undefined) {
      return await this.write(() => this.components.leases.createNamespacedLease({
        namespace: this.init.namespace,
        body: { metadata: { name: this.init.leaseName, namespace: this.init.namespace }, spec: this.spec(now, durationSeconds, 0, new V1MicroTime(now)) }
      }))
    }
    const spec = lease.spec ?? {}
    // Only used to notice that the Lease changed; the client may hand renewTime over as a Date or a string.
    const renewed: unknown = spec.renewTime
    const record = `${spec.holderIdentity ?? ''}|${renewed instanceof Date ? renewed.toISOString() : typeof renewed === 'string' ? renewed : ''}`
    if (record !== this.observed) {
      this.observed = record
      this.observedAt = now
    }
    const holder = spec.holderIdentity ?? ''
    const expired = this.observedAt + (spec.leaseDurationSeconds ?? durationSeconds) * 1000 <= now
    if (holder !== '' && holder !== this.init.identity && !expired) return false
    const ours = holder === this.init.identity
    lease.spec = this.spec(now, durationSeconds, (spec.leaseTransitions ?? 0) + (ours ? 0 : 1), ours ? spec.acquireTime ?? new V1MicroTime(now) : new V1MicroTime(now))
    return await this.write(() => this.components.leases.replaceNamespacedLease({ name: this.init.leaseName, namespace: this.init.namespace, body: lease }))
  }

  private spec (now: number, durationSeconds: number, transitions: number, acquireTime: V1MicroTime): NonNullable<V1Lease['spec']> {
    return { holderIdentity: this.init.identity, leaseDurationSeconds: durationSeconds, acquireTime, renewTime: new V1MicroTime(now), leaseTransitions: transitions }
  }

  private async write (request: () => Promise<V1Lease>): Promise<boolean> {
    try {
      await request()
      return true
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) return false
      throw err
    }
  }
}
