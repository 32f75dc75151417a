import test from 'ava'
import fc from 'fast-check'
import { memoryPeerBookStore, PeerBook, type KnownPeer } from '../../node/mesh/peer-book.js'
import { redialDelay } from '../../node/mesh/peer-keeper.js'
import { capturedLog } from '../fixtures/captured-log.js'

test('a peer is remembered by its dialable TCP addresses only, without its own /p2p suffix, never itself', t => {
  const book = new PeerBook('self', memoryPeerBookStore(), capturedLog().log)
  book.learn('self', ['/ip4/192.0.2.1/tcp/4001'])
  book.learn('a', ['/ip4/192.0.2.2/tcp/4001/p2p/a', '/ip4/192.0.2.2/udp/4001/quic-v1', '/ip4/192.0.2.2/tcp/4001', '/dns4/edge.example.net/tcp/4001'], 1)
  book.learn('b', ['/ip4/192.0.2.3/udp/4001'], 1)
  t.deepEqual(book.list(), [{ id: 'a', addresses: ['/ip4/192.0.2.2/tcp/4001', '/dns4/edge.example.net/tcp/4001'], lastSeen: 1 }])
})

test('the book holds at most 256 peers, dropping the one heard of longest ago, and 8 addresses a peer', t => {
  const book = new PeerBook('self', memoryPeerBookStore(), capturedLog().log)
  for (let i = 0; i < 257; i++) book.learn(`p${i}`, [`/ip4/192.0.2.${i % 250}/tcp/${4000 + i}`], 1000 + i)
  t.is(book.list().length, 256)
  t.false(book.list().some(peer => peer.id === 'p0'))
  book.learn('many', Array.from({ length: 20 }, (_, i) => `/ip4/198.51.100.${i}/tcp/4001`))
  t.is(book.list().find(peer => peer.id === 'many')?.addresses.length, 8)
})

test('what is learned is saved, and loaded by the next run; an unreadable store is logged, not fatal', async t => {
  const store = memoryPeerBookStore()
  const book = new PeerBook('self', store, capturedLog().log)
  book.learn('a', ['/ip4/192.0.2.2/tcp/4001'], 5)
  await book.flush()
  const next = new PeerBook('self', store, capturedLog().log)
  await next.load()
  t.deepEqual(next.list(), [{ id: 'a', addresses: ['/ip4/192.0.2.2/tcp/4001'], lastSeen: 5 }] satisfies KnownPeer[])

  const { log, text } = capturedLog()
  const broken = new PeerBook('self', { load: async () => { throw new Error('peers.json: not JSON') }, save: async () => {} }, log)
  await broken.load()
  t.deepEqual(broken.list(), [])
  t.regex(text(), /peers.json: not JSON/)
})

test('property: a redial waits between half and all of a ceiling that doubles from the minimum up to the maximum', t => {
  fc.assert(fc.property(fc.nat(40), fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 100_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (attempt, minMs, extra, random) => {
    const maxMs = minMs + extra
    const ceiling = Math.min(maxMs, minMs * 2 ** attempt)
    const delay = redialDelay(attempt, minMs, maxMs, () => random)
    return delay >= ceiling / 2 && delay <= ceiling
  }))
  t.is(redialDelay(0, 250, 1000, () => 0.999999), 249.999875)
})
