import { BEACON_DOMAIN, BEACON_MAGIC } from './constants.js'
import { InvalidEnvelopeError } from './errors.js'
import type { EnvelopeHead } from './envelope.js'
import { decodeFrame, encodeFrame, isIsoTime, isObject, verifyFrame, type TrustPolicy } from './signed-frame.js'
import type { SigningKey } from './signing-keys.js'

/**
 * The publisher's "I am here, and this is the newest config", sent on each
 * change and periodically: a few hundred bytes, freshly signed each time. It
 * is all that gossip carries: a node that hears of a newer version pulls the
 * body, and an edge can tell "no news" from "cut off". The beacon of a change
 * may carry the new version's body (or its delta) when that is small: nodes
 * then need no pull at all, so a hop costs what gossip costs.
 */
export interface HeadBeacon {
  readonly mesh: string
  readonly keyId: string
  readonly version: number
  readonly bodySha256: string
  readonly bodySize: number
  readonly announcedAt: string
}

/** A verified beacon, and what it carries (unverified: its signed head and hash are checked when it lands). */
export interface OpenedBeacon {
  readonly beacon: HeadBeacon
  readonly carried: Uint8Array | undefined
}

/** `carried`: an encoded `CarriedTransfer` of the announced version, outside the beacon's signature (it holds its own). */
export function sealBeacon (head: EnvelopeHead, announcedAt: Date, key: SigningKey, carried?: Uint8Array): Uint8Array {
  const beacon: HeadBeacon = {
    mesh: head.mesh,
    keyId: key.keyId,
    version: head.version,
    bodySha256: head.bodySha256,
    bodySize: head.bodySize,
    announcedAt: announcedAt.toISOString()
  }
  return encodeFrame(BEACON_MAGIC, BEACON_DOMAIN, beacon, key, carried)
}

function isBeacon (value: unknown): value is HeadBeacon {
  return isObject(value) && Object.keys(value).length === 6 &&
    typeof value.mesh === 'string' && typeof value.keyId === 'string' &&
    Number.isSafeInteger(value.version) && (value.version as number) >= 1 &&
    typeof value.bodySha256 === 'string' && /^[0-9a-f]{64}$/.test(value.bodySha256) &&
    Number.isSafeInteger(value.bodySize) && (value.bodySize as number) >= 0 &&
    isIsoTime(value.announcedAt)
}

export function openBeacon (bytes: Uint8Array, trust: TrustPolicy): OpenedBeacon {
  const frame = decodeFrame(BEACON_MAGIC, 'a head beacon', bytes)
  if (!isBeacon(frame.head)) throw new InvalidEnvelopeError('not a head beacon')
  verifyFrame(frame, frame.head, BEACON_DOMAIN, trust)
  return { beacon: frame.head, carried: frame.trailer.byteLength > 0 ? frame.trailer : undefined }
}
