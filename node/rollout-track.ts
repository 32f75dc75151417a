import type { Envelope } from './envelope.js'
import type { EnvelopeStore } from './envelope-store.js'
import { classifyError, LatestEnvelope, type OfferOutcome, type Verdict } from './latest-envelope.js'
import type { Logger } from './logger.js'
import { assertNewerRollout, mayServe, openRolloutHead, type OpenedRolloutHead, type RolloutHead } from './rollout-head.js'
import type { TrustPolicy } from './signed-frame.js'

export interface RolloutTrackInit {
  trust: TrustPolicy
  /** Where the newest version in rollout is kept (held, served or not); an edge keeps it in memory (what it served is kept apart). */
  candidateStore: EnvelopeStore
  /** Where the newest rollout head is kept; in memory on an edge too (peers tell it again after a restart). */
  headStore: EnvelopeStore
  log: Logger
  maxBodyBytes?: number | undefined
  countOffer?: ((outcome: OfferOutcome, origin: string) => void) | undefined
}

/**
 * The versions in rollout, apart from the released ones a node serves and
 * relays to everyone: the newest one held (verified and persisted like any
 * envelope) and the newest signed rollout head, which says which edges may
 * serve it. Relayed only over the rollout topic and the candidate sync
 * protocol, which nodes of an earlier release never speak.
 */
export class RolloutTrack {
  readonly candidates: LatestEnvelope
  private held: { head: RolloutHead, bytes: Uint8Array } | undefined
  private saving: Promise<void> = Promise.resolve()
  private readonly listeners = new Set<() => void>()

  constructor (private readonly init: RolloutTrackInit) {
    this.candidates = new LatestEnvelope({
      trust: init.trust,
      store: init.candidateStore,
      log: init.log,
      maxBodyBytes: init.maxBodyBytes,
      countOffer: init.countOffer
    })
    this.candidates.onAccepted(() => { this.notify() })
  }

  head (): RolloutHead | undefined {
    return this.held?.head
  }

  /** The held head as signed, without a body (what a peer that asks is told). */
  headBytes (): Uint8Array | undefined {
    return this.held?.bytes
  }

  /** Told whenever the held version or the head changes. */
  onChange (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  setTrust (trust: TrustPolicy): void {
    this.candidates.setTrust(trust)
  }

  /** Restores what was held before a restart, through the same checks as from the network. */
  async restore (): Promise<void> {
    await this.candidates.restore()
    const bytes = await this.init.headStore.load()
    if (bytes === undefined) return
    try {
      const { head, signed } = openRolloutHead(bytes, this.candidates.trustPolicy())
      this.held = { head, bytes: signed }
      this.notify()
    } catch (err) {
      this.init.log.warn({ reason: (err as Error).message }, 'stored rollout head refused')
    }
  }

  /**
   * Takes a rollout head that supersedes the one held (persisted in the
   * background: a head alone never makes an edge serve anything it would
   * not serve after a restart without it). The same head again is accepted
   * without change, so gossip relays it; anything older is ignored.
   */
  offerHead (bytes: Uint8Array, origin: string): { verdict: Verdict, head?: RolloutHead, carried?: Uint8Array | undefined } {
    let opened: OpenedRolloutHead
    try {
      opened = openRolloutHead(bytes, this.candidates.trustPolicy())
      if (this.held !== undefined && Buffer.from(opened.signed).equals(this.held.bytes)) return { verdict: 'accept', head: opened.head, carried: opened.carried }
      assertNewerRollout(opened.head, this.held?.head)
    } catch (err) {
      const known = classifyError(err)
      if (known === undefined) throw err
      if (known.verdict === 'reject') this.init.log.warn({ origin, reason: (err as Error).message }, 'rollout head refused')
      return { verdict: known.verdict }
    }
    const { head, signed, carried } = opened
    this.held = { head, bytes: signed }
    this.saving = this.saving.then(async () => { await this.init.headStore.save([signed]) }).catch((err: unknown) => {
      this.init.log.error({ version: head.version, err }, 'could not persist the rollout head')
    })
    this.notify()
    return { verdict: 'accept', head, carried }
  }

  /** The held version this edge may serve by the held head, if any. */
  servable (peerId: string): Envelope | undefined {
    const candidate = this.candidates.current()
    const head = this.held?.head
    if (candidate === undefined || head === undefined) return undefined
    if (head.version !== candidate.head.version || head.bodySha256 !== candidate.head.bodySha256) return undefined
    return mayServe(head, peerId) ? candidate : undefined
  }

  async close (): Promise<void> {
    await this.candidates.close()
    await this.saving
  }

  private notify (): void {
    for (const listener of this.listeners) listener()
  }
}
