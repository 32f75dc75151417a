import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import type { SigningKey, TrustedKey } from '../signing-keys.js'

/**
 * The publisher's libp2p identity is its signing key, so its peer id follows
 * from `publisher.pub`: edges can allow trusted publishers by key alone, and a
 * `/p2p/` bootstrap address survives restarts. The reuse is safe because every
 * protocol signing with it (Noise, gossipsub, identify, our envelopes) signs
 * under its own domain prefix.
 */
export async function peerKeyFromSigningKey (key: SigningKey): Promise<PrivateKey> {
  const { d } = key.privateKey.export({ format: 'jwk' })
  return await generateKeyPairFromSeed('Ed25519', Buffer.from(d ?? '', 'base64url'))
}

/** The peer id a publisher with this public key has on the mesh. */
export function peerIdOfKey (key: TrustedKey): string {
  const { x } = key.publicKey.export({ format: 'jwk' })
  return peerIdFromPublicKey(publicKeyFromRaw(Buffer.from(x ?? '', 'base64url'))).toString()
}
