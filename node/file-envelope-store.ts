import { open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import writeFileAtomic from 'write-file-atomic'
import type { EnvelopeStore } from './envelope-store.js'

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
      await writeFileAtomic(path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { fsync: true, mode: 0o600 })
      const directory = await open(dirname(path), 'r')
      try {
        await directory.sync()
      } finally {
        await directory.close()
      }
    }
  }
}
