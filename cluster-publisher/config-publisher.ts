import { canonicalBytes } from '../node/canonical-json.js'
import { nextVersion } from '../node/choose-newest.js'
import { sealEnvelope, sha256Hex, type Envelope } from '../node/envelope.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import type { SigningKey } from '../node/signing-keys.js'
import type { JsonObject } from './json.js'

export interface ConfigPublisherInit {
  signingKey: SigningKey
  now?: (() => number) | undefined
}

export interface ConfigPublisherComponents {
  latest: LatestEnvelope
  /** Tells the mesh of the new head; resolves with how many peers heard it directly. */
  announce: () => Promise<number>
}

/** The origin of envelopes this publisher signed itself, as `LatestEnvelope` reports it. */
export const OWN_ORIGIN = 'self'

export type PublishResult =
  | { readonly changed: false, readonly envelope: Envelope }
  | { readonly changed: true, readonly envelope: Envelope, readonly recipients: number }

/**
 * Signs a config and announces its head to the mesh (peers pull the body),
 * only when its canonical bytes differ from the newest envelope known (ours
 * or one learned from the mesh), with a version above every version seen.
 */
export class ConfigPublisher {
  private readonly signingKey: SigningKey
  private readonly now: () => number

  constructor (private readonly components: ConfigPublisherComponents, init: ConfigPublisherInit) {
    this.signingKey = init.signingKey
    this.now = init.now ?? Date.now
  }

  async publish (config: JsonObject): Promise<PublishResult> {
    const { latest, announce } = this.components
    const body = canonicalBytes(config)
    if (body.byteLength > latest.maxBodyBytes) {
      throw new Error(`the merged config is ${body.byteLength} bytes, over the limit of ${latest.maxBodyBytes} (--max-config-mib); still serving the previous one`)
    }
    const current = latest.current()
    // Content signed by another key (before a rotation) is re-signed with ours.
    if (current !== undefined && current.head.bodySha256 === sha256Hex(body) && current.head.keyId === this.signingKey.keyId) {
      return { changed: false, envelope: current }
    }
    const now = this.now()
    const envelope = sealEnvelope({
      mesh: latest.mesh,
      version: nextVersion(latest.highestVersion(), now),
      issuedAt: new Date(now),
      body
    }, this.signingKey)
    const verdict = latest.offer(envelope.bytes, OWN_ORIGIN)
    if (verdict !== 'accept') {
      throw new Error(`own envelope not accepted (${verdict}); is the signing key among the trusted keys?`)
    }
    await latest.settled()
    if ((latest.current()?.head.version ?? 0) < envelope.head.version) {
      throw new Error(`version ${envelope.head.version} could not be kept in the publisher's state store; still serving the previous one`)
    }
    return { changed: true, envelope, recipients: await announce() }
  }
}
