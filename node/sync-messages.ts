import { canonicalBytes } from './canonical-json.js'
import { isObject } from './signed-frame.js'

export class InvalidSyncMessageError extends Error {
  override readonly name: string = 'InvalidSyncMessageError'
}

/**
 * "Send me your config if it is newer than `have` (held, or being fetched);
 * a delta against `deltaBase`, the version I serve, is welcome."
 */
export interface SyncRequest {
  readonly have: number
  readonly deltaBase?: number
}

/**
 * What follows a reply: nothing; or the signed head, then the compressed body
 * (`full`) or a compressed delta against version `base` (`delta`, node/config-delta.ts).
 */
export type SyncReply =
  | { readonly form: 'none' }
  | { readonly form: 'full' }
  | { readonly form: 'delta', readonly base: number }

function decodeJson (bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new InvalidSyncMessageError(`${what} is not JSON`)
  }
  if (!isObject(value)) throw new InvalidSyncMessageError(`${what} is not an object`)
  return value
}

function isVersion (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

export function encodeSyncRequest (request: SyncRequest): Uint8Array {
  return canonicalBytes(request)
}

export function decodeSyncRequest (bytes: Uint8Array): SyncRequest {
  const { have, deltaBase } = decodeJson(bytes, 'sync request')
  if (!isVersion(have)) throw new InvalidSyncMessageError('sync request lacks a version')
  if (deltaBase === undefined) return { have }
  if (!isVersion(deltaBase)) throw new InvalidSyncMessageError('sync request has a delta base that is not a version')
  return { have, deltaBase }
}

export function encodeSyncReply (reply: SyncReply): Uint8Array {
  return canonicalBytes(reply)
}

export function decodeSyncReply (bytes: Uint8Array): SyncReply {
  const reply = decodeJson(bytes, 'sync reply')
  if (reply.form === 'none' || reply.form === 'full') return { form: reply.form }
  if (reply.form === 'delta' && isVersion(reply.base)) return { form: 'delta', base: reply.base }
  throw new InvalidSyncMessageError('sync reply has no known form')
}

/**
 * A transfer riding on a head beacon: the reply header, the signed head and
 * the payload, each after its length (u32 big-endian).
 */
export interface CarriedTransfer {
  readonly reply: Exclude<SyncReply, { form: 'none' }>
  readonly headBytes: Uint8Array
  readonly payload: Uint8Array
}

export function encodeCarriedTransfer (carried: CarriedTransfer): Uint8Array {
  const parts = [encodeSyncReply(carried.reply), carried.headBytes, carried.payload]
  return Buffer.concat(parts.flatMap(part => {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(part.byteLength)
    return [length, part]
  }))
}

export function decodeCarriedTransfer (bytes: Uint8Array): CarriedTransfer {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const parts: Buffer[] = []
  let offset = 0
  while (parts.length < 3) {
    if (offset + 4 > buf.byteLength) throw new InvalidSyncMessageError('carried transfer is cut short')
    const end = offset + 4 + buf.readUInt32BE(offset)
    if (end > buf.byteLength) throw new InvalidSyncMessageError('carried transfer is cut short')
    parts.push(buf.subarray(offset + 4, end))
    offset = end
  }
  const [replyBytes, headBytes, payload] = parts as [Buffer, Buffer, Buffer]
  if (offset !== buf.byteLength) throw new InvalidSyncMessageError('carried transfer has trailing bytes')
  const reply = decodeSyncReply(replyBytes)
  if (reply.form === 'none') throw new InvalidSyncMessageError('carried transfer carries nothing')
  return { reply, headBytes, payload }
}
