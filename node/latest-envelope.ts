import { assertNewer } from './choose-newest.js'
import { DEFAULT_MAX_BODY_BYTES } from './constants.js'
import { openEnvelope, openFetchedEnvelope, openHead, type Envelope, type EnvelopeHead, type TrustPolicy } from './envelope.js'
import { RefusalError, TooLargeError, type RefusalOutcome, type Verdict } from './errors.js'
import type { EnvelopeStore } from './envelope-store.js'
import type { Logger } from './logger.js'

/** The origin of an envelope restored from the store at start, as `onAccepted` reports it. */
export const DISK_ORIGIN = 'disk'

export type { Verdict }

/** Every way an offered envelope can end, as counted in metrics. */
export type OfferOutcome = 'accepted' | RefusalOutcome

/**
 * How a verification error ends: what is counted, and what gossipsub is told.
 * Undefined for anything that is not a verification error (a bug: rethrow it).
 */
export function classifyError (err: unknown): { outcome: RefusalOutcome, verdict: Verdict } | undefined {
  return err instanceof RefusalError ? { outcome: err.outcome, verdict: err.verdict } : undefined
}

export interface LatestEnvelopeInit {
  trust: TrustPolicy
  store: EnvelopeStore
  log: Logger
  /** Larger configs are refused before their bodies are fetched (`--max-config-mib`). */
  maxBodyBytes?: number | undefined
  countOffer?: ((outcome: OfferOutcome, origin: string) => void) | undefined
}

/**
 * The newest verified envelope a node holds. Gossip, sync and the disk all
 * hand bytes to `offer`, which verifies synchronously (cheap enough for a
 * gossipsub validator) and then persists before anything is served: what is
 * served has always survived a crash, so a restart never steps backwards.
 */
export class LatestEnvelope {
  private readonly store: EnvelopeStore
  private readonly log: Logger
  private readonly countOffer: (outcome: OfferOutcome, origin: string) => void
  readonly maxBodyBytes: number
  private trust: TrustPolicy
  private committed: Envelope | undefined
  private pending: { envelope: Envelope, origin: string } | undefined
  private highestOffered = 0
  private committing: Promise<void> | undefined
  private closed = false
  private readonly listeners = new Set<(envelope: Envelope, origin: string) => void>()

  constructor (init: LatestEnvelopeInit) {
    this.trust = init.trust
    this.store = init.store
    this.log = init.log
    this.countOffer = init.countOffer ?? (() => {})
    this.maxBodyBytes = init.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
  }

  /** The envelope being served, if any. */
  current (): Envelope | undefined {
    return this.committed
  }

  get mesh (): string {
    return this.trust.mesh
  }

  /** The highest version accepted so far, persisted or about to be. */
  highestVersion (): number {
    return this.highestOffered
  }

  trustPolicy (): TrustPolicy {
    return this.trust
  }

  trustedKeyIds (): string[] {
    return [...this.trust.keys.keys()]
  }

  /**
   * Replaces the trusted keys (on SIGHUP, say). What is served stays served
   * even if its key is no longer trusted: an edge never goes back to nothing.
   */
  setTrust (trust: TrustPolicy): void {
    if (trust.mesh !== this.trust.mesh) throw new TypeError(`cannot move from mesh ${this.trust.mesh} to ${trust.mesh}`)
    this.trust = trust
  }

  /** Whether the served envelope's key is still among the trusted ones. */
  currentKeyTrusted (): boolean | undefined {
    const current = this.committed
    return current === undefined ? undefined : this.trust.keys.has(current.head.keyId)
  }

