import { createRequire } from 'node:module'

/**
 * @libp2p/pnet encrypts with the `xsalsa20` package, whose WebAssembly memory
 * is shared by the whole process, grows to the size of each chunk it is given,
 * and cannot grow past about 32–64 MiB. When a connection falls behind, libp2p
 * hands pnet everything buffered in one chunk; with large configs that chunk
 * can exceed the limit, and the RangeError, thrown in an event handler, crashes
 * the process (seen in `npm run bench` with 10,000-router configs).
 *
 * XSalsa20 is a stream cipher and this implementation carries partial blocks
 * across calls, so feeding it the same bytes in 1 MiB slices gives the same
 * output with bounded memory. Loaded once, before any connection is made.
 */
const SLICE_BYTES = 1024 * 1024

interface XSalsa20 { update: (input: Uint8Array, output?: Uint8Array) => Uint8Array }

const require = createRequire(import.meta.url)
// The copy @libp2p/pnet resolves, so the patch lands on the module it uses.
const XSalsa20 = require(require.resolve('xsalsa20', { paths: [require.resolve('@libp2p/pnet')] })) as { prototype: XSalsa20 }
const update = XSalsa20.prototype.update

XSalsa20.prototype.update = function (this: XSalsa20, input: Uint8Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
  if (input.length <= SLICE_BYTES) return update.call(this, input, output)
  for (let offset = 0; offset < input.length; offset += SLICE_BYTES) {
    const end = Math.min(input.length, offset + SLICE_BYTES)
    update.call(this, input.subarray(offset, end), output.subarray(offset, end))
  }
  return output
}

export const pnetCipherSliceBytes = SLICE_BYTES
