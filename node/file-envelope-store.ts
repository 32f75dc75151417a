import { createHash } from 'node:crypto'
import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, rmSync, writevSync } from 'node:fs'
import { open, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { byteLengthOf, type EnvelopeStore } from './envelope-store.js'

/**
 * Envelopes up to this size go through the write-ahead copy, written
 * synchronously: on a busy machine the dozen thread-pool round trips of an
 * asynchronous write (each waiting for the event loop) took ten times the
 * write itself (BENCHMARKS.md, issue 14). Larger ones are written once,
 * asynchronously, straight to PATH.
 */
const WRITTEN_AT_ONCE_BYTES = 256 * 1024

/** The write-ahead copy: magic, payload length, the payload's SHA-256, the payload. */
const AHEAD_MAGIC = Buffer.from('DIMW')
const AHEAD_HEADER_BYTES = AHEAD_MAGIC.byteLength + 4 + 32

/** The file beside PATH that a version is written to before it is served. */
export function writeAheadPath (path: string): string {
  return `${path}.next`
}

/**
 * The envelope on disk, in two files, so that a crash leaves the old envelope
 * or the new one and never a mixture, and a version costs one flush before it
 * is served. It is first written over the write-ahead copy (PATH.next) in
 * place and fdatasync'd: no new file, no rename, no directory entry to flush,
 * a fraction of what renaming a temporary file over PATH costs. Then, off the hop's
 * path, PATH itself is replaced the atomic way (temporary file, fsync,
 * rename, directory fsync), for `dime inspect` and backups. The parts of an
 * envelope (a head and a body fetched apart) are written one after another,
 * never joined in memory.
 *
 * The copy carries its length and hash, so one cut short by a crash is told
 * apart, and PATH read instead. A whole copy is always the newest saved: PATH
 * only ever receives what the copy already holds, and the copy is overwritten
 * only once PATH holds the version before (also when an earlier run stopped
 * between the two). Envelopes over WRITTEN_AT_ONCE_BYTES skip the copy.
 */
export function fileEnvelopeStore (path: string): EnvelopeStore {
  const aheadPath = writeAheadPath(path)
  /** What the copy holds and PATH may not yet. */
  let unsettled: readonly Buffer[] | undefined
  let settling: Promise<void> = Promise.resolve()
  let readBack = false
  const settle = async (parts: readonly Buffer[]): Promise<void> => {
    await replaceAtomically(path, parts)
    if (unsettled === parts) unsettled = undefined
  }
  const flush = async (): Promise<void> => {
    await settling
    if (unsettled !== undefined) await settle(unsettled)
  }
  /** The newest stored; a copy that an earlier run left ahead of PATH is to be settled before it is overwritten. */
  const readStored = async (): Promise<Buffer | undefined> => {
    const ahead = await readIfThere(aheadPath)
    const payload = ahead === undefined ? undefined : aheadPayload(ahead)
    if (payload !== undefined && readBack) return payload
    const settled = await readIfThere(path)
    if (!readBack) {
      readBack = true
      if (payload !== undefined && settled?.equals(payload) !== true) unsettled = [payload]
    }
    return payload ?? settled
  }
  return {
    async load () {
      const stored = await readStored()
      return stored === undefined ? undefined : new Uint8Array(stored)
    },
    async save (bytes) {
      const parts = bytes.map(part => Buffer.from(part.buffer, part.byteOffset, part.byteLength))
      if (!readBack) await readStored()
      // PATH must hold the version before (a failed write is tried again here) before the copy is overwritten.
      await flush()
      if (byteLengthOf(parts) > WRITTEN_AT_ONCE_BYTES) {
        // Writing it costs more than the flushes around it: written once, to PATH, the copy (older) removed first.
        rmSync(aheadPath, { force: true })
        await settle(parts)
        return
      }
      writeInPlaceSync(aheadPath, [aheadHeader(parts), ...parts])
      unsettled = parts
      // A failure is retried by the next save (above); until then the copy holds this version.
      settling = settle(parts).catch(() => {})
    },
    flush
  }
}

function aheadHeader (payload: readonly Buffer[]): Buffer {
  const header = Buffer.alloc(AHEAD_HEADER_BYTES)
  AHEAD_MAGIC.copy(header)
  header.writeUInt32BE(byteLengthOf(payload), AHEAD_MAGIC.byteLength)
  const hash = createHash('sha256')
  for (const part of payload) hash.update(part)
  hash.digest().copy(header, AHEAD_MAGIC.byteLength + 4)
  return header
}

/** The copy's payload, or undefined when it was cut short or is not a copy at all. */
function aheadPayload (copy: Buffer): Buffer | undefined {
  if (copy.byteLength < AHEAD_HEADER_BYTES || !copy.subarray(0, AHEAD_MAGIC.byteLength).equals(AHEAD_MAGIC)) return undefined
  const payload = copy.subarray(AHEAD_HEADER_BYTES)
  if (payload.byteLength !== copy.readUInt32BE(AHEAD_MAGIC.byteLength)) return undefined
  const hash = copy.subarray(AHEAD_MAGIC.byteLength + 4, AHEAD_HEADER_BYTES)
  return createHash('sha256').update(payload).digest().equals(hash) ? payload : undefined
}

async function readIfThere (file: string): Promise<Buffer | undefined> {
  try {
    return await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/**
 * Replaces `file` so that a crash leaves the old content or the new: a
 * temporary file beside it, written and fsync'd, renamed over it, and the
 * directory fsync'd. Saves never overlap, so the temporary file's name is
 * fixed: one a crash left behind is written over by the next save.
 */
async function replaceAtomically (file: string, parts: readonly Buffer[]): Promise<void> {
  const temporary = `${file}.tmp`
  try {
    const handle = await open(temporary, 'w', 0o600)
    try {
      const { bytesWritten } = await handle.writev(parts)
      if (bytesWritten !== byteLengthOf(parts)) throw new Error(`${temporary}: short write`)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temporary, file)
  } catch (err) {
    await rm(temporary, { force: true })
    throw err
  }
  const directory = await open(dirname(file), 'r')
  try {
    await directory.sync()
  } finally {
    await directory.close()
  }
}

function writeInPlaceSync (file: string, parts: Buffer[]): void {
  const length = byteLengthOf(parts)
  let created = false
  let fd: number
  try {
    fd = openSync(file, 'r+')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    fd = openSync(file, 'w', 0o600)
    created = true
  }
  try {
    if (writevSync(fd, parts, 0) !== length) throw new Error(`${file}: short write`)
    ftruncateSync(fd, length)
    fdatasyncSync(fd)
  } finally {
    closeSync(fd)
  }
  if (created) syncDirectorySync(dirname(file))
}

function syncDirectorySync (directory: string): void {
  const fd = openSync(directory, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}
