import { canonicalBytes } from './canonical-json.js'
import { isObject } from './signed-frame.js'

export class InvalidSyncRequestError extends Error {
  override readonly name: string = 'InvalidSyncRequestError'
}

/** A sync request: "send me your envelope if it is newer than this version". */
export function encodeSyncRequest (have: number): Uint8Array {
  return canonicalBytes({ have })
}

export function decodeSyncRequest (bytes: Uint8Array): number {
  let request: unknown
  try {
    request = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new InvalidSyncRequestError('sync request is not JSON')
  }
  const have = isObject(request) ? request.have : undefined
  if (typeof have !== 'number' || !Number.isSafeInteger(have) || have < 0) {
    throw new InvalidSyncRequestError('sync request lacks a version')
  }
  return have
}
