import xsalsa20 from 'xsalsa20'

/**
 * @libp2p/pnet encrypts with the `xsalsa20` package, whose ciphers share one
 * WebAssembly memory per process and each keep a view of it. Two faults there
 * crash a busy node (a RangeError thrown in an event handler):
 * - when one cipher grows the memory, every other cipher's view is detached
 *   (length 0), so its next update grows the memory again by its whole size;
 *   with a few dozen connections the memory ratchets up to its limit
 *   (about 64 MiB) within seconds of one large read;
 * - a chunk larger than the limit cannot be processed at all, and a connection
 *   that fell behind hands pnet everything buffered in one chunk.
 * The wrapper below refreshes a stale view before each update (growth only
 * ever happens inside `update`, so the last updated cipher holds the live
 * buffer), and feeds large chunks in 1 MiB slices. XSalsa20 is a stream cipher
 * and the package carries partial blocks across calls, so the output is the
 * same bytes. Loaded once, before any connection is made.
 */
const SLICE_BYTES = 1024 * 1024

interface Xor { _memory?: Uint8Array }
interface XSalsa20 { _xor: Xor, update: (input: Uint8Array, output?: Uint8Array) => Uint8Array }

// The one copy @libp2p/pnet imports too (the lock holds one), so the patch lands on the
// module it uses, in the bundle as from node_modules.
const XSalsa20 = xsalsa20 as { prototype: XSalsa20 }
const update = XSalsa20.prototype.update
let live: ArrayBufferLike | undefined

function updateSlice (cipher: XSalsa20, input: Uint8Array, output: Uint8Array): void {
  const view = cipher._xor._memory
  if (view !== undefined && live !== undefined && view.buffer !== live) cipher._xor._memory = new Uint8Array(live)
  update.call(cipher, input, output)
  live = cipher._xor._memory?.buffer ?? live
}

XSalsa20.prototype.update = function (this: XSalsa20, input: Uint8Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
  for (let offset = 0; offset < input.length; offset += SLICE_BYTES) {
    const end = Math.min(input.length, offset + SLICE_BYTES)
    updateSlice(this, input.subarray(offset, end), output.subarray(offset, end))
  }
  return output
}

export const pnetCipherSliceBytes = SLICE_BYTES
