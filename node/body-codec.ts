import { promisify } from 'node:util'
import { brotliCompress, brotliDecompress, brotliDecompressSync, constants } from 'node:zlib'
import { InvalidEnvelopeError } from './errors.js'

const compress = promisify(brotliCompress)
const decompress = promisify(brotliDecompress)

/**
 * Brotli at quality 6: well ahead of gzip on repetitive configs, and higher
 * qualities gain little for many times the time (BENCHMARKS.md).
 */
const QUALITY = 6
const MIN_CHUNK_BYTES = 64
const MAX_CHUNK_BYTES = 8 * 1024 * 1024
/** How much larger than its compressed form an output of unknown size is taken to be (a delta's text compresses less than a config). */
const GUESSED_RATIO = 16
/**
 * Small bodies (a beacon's carried body, a small delta) are inflated at once:
 * a trip through libuv's thread pool costs more than the work, and waits
 * behind any fsync there. The output bound keeps the longest such call to a
 * few milliseconds.
 */
const INFLATE_AT_ONCE_MAX_IN = 16 * 1024
const INFLATE_AT_ONCE_MAX_OUT = 4 * 1024 * 1024

/** Compresses a body for the sync protocol. */
export async function compressBody (body: Uint8Array): Promise<Uint8Array> {
  return await compress(body, {
    params: { [constants.BROTLI_PARAM_QUALITY]: QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength }
  })
}

/**
 * Inflates at most `maxBytes`: zlib stops as soon as the output would pass the
 * limit, so a small hostile payload cannot make a node allocate gigabytes.
 * `expectedBytes` (a full body's signed size) sizes the output buffer; without
 * it, it is guessed from the compressed size.
 */
export async function decompressBody (compressed: Uint8Array, maxBytes: number, expectedBytes?: number): Promise<Uint8Array> {
  try {
    const options = { maxOutputLength: Math.max(1, maxBytes), chunkSize: outputChunkBytes(compressed.byteLength, maxBytes, expectedBytes) }
    if (compressed.byteLength <= INFLATE_AT_ONCE_MAX_IN && maxBytes <= INFLATE_AT_ONCE_MAX_OUT) return brotliDecompressSync(compressed, options)
    return await decompress(compressed, options)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new InvalidEnvelopeError(`compressed body inflates past ${maxBytes} bytes`)
    }
    throw new InvalidEnvelopeError(`compressed body does not inflate: ${(err as Error).message}`)
  }
}

/**
 * One output chunk that holds the whole output, and a byte more: zlib's
 * default 16 KiB chunks would cost a trip through the event loop per chunk (a
 * hundred for a 1.6 MB body), and a chunk filled exactly makes zlib allocate
 * another whole one before it sees the end. Each chunk is a buffer the garbage
 * collector counts: needless ones bring its full collections sooner.
 */
function outputChunkBytes (compressedBytes: number, maxBytes: number, expectedBytes: number | undefined): number {
  const guess = expectedBytes ?? compressedBytes * GUESSED_RATIO
  return Math.min(Math.max(Math.min(guess, maxBytes) + 1, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES)
}
