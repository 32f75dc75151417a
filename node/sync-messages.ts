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
 * (`full`) or a compressed JSON Patch against version `base` (`delta`).
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
