import { readFile } from 'node:fs/promises'
import writeFileAtomic from 'write-file-atomic'
import type { KnownPeer, PeerBookStore } from '../node/mesh/peer-book.js'
import { isObject } from '../node/signed-frame.js'

/** Known peers as JSON in the data directory, replaced atomically. */
export function filePeerBookStore (path: string): PeerBookStore {
  return {
    async load () {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
        throw err
      }
      const peers: unknown = JSON.parse(text)
      if (!Array.isArray(peers)) throw new Error(`${path} does not hold a list of peers`)
      return peers.filter((peer: unknown): peer is KnownPeer =>
        isObject(peer) && typeof peer.id === 'string' && Array.isArray(peer.addresses) && typeof peer.lastSeen === 'number')
    },
    async save (peers) {
      await writeFileAtomic(path, `${JSON.stringify(peers, null, 2)}\n`, { fsync: true, mode: 0o600 })
    }
  }
}
