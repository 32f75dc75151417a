import { createHash } from 'node:crypto'
import { ENVELOPE_MAGIC, SIGNATURE_DOMAIN } from './constants.js'
import { BadSignatureError, InvalidEnvelopeError } from './errors.js'
import { decodeFrame, encodeFrame, isIsoTime, isObject, verifyFrame, type TrustPolicy } from './signed-frame.js'
import type { SigningKey } from './signing-keys.js'

export { trustPolicy, type TrustPolicy } from './signed-frame.js'

/**
 * What is signed. The body is bound by its hash, so a head alone
 * (a few hundred bytes) is enough to decide whether a body is wanted.
 */
export interface EnvelopeHead {
  readonly mesh: string
  readonly version: number
  readonly issuedAt: string
  readonly keyId: string
  readonly bodySha256: string
  readonly bodySize: number
}

export interface Envelope {
  readonly head: EnvelopeHead
  /** The canonical JSON of the config, exactly as served. */
  readonly body: Uint8Array
  /** The whole envelope as it travels and rests on disk. */
  readonly bytes: Uint8Array
}

export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

export interface SealInput {
  mesh: string
  version: number
  issuedAt: Date
  body: Uint8Array
}

/** Signs a canonical body into an envelope: a frame whose trailer is the body. */
export function sealEnvelope (input: SealInput, key: SigningKey): Envelope {
  if (!Number.isSafeInteger(input.version) || input.version < 1) {
    throw new TypeError(`version must be a positive safe integer, got ${input.version}`)
  }
  const head: EnvelopeHead = {
    mesh: input.mesh,
    version: input.version,
    issuedAt: input.issuedAt.toISOString(),
    keyId: key.keyId,
    bodySha256: sha256Hex(input.body),
    bodySize: input.body.byteLength
  }
  const bytes = encodeFrame(ENVELOPE_MAGIC, SIGNATURE_DOMAIN, head, key, input.body)
  return { head, body: bytes.subarray(bytes.byteLength - input.body.byteLength), bytes }
}

function isHead (value: unknown): value is EnvelopeHead {
  return isObject(value) && Object.keys(value).length === 6 &&
    typeof value.mesh === 'string' &&
    Number.isSafeInteger(value.version) && (value.version as number) >= 1 &&
    isIsoTime(value.issuedAt) &&
    typeof value.keyId === 'string' &&
    typeof value.bodySha256 === 'string' && /^[0-9a-f]{64}$/.test(value.bodySha256) &&
    Number.isSafeInteger(value.bodySize) && (value.bodySize as number) >= 0
}

function decodeEnvelope (bytes: Uint8Array): { head: EnvelopeHead, frame: ReturnType<typeof decodeFrame> } {
  const frame = decodeFrame(ENVELOPE_MAGIC, 'an envelope', bytes)
  if (!isHead(frame.head)) throw new InvalidEnvelopeError('head lacks a field or has a field of the wrong type')
  if (frame.trailer.byteLength !== frame.head.bodySize) {
    throw new InvalidEnvelopeError(`body is ${frame.trailer.byteLength} bytes, head says ${frame.head.bodySize}`)
  }
  return { head: frame.head, frame }
}

/**
 * Verifies an envelope against the trusted keys of one mesh: framing,
 * mesh, key, signature and body hash. Says nothing about version order.
 */
export function openEnvelope (bytes: Uint8Array, trust: TrustPolicy): Envelope {
  const { head, frame } = decodeEnvelope(bytes)
  verifyFrame(frame, head, SIGNATURE_DOMAIN, trust)
  if (sha256Hex(frame.trailer) !== head.bodySha256) {
    throw new BadSignatureError('body does not match the signed hash')
  }
  return { head, body: frame.trailer, bytes }
}

/**
 * The signed head alone: the envelope without its body. It is what a node
 * checks before fetching a body (a few hundred bytes against megabytes).
 */
export function headBytesOf (envelope: Envelope): Uint8Array {
  return envelope.bytes.subarray(0, envelope.bytes.byteLength - envelope.body.byteLength)
}

/** Verifies a signed head sent without its body (see `headBytesOf`): framing, mesh, key and signature. */
export function openHead (bytes: Uint8Array, trust: TrustPolicy): EnvelopeHead {
  const frame = decodeFrame(ENVELOPE_MAGIC, 'a signed head', bytes)
  if (!isHead(frame.head) || frame.trailer.byteLength !== 0) throw new InvalidEnvelopeError('not a signed head')
  verifyFrame(frame, frame.head, SIGNATURE_DOMAIN, trust)
  return frame.head
}

/** An envelope again, from a verified head and a body fetched apart from it (`openEnvelope` checks the hash). */
export function joinHeadAndBody (headBytes: Uint8Array, body: Uint8Array): Uint8Array {
  return Buffer.concat([headBytes, body])
}

/** Reads a head without verifying anything: for inspection only, never for serving. */
export function peekHead (bytes: Uint8Array): EnvelopeHead {
  return decodeEnvelope(bytes).head
}
