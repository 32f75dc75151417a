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
  /**
   * The signed head: the envelope without its body. It is what a node
   * checks before fetching a body (a few hundred bytes against megabytes).
   */
  readonly headBytes: Uint8Array
  /** The canonical JSON of the config, exactly as served. */
  readonly body: Uint8Array
  /** The whole envelope, head then body, as it rests on disk. */
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
  return contiguousEnvelope(head, encodeFrame(ENVELOPE_MAGIC, SIGNATURE_DOMAIN, head, key, input.body))
}

function contiguousEnvelope (head: EnvelopeHead, bytes: Uint8Array): Envelope {
  const bodyStart = bytes.byteLength - head.bodySize
  return { head, headBytes: bytes.subarray(0, bodyStart), body: bytes.subarray(bodyStart), bytes }
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
  assertBodyMatches(head, frame.trailer)
  return contiguousEnvelope(head, bytes)
}

/**
 * Verifies an envelope whose signed head and body came apart (the body
 * fetched after its head was checked). The two are not joined: a large body
 * copied once more is a copy the garbage collector pays for too; `bytes` joins
 * them only when asked.
 */
export function openFetchedEnvelope (headBytes: Uint8Array, body: Uint8Array, trust: TrustPolicy): Envelope {
  const head = openHead(headBytes, trust)
  if (body.byteLength !== head.bodySize) throw new InvalidEnvelopeError(`body is ${body.byteLength} bytes, head says ${head.bodySize}`)
  assertBodyMatches(head, body)
  let bytes: Uint8Array | undefined
  return { head, headBytes, body, get bytes () { return (bytes ??= Buffer.concat([headBytes, body])) } }
}

function assertBodyMatches (head: EnvelopeHead, body: Uint8Array): void {
  if (sha256Hex(body) !== head.bodySha256) throw new BadSignatureError('body does not match the signed hash')
}

/** Verifies a signed head sent without its body (an envelope's `headBytes`): framing, mesh, key and signature. */
export function openHead (bytes: Uint8Array, trust: TrustPolicy): EnvelopeHead {
  const frame = decodeFrame(ENVELOPE_MAGIC, 'a signed head', bytes)
  if (!isHead(frame.head) || frame.trailer.byteLength !== 0) throw new InvalidEnvelopeError('not a signed head')
  verifyFrame(frame, frame.head, SIGNATURE_DOMAIN, trust)
  return frame.head
}

/** Reads a head without verifying anything: for inspection only, never for serving. */
export function peekHead (bytes: Uint8Array): EnvelopeHead {
  return decodeEnvelope(bytes).head
}
