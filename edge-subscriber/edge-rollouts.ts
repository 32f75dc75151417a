import { join } from 'node:path'
import type { Envelope } from '../node/envelope.js'
import { fileEnvelopeStore } from '../node/file-envelope-store.js'
import { memoryEnvelopeStore } from '../node/envelope-store.js'
import { DISK_ORIGIN, LatestEnvelope, type OfferOutcome } from '../node/latest-envelope.js'
import type { Logger } from '../node/logger.js'
import { RolloutTrack } from '../node/rollout-track.js'
import type { RolloutState } from '../node/rollout-head.js'
import type { TrustPolicy } from '../node/signed-frame.js'
import { changedServices, checkBackends, type BackendHealth } from './backend-probes.js'
import type { ProxyErrors } from './proxy-errors.js'

export const SERVED_CANDIDATE_FILE = 'served-candidate.bin'

/** The rollout an edge knows of, as its /status shows it. */
export interface KnownRollout {
  version: number
  state: RolloutState
  reached: number
  waves: number
  /** The version's bytes are here (it may be held before this edge's wave is reached). */
  held: boolean
  /** A head lets this edge serve it. */
  mayServe: boolean
}
/** The origin of a version in rollout this edge took, as the served envelope reports it. */
export const ROLLOUT_ORIGIN = 'rollout'

export interface EdgeRolloutsInit {
  dataDir: string
  trust: TrustPolicy
  log: Logger
  maxBodyBytes?: number | undefined
  countOffer?: ((outcome: OfferOutcome, origin: string) => void) | undefined
  /** The highest released version this edge holds: a version in rollout below it is never taken. */
  releasedVersion: () => number
  /** The body this edge serves now (what a version in rollout is probed against). */
  servedBody: () => Uint8Array | undefined
  /** Traefik's metrics (`--proxy-metrics`): the changed services' 5xx share, since against before. */
  proxyErrors?: ProxyErrors | undefined
}

/**
 * An edge's part in rollouts: versions in rollout and their heads are held
 * in memory (RolloutTrack); one this edge's wave has reached is taken, persisted apart
 * (so after a restart, or a rollback head, it is still what this edge
 * served: never a step back), and handed to `onServable` like a released one.
 * Once taken, the backends it changed are probed and the result is reported.
 */
export class EdgeRollouts {
  readonly track: RolloutTrack
  /** The newest version in rollout this edge has served. */
  readonly taken: LatestEnvelope
  private peerId: string | undefined
  private health: BackendHealth | undefined
  private readonly healthListeners = new Set<() => void>()

  constructor (private readonly init: EdgeRolloutsInit) {
    // What is held but not served needs no disk: after a restart, peers offer it again. What was taken is kept.
    this.track = new RolloutTrack({ trust: init.trust, candidateStore: memoryEnvelopeStore(), headStore: memoryEnvelopeStore(), log: init.log, maxBodyBytes: init.maxBodyBytes, countOffer: init.countOffer })
    this.taken = new LatestEnvelope({ trust: init.trust, store: fileEnvelopeStore(join(init.dataDir, SERVED_CANDIDATE_FILE)), log: init.log, maxBodyBytes: init.maxBodyBytes })
    this.track.onChange(() => { this.takeServable() })
    this.taken.onAccepted((envelope, origin) => { if (origin !== DISK_ORIGIN) void this.checkHealth(envelope) })
    init.proxyErrors?.onScrape(() => { this.recheckErrors() })
  }

  /** Restores what was taken and held before a restart; call before serving. */
  async restore (): Promise<void> {
    await this.taken.restore()
    await this.track.restore()
  }

  /** The edge's peer id is known once its mesh node exists: from then on, reached waves are taken. */
  joined (peerId: string): void {
    this.peerId = peerId
    this.takeServable()
  }

  /** The rollout this edge knows of, if any: its version, its state, whether the version is held here and whether this edge may serve it. */
  known (): KnownRollout | undefined {
    const head = this.track.head()
    if (head === undefined) return undefined
    const held = this.track.candidates.current()?.head.version === head.version
    return { version: head.version, state: head.state, reached: head.reached, waves: head.waves.length, held, mayServe: this.peerId !== undefined && this.track.servable(this.peerId) !== undefined }
  }

  backendHealth (): BackendHealth | undefined {
    return this.health
  }

  onHealth (listener: () => void): void {
    this.healthListeners.add(listener)
  }

  setTrust (trust: TrustPolicy): void {
    this.track.setTrust(trust)
    this.taken.setTrust(trust)
  }

  async close (): Promise<void> {
    await this.track.close()
    await this.taken.close()
  }

  private takeServable (): void {
    if (this.peerId === undefined) return
    const candidate = this.track.servable(this.peerId)
    if (candidate === undefined || candidate.head.version <= Math.max(this.init.releasedVersion(), this.taken.highestVersion())) return
    this.init.log.info({ version: candidate.head.version, rollout: this.track.head()?.reached }, 'this edge\'s wave is reached: taking the version in rollout')
    this.taken.offer(candidate.bytes, ROLLOUT_ORIGIN)
  }

  private async checkHealth (envelope: Envelope): Promise<void> {
    const parse = (body: Uint8Array | undefined): Record<string, unknown> | undefined =>
      body === undefined ? undefined : JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>
    const before = parse(this.init.servedBody())
    const after = parse(envelope.body) ?? {}
    this.init.proxyErrors?.watch(envelope.head.version, changedServices(before, after).map(change => change.service))
    const health = await checkBackends(envelope.head.version, before, after)
    if (health.version < (this.health?.version ?? 0)) return
    this.health = health
    this.init.log[health.healthy ? 'info' : 'warn']({ version: health.version, failing: health.failing, alreadyDown: health.alreadyDown, probed: health.probed, notProbed: health.notProbed }, 'backends of the version in rollout probed')
    this.recheckErrors()
    for (const listener of this.healthListeners) listener()
  }

  /** While the version in rollout this edge took is not released, its changed services' 5xx share is read again at each scrape. */
  private recheckErrors (): void {
    const health = this.health
    const head = this.track.head()
    if (health === undefined || this.init.proxyErrors === undefined || head?.version !== health.version || head.state !== 'rolling') return
    const errors = this.init.proxyErrors.worse(health.version)
    if (errors.join() === health.errors.join()) return
    this.health = { ...health, errors, healthy: health.failing.length === 0 && errors.length === 0 }
    this.init.log[errors.length === 0 ? 'info' : 'warn']({ version: health.version, errors }, 'the proxy\'s 5xx share of the changed services, since the change against before')
    for (const listener of this.healthListeners) listener()
  }
}
