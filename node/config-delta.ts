/** A delta that does not apply, or is not a delta at all. */
export class InvalidDeltaError extends Error {
  override readonly name: string = 'InvalidDeltaError'
}

/** A range of the base's bytes to copy, [start, end), or text to insert. */
type Piece = [number, number] | string

const CLOSE_BRACE = 0x7d
const COMMA = 0x2c
const decoder = new TextDecoder()
const encoder = new TextEncoder()

/**
 * Where canonical JSON is cut into pieces: after every `},` (the end of an
 * object with more to follow: a router, a service). Always between two ASCII
 * bytes, so every piece is whole UTF-8.
 */
function cuts (bytes: Uint8Array): number[] {
  const at = [0]
  for (let i = bytes.indexOf(CLOSE_BRACE); i !== -1 && i + 1 < bytes.byteLength; i = bytes.indexOf(CLOSE_BRACE, i + 1)) {
    if (bytes[i + 1] === COMMA) at.push(i + 2)
  }
  if (at.at(-1) !== bytes.byteLength) at.push(bytes.byteLength)
  return at
}

/**
 * How to build one config's bytes from another's: a JSON list of pieces, each
 * a range of the base to copy or text to insert. Both are canonical JSON, so
 * an edit leaves most of the text as it was: every piece of the target found
 * whole in the base is copied from there (preferably from just after the
 * previous copy). Applying it copies bytes, with no parsing and no canonical
 * re-serialisation of a config of 30,000 routers. Never signed: the result is
 * checked against the signed hash.
 */
export function configDelta (from: Uint8Array, to: Uint8Array): Uint8Array {
  const fromText = latin1(from)
  const fromCuts = cuts(from)
  const startOf = new Map<string, number>()
  for (let i = 0; i + 1 < fromCuts.length; i++) {
    const piece = fromText.slice(fromCuts[i], fromCuts[i + 1])
    if (!startOf.has(piece)) startOf.set(piece, fromCuts[i] as number)
  }
  const pieces: Piece[] = []
  const toText = latin1(to)
  const toCuts = cuts(to)
  for (let i = 0; i + 1 < toCuts.length; i++) {
    const [start, end] = [toCuts[i] as number, toCuts[i + 1] as number]
    const piece = toText.slice(start, end)
    const last = pieces.at(-1)
    const copyFrom = typeof last === 'object' && fromText.startsWith(piece, last[1]) ? last[1] : startOf.get(piece)
    if (copyFrom === undefined) {
      const text = decoder.decode(to.subarray(start, end))
      if (typeof last === 'string') pieces[pieces.length - 1] = last + text
      else pieces.push(text)
    } else if (typeof last === 'object' && last[1] === copyFrom) {
      last[1] = copyFrom + piece.length
    } else {
      pieces.push([copyFrom, copyFrom + piece.length])
    }
  }
  return encoder.encode(JSON.stringify(pieces))
}

/** Each byte as one character: positions in the text are positions in the bytes. */
function latin1 (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
}

/** Applies a delta to the bytes it was made against; refuses one that reaches outside them or builds more than `maxBytes`. */
export function applyConfigDelta (base: Uint8Array, delta: Uint8Array, maxBytes: number): Uint8Array {
  let pieces: unknown
  try {
    pieces = JSON.parse(decoder.decode(delta))
  } catch {
    throw new InvalidDeltaError('the delta is not JSON')
  }
  if (!Array.isArray(pieces)) throw new InvalidDeltaError('the delta is not a list of pieces')
  const parts: Uint8Array[] = []
  let size = 0
  for (const piece of pieces as unknown[]) {
    const part = typeof piece === 'string' ? encoder.encode(piece) : copied(base, piece)
    size += part.byteLength
    if (size > maxBytes) throw new InvalidDeltaError(`the delta builds more than ${maxBytes} bytes`)
    parts.push(part)
  }
  return Buffer.concat(parts, size)
}

function copied (base: Uint8Array, piece: unknown): Uint8Array {
  if (!Array.isArray(piece) || piece.length !== 2) throw new InvalidDeltaError('a piece of the delta is neither text nor a range')
  const [start, end] = piece as unknown[]
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || (start as number) < 0 || (start as number) >= (end as number) || (end as number) > base.byteLength) {
    throw new InvalidDeltaError(`the delta copies ${JSON.stringify(piece)}, outside the ${base.byteLength} bytes it was made against`)
  }
  return base.subarray(start as number, end as number)
}
