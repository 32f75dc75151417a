import canonicalize from 'canonicalize'

const encoder = new TextEncoder()

/** RFC 8785 canonical bytes: the same value always gives the same bytes. */
export function canonicalBytes (value: unknown): Uint8Array {
  const text = canonicalize(value)
  if (text === undefined) {
    throw new TypeError('value has no JSON representation')
  }
  return encoder.encode(text)
}
