import { canonicalBytes } from '../node/canonical-json.js'
import { nextVersion } from '../node/choose-newest.js'
import { sealEnvelope, sha256Hex, type Envelope } from '../node/envelope.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import type { SigningKey } from '../node/signing-keys.js'
import type { JsonObject } from './json.js'
import type { Rollouts } from './rollouts.js'

export interface ConfigPublisherInit {
  signingKey: SigningKey
  now?: (() => number) | undefined
  /** Told of every version signed, released or put in rollout. */
  onSigned?: ((envelope: Envelope) => void) | undefined
}

export interface ConfigPublisherComponents {
  /** The released versions: served by every edge, an earlier release's too. */
  latest: LatestEnvelope
  /** Rollouts in waves, and the versions in rollout held apart from the released ones; absent, every version is released at once. */
  waves?: {
    candidates: LatestEnvelope
    rollouts: Pick<Rollouts, 'inWaves' | 'heldBack' | 'rolling' | 'begin' | 'overridden'>
  } | undefined
  /** Tells the mesh of the new released head; resolves with how many peers heard it directly. */
  announce: () => Promise<number>
}

/** The origin of envelopes this publisher signed itself, as `LatestEnvelope` reports it. */
export const OWN_ORIGIN = 'self'

export type PublishResult =
  | { readonly changed: false, readonly envelope: Envelope | undefined, readonly heldBack?: true }
  | { readonly changed: true, readonly envelope: Envelope, readonly recipients: number }

/**
 * Signs a config, only when its canonical bytes differ from the newest
 * envelope known (released, in rollout, or learned from the mesh), with a
 * version above every version seen. Under a rollout policy it goes out in
 * waves; otherwise (and for a pin) its head is announced to every edge at once.
 */
export class ConfigPublisher {
  private readonly signingKey: SigningKey
  private readonly now: () => number

  constructor (private readonly components: ConfigPublisherComponents, private readonly init: ConfigPublisherInit) {
    this.signingKey = init.signingKey
    this.now = init.now ?? Date.now
  }

  /** `outsideWaves`: released to every edge at once, ending a rollout in progress (a pin wins over a rollout). */
  async publish (config: JsonObject, outsideWaves = false): Promise<PublishResult> {
    const { latest, waves } = this.components
    const body = canonicalBytes(config)
    if (body.byteLength > latest.maxBodyBytes) {
      throw new Error(`the merged config is ${body.byteLength} bytes, over the limit of ${latest.maxBodyBytes} (--max-config-mib); still serving the previous one`)
    }
    const sha256 = sha256Hex(body)
    const rolling = waves?.rollouts.rolling()
    if (outsideWaves && rolling !== undefined) {
      // Edges of the waves reached serve the version in rollout: the pin goes out above it, to every edge.
      await waves?.rollouts.overridden('a pin was published to every edge')
      return await this.release(await this.keep(latest, body))
    }
    const newest = rolling ?? latest.current()
    // Content signed by another key (before a rotation) is re-signed with ours.
    if (newest !== undefined && newest.head.bodySha256 === sha256 && newest.head.keyId === this.signingKey.keyId) {
      return { changed: false, envelope: newest }
    }
    if (waves !== undefined && !outsideWaves && waves.rollouts.inWaves()) {
      if (waves.rollouts.heldBack(sha256)) return { changed: false, envelope: latest.current(), heldBack: true }
      const envelope = await this.keep(waves.candidates, body)
      await waves.rollouts.begin(envelope, latest.current())
      return { changed: true, envelope, recipients: 0 }
    }
    return await this.release(await this.keep(latest, body))
  }

  /** Signs a config again above every version (a rollback to the last released one), released to every edge. */
  async resign (body: Uint8Array): Promise<Envelope> {
    return (await this.release(await this.keep(this.components.latest, body))).envelope
  }

  /** Releases a version kept already (one whose rollout completed) to every edge. */
  async release (envelope: Envelope): Promise<{ changed: true, envelope: Envelope, recipients: number }> {
    const { latest } = this.components
    if ((latest.current()?.head.version ?? 0) < envelope.head.version) await this.offer(latest, envelope)
    return { changed: true, envelope, recipients: await this.components.announce() }
  }

  private async keep (track: LatestEnvelope, body: Uint8Array): Promise<Envelope> {
    const now = this.now()
    const highest = Math.max(this.components.latest.highestVersion(), this.components.waves?.candidates.highestVersion() ?? 0)
    const envelope = sealEnvelope({ mesh: track.mesh, version: nextVersion(highest, now), issuedAt: new Date(now), body }, this.signingKey)
    await this.offer(track, envelope)
    this.init.onSigned?.(envelope)
    return envelope
  }

  private async offer (track: LatestEnvelope, envelope: Envelope): Promise<void> {
    const verdict = track.offer(envelope.bytes, OWN_ORIGIN)
    if (verdict !== 'accept') {
      throw new Error(`own envelope not accepted (${verdict}); is the signing key among the trusted keys?`)
    }
    await track.settled()
    if ((track.current()?.head.version ?? 0) < envelope.head.version) {
      throw new Error(`version ${envelope.head.version} could not be kept in the publisher's state store; still serving the previous one`)
    }
  }
}
