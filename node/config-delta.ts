import jsonPatch, { type Operation } from 'fast-json-patch'
import { canonicalBytes } from './canonical-json.js'

/** A delta that does not apply, or is not a JSON Patch at all. */
export class InvalidDeltaError extends Error {
  override readonly name: string = 'InvalidDeltaError'
}

const decoder = new TextDecoder()
const encoder = new TextEncoder()

function parse (bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    throw new InvalidDeltaError(`${what} is not JSON`)
  }
}

/**
 * The RFC 6902 JSON Patch that turns one config into the next. Plain JSON: a
 * delta is never signed (its result is), so it need not be canonical.
 */
export function configDelta (from: Uint8Array, to: Uint8Array): Uint8Array {
  return encoder.encode(JSON.stringify(jsonPatch.compare(parse(from, 'the base') as object, parse(to, 'the target') as object)))
}

/**
 * Applies a delta to the config it was made against and returns the result's
 * canonical bytes. The caller checks them against the signed hash: a delta is
 * trusted for nothing.
 */
export function applyConfigDelta (base: Uint8Array, delta: Uint8Array): Uint8Array {
  const operations = parse(delta, 'the delta')
  if (!Array.isArray(operations)) throw new InvalidDeltaError('the delta is not a list of operations')
  try {
    // Validates every operation, and refuses to touch __proto__ or constructor.
    return canonicalBytes(jsonPatch.applyPatch(parse(base, 'the base'), operations as Operation[], true, true, true).newDocument)
  } catch (err) {
    throw new InvalidDeltaError(`the delta does not apply: ${(err as Error).message}`)
  }
}
