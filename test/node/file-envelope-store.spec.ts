import test from 'ava'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileEnvelopeStore, writeAheadPath } from '../../node/file-envelope-store.js'
import { tempDir } from '../fixtures/temp-dir.js'

const v1 = new TextEncoder().encode('DIME…version 1')
const v2 = new TextEncoder().encode('DIME…version 2, a little longer')

test('a saved version is in the write-ahead copy when save resolves, and in PATH once flushed; both private', async t => {
  const path = join(await tempDir(t), 'envelope.bin')
  const store = fileEnvelopeStore(path)
  t.is(await store.load(), undefined)
  await store.save(v2)
  await store.save(v1)
  t.deepEqual(await store.load(), v1, 'a shorter version replaces a longer one whole')
  await store.flush?.()
  t.deepEqual(new Uint8Array(await readFile(path)), v1)
  t.deepEqual(await fileEnvelopeStore(path).load(), v1)
  for (const copy of [path, writeAheadPath(path)]) t.is((await stat(copy)).mode & 0o777, 0o600, copy)
})

test('a write-ahead copy cut short or damaged (a crash while writing it) is passed over for PATH', async t => {
  const elsewhere = join(await tempDir(t), 'envelope.bin')
  const other = fileEnvelopeStore(elsewhere)
  await other.save(v2)
  await other.flush?.()
  const wholeCopy = await readFile(writeAheadPath(elsewhere))

  const path = join(await tempDir(t), 'envelope.bin')
  const store = fileEnvelopeStore(path)
  await store.save(v1)
  await store.flush?.()
  await writeFile(writeAheadPath(path), wholeCopy)
  t.deepEqual(await store.load(), v2, 'a whole copy is the newest saved')
  await writeFile(writeAheadPath(path), wholeCopy.subarray(0, wholeCopy.byteLength - 4))
  t.deepEqual(await store.load(), v1, 'cut short')
  const damaged = Buffer.from(wholeCopy)
  damaged[damaged.byteLength - 1]! ^= 1
  await writeFile(writeAheadPath(path), damaged)
  t.deepEqual(await store.load(), v1, 'damaged')
  await writeFile(writeAheadPath(path), '')
  t.deepEqual(await store.load(), v1, 'empty')
})

test('while PATH cannot take a version, the write-ahead copy holding it is not overwritten', async t => {
  const path = join(await tempDir(t), 'envelope.bin')
  await mkdir(path)
  const store = fileEnvelopeStore(path)
  await store.save(v1)
  await t.throwsAsync(store.save(v2), { code: 'EISDIR' })
  t.deepEqual(await store.load(), v1)
})
