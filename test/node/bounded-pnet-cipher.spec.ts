import test from 'ava'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { pnetCipherSliceBytes } from '../../node/mesh/bounded-pnet-cipher.js'

const require = createRequire(import.meta.url)
const XSalsa20 = require(require.resolve('xsalsa20', { paths: [require.resolve('@libp2p/pnet')] })) as new (nonce: Uint8Array, key: Uint8Array) => { update: (input: Uint8Array) => Uint8Array }
const nonce = randomBytes(24)
const key = randomBytes(32)

test('a chunk larger than a slice encrypts exactly as the same bytes fed in small pieces', t => {
  const input = randomBytes(3 * pnetCipherSliceBytes + 17)
  const whole = new XSalsa20(nonce, key).update(input)
  const pieces = new XSalsa20(nonce, key)
  const expected = Buffer.concat(Array.from({ length: Math.ceil(input.length / 1000) }, (_, i) => pieces.update(input.subarray(i * 1000, (i + 1) * 1000))))
  t.true(Buffer.from(whole).equals(expected))
})

test('a 64 MiB chunk, past the cipher\'s WebAssembly memory limit, no longer throws', t => {
  t.notThrows(() => new XSalsa20(nonce, key).update(new Uint8Array(64 * 1024 * 1024)))
})

test('many ciphers after one large read: the shared memory stays bounded instead of ratcheting to its limit', t => {
  const ciphers = Array.from({ length: 50 }, () => new XSalsa20(nonce, key) as unknown as { update: (input: Uint8Array) => Uint8Array, _xor: { _memory: Uint8Array } })
  ciphers[0]?.update(new Uint8Array(pnetCipherSliceBytes))
  t.notThrows(() => {
    for (let round = 0; round < 30; round++) for (const cipher of ciphers) cipher.update(new Uint8Array(64 * 1024))
  })
  const memory = Math.max(...ciphers.map(cipher => cipher._xor._memory.buffer.byteLength))
  t.true(memory < 4 * 1024 * 1024, `${memory} bytes`)
})
