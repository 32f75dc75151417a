import { sign as ed25519Sign, verify as ed25519Verify } from 'node:crypto'
import { canonicalBytes } from './canonical-json.js'
import { ED25519_SIGNATURE_LENGTH, FRAME_FORMAT, MAX_HEAD_BYTES } from './constants.js'
import { BadSignatureError, InvalidEnvelopeError, UntrustedKeyError, WrongMeshError } from './errors.js'
import type { SigningKey, TrustedKey } from './signing-keys.js'

/**
 * The framing shared by everything the publisher signs:
 * `MAGIC (4) | format (1) | head length (u32 BE) | head | Ed25519 signature (64) | trailer`.
 * The head is canonical JSON; the signature covers a domain prefix and the head.
 */
export interface Frame {
  head: unknown
  headBytes: Uint8Array
  signature: Uint8Array
  trailer: Uint8Array
}

export interface TrustPolicy {
  readonly mesh: string
  readonly keys: ReadonlyMap<string, TrustedKey>
}

export function trustPolicy (mesh: string, keys: Iterable<TrustedKey>): TrustPolicy {
  return { mesh, keys: new Map([...keys].map(key => [key.keyId, key])) }
}

const encoder = new TextEncoder()
const PREFIX_LENGTH = 4 + 1 + 4

export function encodeFrame (magic: string, domain: string, head: object, key: SigningKey, trailer: Uint8Array = new Uint8Array(0)): Buffer {
  const headBytes = canonicalBytes(head)
  const signature = ed25519Sign(null, Buffer.concat([encoder.encode(domain), headBytes]), key.privateKey)
  const prefix = Buffer.alloc(PREFIX_LENGTH)
  prefix.write(magic, 0, 'latin1')
  prefix.writeUInt8(FRAME_FORMAT, 4)
  prefix.writeUInt32BE(headBytes.byteLength, 5)
  return Buffer.concat([prefix, headBytes, signature, trailer])
}

/**
 * Splits a frame, checking every length before trusting it; the head must be
 * canonical JSON. `kind` names what was expected, for the error message.
 */
export function decodeFrame (magic: string, kind: string, bytes: Uint8Array, maxHeadBytes = MAX_HEAD_BYTES): Frame {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.byteLength < PREFIX_LENGTH + ED25519_SIGNATURE_LENGTH || buf.toString('latin1', 0, 4) !== magic) {
    throw new InvalidEnvelopeError(`not ${kind} (missing magic)`)
  }
  const format = buf.readUInt8(4)
  if (format !== FRAME_FORMAT) throw new InvalidEnvelopeError(`unsupported frame format ${format}`)
  const headLength = buf.readUInt32BE(5)
  const signatureEnd = PREFIX_LENGTH + headLength + ED25519_SIGNATURE_LENGTH
  if (headLength > maxHeadBytes || signatureEnd > buf.byteLength) {
    throw new InvalidEnvelopeError(`head length ${headLength} does not fit`)
  }
  const headBytes = buf.subarray(PREFIX_LENGTH, PREFIX_LENGTH + headLength)
  let head: unknown
  try {
    head = JSON.parse(headBytes.toString('utf8'))
  } catch {
    throw new InvalidEnvelopeError('head is not JSON')
  }
  // Only one encoding of a head is valid, so no bit of it escapes the signature.
  if (!Buffer.from(canonicalBytes(head)).equals(headBytes)) {
    throw new InvalidEnvelopeError('head is not canonical JSON')
  }
  return { head, headBytes, signature: buf.subarray(signatureEnd - ED25519_SIGNATURE_LENGTH, signatureEnd), trailer: buf.subarray(signatureEnd) }
}

/** Checks mesh, key and signature of a decoded frame whose head names them. */
export function verifyFrame (frame: Frame, head: { mesh: string, keyId: string }, domain: string, trust: TrustPolicy): void {
  if (head.mesh !== trust.mesh) {
    throw new WrongMeshError(`signed for mesh "${head.mesh}", this node is in "${trust.mesh}"`)
  }
  const key = trust.keys.get(head.keyId)
  if (key === undefined) {
    throw new UntrustedKeyError(`signed by key ${head.keyId}, which is not trusted`)
  }
  if (!ed25519Verify(null, Buffer.concat([encoder.encode(domain), frame.headBytes]), key.publicKey, frame.signature)) {
    throw new BadSignatureError(`signature by key ${head.keyId} does not verify`)
  }
}

/** The JSON value of some bytes from the mesh; `invalid` makes the error thrown when they are not JSON. */
export function parseMeshJson (bytes: Uint8Array, invalid: () => Error): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch {
    throw invalid()
  }
}

export function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isIsoTime (value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value))
}
