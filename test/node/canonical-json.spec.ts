import test from 'ava'
import fc from 'fast-check'
import { canonicalBytes } from '../../node/canonical-json.js'
import { jsonValue } from '../fixtures/arbitraries.js'

function shuffleKeys (value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map(item => shuffleKeys(item, seed))
  if (typeof value !== 'object' || value === null) return value
  const entries = Object.entries(value)
  const rotated = entries.map((_, i) => entries[(i + seed) % entries.length]!)
  return Object.fromEntries(rotated.reverse().map(([k, v]) => [k, shuffleKeys(v, seed + 1)]))
}

test('canonical bytes do not depend on key order', t => {
  fc.assert(fc.property(jsonValue, fc.nat(20), (value, seed) =>
    Buffer.from(canonicalBytes(value)).equals(canonicalBytes(shuffleKeys(value, seed)))))
  t.pass()
})

test('canonical bytes survive a parse and re-encode unchanged', t => {
  fc.assert(fc.property(jsonValue, value => {
    const bytes = canonicalBytes(value)
    return Buffer.from(canonicalBytes(JSON.parse(Buffer.from(bytes).toString('utf8')))).equals(bytes)
  }))
  t.pass()
})

test('canonical bytes follow RFC 8785 for a known case', t => {
  t.is(Buffer.from(canonicalBytes({ b: [1, 2.5e-7, 'x'], a: { d: true, c: null } })).toString(), '{"a":{"c":null,"d":true},"b":[1,2.5e-7,"x"]}')
})
