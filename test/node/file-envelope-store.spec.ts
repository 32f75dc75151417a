import test, { type ExecutionContext } from 'ava'
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { EnvelopeStore } from '../../node/envelope-store.js'
import { fileEnvelopeStore, writeAheadPath } from '../../node/file-envelope-store.js'
import { tempDir } from '../fixtures/temp-dir.js'

const v1 = new TextEncoder().encode('DIME…version 1')
const v2 = new TextEncoder().encode('DIME…version 2, a little longer')
const v3 = new TextEncoder().encode('DIME…version 3')

/** A store in a fresh directory, with `bytes` saved and flushed: in PATH and in the write-ahead copy. */
async function storeHolding (t: ExecutionContext, bytes: Uint8Array): Promise<{ path: string, store: EnvelopeStore }> {
  const path = join(await tempDir(t), 'envelope.bin')
  const store = fileEnvelopeStore(path)
  await store.save([bytes])
  await store.flush?.()
  return { path, store }
}

test('a saved version is in the write-ahead copy when save resolves, and in PATH once flushed; both private', async t => {
  const path = join(await tempDir(t), 'envelope.bin')
  const store = fileEnvelopeStore(path)
  t.is(await store.load(), undefined)
  await store.save([v2])
  await store.save([v1])
  t.deepEqual(await store.load(), v1, 'a shorter version replaces a longer one whole')
  await store.flush?.()
  t.deepEqual(new Uint8Array(await readFile(path)), v1)
  t.deepEqual(await fileEnvelopeStore(path).load(), v1)
  for (const copy of [path, writeAheadPath(path)]) t.is((await stat(copy)).mode & 0o777, 0o600, copy)
})

test('a write-ahead copy cut short or damaged (a crash while writing it) is passed over for PATH', async t => {
  const wholeCopy = await readFile(writeAheadPath((await storeHolding(t, v2)).path))
  const { path, store } = await storeHolding(t, v1)
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
  const { path, store } = await storeHolding(t, v1)
  await rm(path)
  await mkdir(path)
  await store.save([v2])
  await t.throwsAsync(store.save([v3]), { code: 'EISDIR' })
  t.deepEqual(await store.load(), v2)
})

test('a copy an earlier run left ahead of PATH (a crash between the two writes) reaches PATH before it is overwritten', async t => {
  const aheadCopy = await readFile(writeAheadPath((await storeHolding(t, v2)).path))
  const { path } = await storeHolding(t, v1)
  await writeFile(writeAheadPath(path), aheadCopy)

  const restarted = fileEnvelopeStore(path)
  await restarted.save([v3])
  t.notDeepEqual(new Uint8Array(await readFile(path)), v1, 'had the copy been overwritten first, a crash would have gone back to version 1')
  const loaded = fileEnvelopeStore(path)
  t.deepEqual(await loaded.load(), v3)
  await loaded.flush?.()
  t.deepEqual(new Uint8Array(await readFile(path)), v3, 'a store that only loaded settles PATH when flushed')
})

test('a large envelope is written once, straight to PATH, and the older write-ahead copy is removed', async t => {
  const path = join(await tempDir(t), 'envelope.bin')
  const store = fileEnvelopeStore(path)
  await store.save([v1])
  const large = new Uint8Array(300 * 1024).fill(7)
  await store.save([large])
  t.deepEqual(new Uint8Array(await readFile(path)), large, 'in PATH as soon as save resolves')
  await t.throwsAsync(stat(writeAheadPath(path)), { code: 'ENOENT' })
  t.deepEqual(await fileEnvelopeStore(path).load(), large)
  await store.save([v2])
  t.deepEqual(await fileEnvelopeStore(path).load(), v2, 'a small one after it goes through the copy again')
})

test('an envelope saved in parts (a head and a body fetched apart) is stored as the parts one after another, small or large, and no temporary file is left', async t => {
  const directory = await tempDir(t)
  const path = join(directory, 'envelope.bin')
  const store = fileEnvelopeStore(path)
  const head = new TextEncoder().encode('DIME…head')
  await store.save([head, v2])
  t.deepEqual(await fileEnvelopeStore(path).load(), new Uint8Array(Buffer.concat([head, v2])), 'through the write-ahead copy')
  const body = new Uint8Array(300 * 1024).fill(9)
  await store.save([head, body])
  t.deepEqual(new Uint8Array(await readFile(path)), new Uint8Array(Buffer.concat([head, body])), 'straight to PATH')
  await store.flush?.()
  t.deepEqual((await readdir(directory)).sort(), ['envelope.bin'])
})
