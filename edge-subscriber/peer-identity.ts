import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { readFile } from 'node:fs/promises'
import writeFileAtomic from 'write-file-atomic'

/** The edge's libp2p identity, made once and kept, so its peer id survives restarts. */
export async function loadOrCreatePeerKey (path: string): Promise<PrivateKey> {
  try {
    return privateKeyFromProtobuf(await readFile(path))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(`peer key ${path} cannot be used: ${(err as Error).message}`)
    }
  }
  const key = await generateKeyPair('Ed25519')
  await writeFileAtomic(path, Buffer.from(privateKeyToProtobuf(key)), { fsync: true, mode: 0o600 })
  return key
}
