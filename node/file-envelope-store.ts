import { closeSync, fsyncSync, openSync } from 'node:fs'
import { open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import writeFileAtomic from 'write-file-atomic'
import type { EnvelopeStore } from './envelope-store.js'

/**
 * Envelopes up to this size are written synchronously: on a busy machine the
 * dozen thread-pool round trips of an asynchronous write (each waiting for the
 * event loop) took ten times the write itself (BENCHMARKS.md, issue 14).
 */
const WRITTEN_AT_ONCE_BYTES = 256 * 1024

/**
 * The envelope on disk: write a temporary file, fsync it, rename it over the
 * old one, then fsync the directory, so a crash leaves the old envelope or the
 * new one, never a mixture. The envelope holds its own version, so config and
 * highest version are one atomic write.
 */
export function fileEnvelopeStore (path: string): EnvelopeStore {
  return {
    async load () {
      try {
        return new Uint8Array(await readFile(path))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
    },
    async save (bytes) {
      const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      if (data.byteLength <= WRITTEN_AT_ONCE_BYTES) {
        // After what this turn started (forwarding the beacon) has gone out.
        await nextTurn()
        writeFileAtomic.sync(path, data, { fsync: true, mode: 0o600 })
        syncDirectory(dirname(path))
        return
      }
      await writeFileAtomic(path, data, { fsync: true, mode: 0o600 })
      const directory = await open(dirname(path), 'r')
      try {
        await directory.sync()
      } finally {
        await directory.close()
      }
    }
  }
}

function syncDirectory (directory: string): void {
  const fd = openSync(directory, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
