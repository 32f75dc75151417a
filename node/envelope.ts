import { createHash, sign as ed25519Sign, verify as ed25519Verify } from 'node:crypto'
import { canonicalBytes } from './canonical-json.js'
import {
  ED25519_SIGNATURE_LENGTH, ENVELOPE_FORMAT, ENVELOPE_MAGIC, MAX_BODY_BYTES, MAX_HEAD_BYTES, SIGNATURE_DOMAIN
} from './constants.js'
import { BadSignatureError, InvalidEnvelopeError, UntrustedKeyError, WrongMeshError } from './errors.js'
import type { SigningKey, TrustedKey } from './signing-keys.js'

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

const MAGIC = new TextEncoder().encode(ENVELOPE_MAGIC)
const DOMAIN = new TextEncoder().encode(SIGNATURE_DOMAIN)
// magic, format byte, head length (u32)
const PREFIX_LENGTH = MAGIC.length + 1 + 4

export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function signedMessage (headBytes: Uint8Array): Uint8Array {
  return Buffer.concat([DOMAIN, headBytes])
}

export interface SealInput {
  mesh: string
  version: number
  issuedAt: Date
  body: Uint8Array
}

/** Signs a canonical body into an envelope. */
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
  const headBytes = canonicalBytes(head)
  const signature = ed25519Sign(null, signedMessage(headBytes), key.privateKey)
  const prefix = Buffer.alloc(PREFIX_LENGTH)
  prefix.set(MAGIC, 0)
  prefix.writeUInt8(ENVELOPE_FORMAT, MAGIC.length)
  prefix.writeUInt32BE(headBytes.byteLength, MAGIC.length + 1)
  const bytes = Buffer.concat([prefix, headBytes, signature, input.body])
  return { head, body: bytes.subarray(bytes.byteLength - input.body.byteLength), bytes }
}

interface Framed {
  head: EnvelopeHead
  headBytes: Uint8Array
  signature: Uint8Array
  body: Uint8Array
}

/** Splits an envelope into its parts, checking every length before trusting it. */
function unframe (bytes: Uint8Array): Framed {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.byteLength < PREFIX_LENGTH + ED25519_SIGNATURE_LENGTH || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new InvalidEnvelopeError('not an envelope (missing magic)')
  }
  const format = buf.readUInt8(MAGIC.length)
  if (format !== ENVELOPE_FORMAT) {
    throw new InvalidEnvelopeError(`unsupported envelope format ${format}`)
  }
  const headLength = buf.readUInt32BE(MAGIC.length + 1)
  if (headLength > MAX_HEAD_BYTES || PREFIX_LENGTH + headLength + ED25519_SIGNATURE_LENGTH > buf.byteLength) {
    throw new InvalidEnvelopeError(`head length ${headLength} does not fit`)
  }
  const headBytes = buf.subarray(PREFIX_LENGTH, PREFIX_LENGTH + headLength)
  const signatureEnd = PREFIX_LENGTH + headLength + ED25519_SIGNATURE_LENGTH
  const head = parseHead(headBytes)
  const body = buf.subarray(signatureEnd)
  if (body.byteLength !== head.bodySize) {
    throw new InvalidEnvelopeError(`body is ${body.byteLength} bytes, head says ${head.bodySize}`)
  }
  return { head, headBytes, signature: buf.subarray(signatureEnd - ED25519_SIGNATURE_LENGTH, signatureEnd), body }
}

function parseHead (headBytes: Uint8Array): EnvelopeHead {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(headBytes).toString('utf8'))
  } catch {
    throw new InvalidEnvelopeError('head is not JSON')
  }
  if (!isHead(value)) {
    throw new InvalidEnvelopeError('head lacks a field or has a field of the wrong type')
  }
  // Only one encoding of a head is valid, so no bit of it is left unchecked by the signature.
  if (!Buffer.from(canonicalBytes(value)).equals(headBytes)) {
    throw new InvalidEnvelopeError('head is not canonical JSON')
  }
  return value
}

function isHead (value: unknown): value is EnvelopeHead {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const v = value as Record<string, unknown>
  return Object.keys(v).length === 6 &&
    typeof v.mesh === 'string' &&
    Number.isSafeInteger(v.version) && (v.version as number) >= 1 &&
    typeof v.issuedAt === 'string' && !Number.isNaN(Date.parse(v.issuedAt)) &&
    typeof v.keyId === 'string' &&
    typeof v.bodySha256 === 'string' && /^[0-9a-f]{64}$/.test(v.bodySha256) &&
    Number.isSafeInteger(v.bodySize) && (v.bodySize as number) >= 0 && (v.bodySize as number) <= MAX_BODY_BYTES
}

export interface TrustPolicy {
  readonly mesh: string
  readonly keys: ReadonlyMap<string, TrustedKey>
}

/**
 * Verifies an envelope against the trusted keys of one mesh: framing,
 * mesh, key, signature and body hash. Says nothing about version order.
 */
export function openEnvelope (bytes: Uint8Array, trust: TrustPolicy): Envelope {
  const { head, headBytes, signature, body } = unframe(bytes)
  if (head.mesh !== trust.mesh) {
    throw new WrongMeshError(`envelope is for mesh "${head.mesh}", this node is in "${trust.mesh}"`)
  }
  const key = trust.keys.get(head.keyId)
  if (key === undefined) {
    throw new UntrustedKeyError(`envelope signed by key ${head.keyId}, which is not trusted`)
  }
  if (!ed25519Verify(null, signedMessage(headBytes), key.publicKey, signature)) {
    throw new BadSignatureError(`signature by key ${head.keyId} does not verify`)
  }
  if (sha256Hex(body) !== head.bodySha256) {
    throw new BadSignatureError('body does not match the signed hash')
  }
  return { head, body, bytes }
}

/** Reads a head without verifying anything: for inspection only, never for serving. */
export function peekHead (bytes: Uint8Array): EnvelopeHead {
  return unframe(bytes).head
}

export function trustPolicy (mesh: string, keys: Iterable<TrustedKey>): TrustPolicy {
  return { mesh, keys: new Map([...keys].map(key => [key.keyId, key])) }
}