  /** Called after each envelope becomes current: persisted, or restored (origin DISK_ORIGIN). */
  onAccepted (listener: (envelope: Envelope, origin: string) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * Loads the stored envelope through the same checks as one from the network,
   * taking it only when it is newer than what is held (a replica that becomes
   * leader restores what another one stored). Returns why nothing was
   * restored, or undefined when it was.
   */
  async restore (): Promise<string | undefined> {
    const bytes = await this.store.load()
    if (bytes === undefined) return 'nothing stored yet'
    try {
      const envelope = openEnvelope(bytes, this.trust)
      if (envelope.head.version <= (this.committed?.head.version ?? 0)) return 'what is held is as new as what is stored'
      this.committed = envelope
      this.highestOffered = Math.max(this.highestOffered, envelope.head.version)
      this.notify(envelope, DISK_ORIGIN)
      return undefined
    } catch (err) {
      return `stored envelope refused: ${(err as Error).message}`
    }
  }

  /**
   * Checks a signed head sent ahead of its body: is the body worth fetching?
   * A refusal is counted as an offer's would be.
   */
  offerHead (headBytes: Uint8Array, origin: string): { verdict: Verdict, head?: EnvelopeHead } {
    try {
      const head = openHead(headBytes, this.trust)
      this.admit(head)
      return { verdict: 'accept', head }
    } catch (err) {
      return { verdict: this.refuse(err, origin) }
    }
  }

  /**
   * Takes no more offers (the node is stopping: a body still being inflated
   * must not be written after its owner has gone), and resolves once what was
   * accepted is written and at rest.
   */
  async close (): Promise<void> {
    this.closed = true
    await this.settled()
    try {
      await this.store.flush?.()
    } catch (err) {
      this.log.error({ version: this.committed?.head.version, err }, 'could not finish writing the stored envelope; its write-ahead copy holds it')
    }
  }

  offer (bytes: Uint8Array, origin: string): Verdict {
    return this.take(() => openEnvelope(bytes, this.trust), origin)
  }

  /** Offers an envelope whose signed head and body were fetched apart. */
  offerFetched (headBytes: Uint8Array, body: Uint8Array, origin: string): Verdict {
    return this.take(() => openFetchedEnvelope(headBytes, body, this.trust), origin)
  }

  private take (open: () => Envelope, origin: string): Verdict {
    if (this.closed) return 'ignore'
    let envelope: Envelope
    try {
      envelope = open()
      this.admit(envelope.head)
    } catch (err) {
      return this.refuse(err, origin)
    }
    this.countOffer('accepted', origin)
    this.highestOffered = envelope.head.version
    this.pending = { envelope, origin }
    this.committing ??= this.commitPending().finally(() => { this.committing = undefined })
    return 'accept'
  }

  private admit (head: EnvelopeHead): void {
    if (head.bodySize > this.maxBodyBytes) {
      throw new TooLargeError(`a config of ${head.bodySize} bytes is over this node's limit of ${this.maxBodyBytes} (--max-config-mib)`)
    }
    assertNewer(head.version, this.highestOffered)
  }

  /**
   * Counts a verification error (here, or in a body fetched apart from its
   * head), logs it when it is worth a look, and says what gossipsub is told.
   * Anything else is a bug, and is rethrown.
   */
  refuse (err: unknown, origin: string): Verdict {
    const known = classifyError(err)
    if (known === undefined) throw err
    this.countOffer(known.outcome, origin)
    if (known.verdict === 'reject' || known.outcome === 'too-large') {
      this.log.warn({ origin, reason: (err as Error).message }, 'envelope refused')
    }
    return known.verdict
  }

  /** Resolves once every accepted envelope has been persisted (or failed to be). */
  async settled (): Promise<void> {
    while (this.committing !== undefined) await this.committing
  }

  /** Only the newest pending envelope is written: a burst costs one write, not one per version. */
  private async commitPending (): Promise<void> {
    while (this.pending !== undefined) {
      const { envelope, origin } = this.pending
      this.pending = undefined
      try {
        await this.store.save([envelope.headBytes, envelope.body])
      } catch (err) {
        this.log.error({ version: envelope.head.version, err }, 'could not persist envelope; still serving the previous one')
        // Forget the refused version so the next sync or gossip offers it again.
        const newer = this.pending as { envelope: Envelope } | undefined
        this.highestOffered = Math.max(this.committed?.head.version ?? 0, newer?.envelope.head.version ?? 0)
        continue
      }
      this.committed = envelope
      this.notify(envelope, origin)
    }
  }

  private notify (envelope: Envelope, origin: string): void {
    for (const listener of this.listeners) listener(envelope, origin)
  }
}
