import { MAX_ROLLOUT_HEAD_BYTES, ROLLOUT_DOMAIN, ROLLOUT_MAGIC } from './constants.js'
import { InvalidEnvelopeError, RollbackError, SameVersionError } from './errors.js'
import type { EnvelopeHead } from './envelope.js'
import { decodeFrame, encodeFrame, isIsoTime, isObject, verifyFrame, type TrustPolicy } from './signed-frame.js'
import type { SigningKey } from './signing-keys.js'

export const ROLLOUT_STATES = ['rolling', 'complete', 'rolled-back'] as const
/**
 * rolling: the waves up to `reached` may serve the version; complete: every
 * edge may (it is released); rolled-back: no edge that has not served it yet may.
 */
export type RolloutState = typeof ROLLOUT_STATES[number]

export interface SignedWave {
  readonly name: string
  /** The peer ids of the edges in this wave. */
  readonly peers: readonly string[]
}

/**
 * The publisher's signed word on a version in rollout. Edges relay versions
 * to each other, so which edge may serve one is decided from this, never
 * from who offered the bytes. Promoting to the next wave signs a new head
 * (a few kilobytes); the body does not travel again.
 */
export interface RolloutHead {
  readonly mesh: string
  readonly keyId: string
  readonly version: number
  readonly bodySha256: string
  readonly waves: readonly SignedWave[]
  /** How many waves are reached (1 at the start). */
  readonly reached: number
  readonly state: RolloutState
  /** Orders heads of one version: a later one supersedes. */
  readonly issuedAt: string
}

export interface RolloutHeadInput {
  readonly version: Pick<EnvelopeHead, 'mesh' | 'version' | 'bodySha256'>
  readonly waves: readonly SignedWave[]
  readonly reached: number
  readonly state: RolloutState
  readonly issuedAt: Date
}

/**
 * `carried`: the version's body as an encoded `CarriedTransfer` (small ones
 * only), outside the signature (it holds its own): edges of the first wave
 * then need no pull. Promotions carry none: the body is held by then.
 */
export function sealRolloutHead (input: RolloutHeadInput, key: SigningKey, carried?: Uint8Array): { head: RolloutHead, bytes: Uint8Array } {
  const head: RolloutHead = {
    mesh: input.version.mesh,
    keyId: key.keyId,
    version: input.version.version,
    bodySha256: input.version.bodySha256,
    waves: input.waves.map(wave => ({ name: wave.name, peers: [...wave.peers] })),
    reached: input.reached,
    state: input.state,
    issuedAt: input.issuedAt.toISOString()
  }
  if (!isRolloutHead(head)) throw new TypeError('a rollout head reaches between 0 and all of its waves')
  const bytes = encodeFrame(ROLLOUT_MAGIC, ROLLOUT_DOMAIN, head, key, carried)
  if (bytes.byteLength > MAX_ROLLOUT_HEAD_BYTES) throw new TypeError(`a rollout head of ${bytes.byteLength} bytes is over the ${MAX_ROLLOUT_HEAD_BYTES} a node accepts: too many edges in waves`)
  return { head, bytes }
}

export interface OpenedRolloutHead {
  readonly head: RolloutHead
  /** The signed part alone: what is kept and compared (the same head may come with or without a body). */
  readonly signed: Uint8Array
  /** What it carried (unverified: its own signed head and hash are checked when it lands). */
  readonly carried: Uint8Array | undefined
}

/** Verifies a rollout head: framing, fields, mesh, key and signature. */
export function openRolloutHead (bytes: Uint8Array, trust: TrustPolicy): OpenedRolloutHead {
  if (bytes.byteLength > MAX_ROLLOUT_HEAD_BYTES) throw new InvalidEnvelopeError(`a rollout head of ${bytes.byteLength} bytes is too large`)
  const frame = decodeFrame(ROLLOUT_MAGIC, 'a rollout head', bytes, MAX_ROLLOUT_HEAD_BYTES)
  if (!isRolloutHead(frame.head)) throw new InvalidEnvelopeError('not a rollout head')
  verifyFrame(frame, frame.head, ROLLOUT_DOMAIN, trust)
  const signed = bytes.subarray(0, bytes.byteLength - frame.trailer.byteLength)
  return { head: frame.head, signed, carried: frame.trailer.byteLength > 0 ? frame.trailer : undefined }
}

function isRolloutHead (value: unknown): value is RolloutHead {
  return isObject(value) && Object.keys(value).length === 8 &&
    typeof value.mesh === 'string' && typeof value.keyId === 'string' &&
    Number.isSafeInteger(value.version) && (value.version as number) >= 1 &&
    typeof value.bodySha256 === 'string' && /^[0-9a-f]{64}$/.test(value.bodySha256) &&
    Array.isArray(value.waves) && value.waves.every(isSignedWave) &&
    Number.isSafeInteger(value.reached) && (value.reached as number) >= 0 && (value.reached as number) <= value.waves.length &&
    (ROLLOUT_STATES as readonly unknown[]).includes(value.state) &&
    isIsoTime(value.issuedAt)
}

function isSignedWave (value: unknown): value is SignedWave {
  return isObject(value) && Object.keys(value).length === 2 && typeof value.name === 'string' &&
    Array.isArray(value.peers) && value.peers.every(peer => typeof peer === 'string')
}

/** Refuses a head that does not supersede the one held: same version and no later, or an older version. */
export function assertNewerRollout (head: RolloutHead, held: RolloutHead | undefined): void {
  if (held === undefined || head.version > held.version) return
  if (head.version < held.version) throw new RollbackError(`rollout of version ${head.version} is older than the one of ${held.version} held`)
  if (Date.parse(head.issuedAt) <= Date.parse(held.issuedAt)) throw new SameVersionError(`rollout head of version ${head.version} issued ${head.issuedAt} is not newer than the one held`)
}

/** The waves reached, by name, of the edges that may serve the version. */
export function wavesReached (head: RolloutHead): readonly SignedWave[] {
  return head.waves.slice(0, head.reached)
}

/** Whether this edge may serve the version the head is about, by the head alone. */
export function mayServe (head: RolloutHead, peerId: string): boolean {
  if (head.state === 'complete') return true
  if (head.state === 'rolled-back') return false
  return wavesReached(head).some(wave => wave.peers.includes(peerId))
}
