import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { InvalidKeyFileError } from './errors.js'

export interface SigningKey {
  readonly keyId: string
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
}

export interface TrustedKey {
  readonly keyId: string
  readonly publicKey: KeyObject
}

/** A key's id: the first 16 bytes of SHA-256 over its SPKI DER encoding, in hex. */
export function keyIdOf (publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('hex').slice(0, 32)
}

export function generateSigningKeyPem (): { privatePem: string, publicPem: string, keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey)
  }
}

/** Parses a PKCS#8 PEM Ed25519 private key; `where` names its origin in errors. */
export function parseSigningKey (pem: string, where: string): SigningKey {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new InvalidKeyFileError(`${where}: not a PEM private key (${(err as Error).message})`)
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new InvalidKeyFileError(`${where}: expected an Ed25519 key, found ${privateKey.asymmetricKeyType ?? 'unknown'}`)
  }
  const publicKey = createPublicKey(privateKey)
  return { keyId: keyIdOf(publicKey), privateKey, publicKey }
}

/** Parses an SPKI PEM Ed25519 public key; `where` names its origin in errors. */
export function parseTrustedKey (pem: string, where: string): TrustedKey {
  let publicKey: KeyObject
  try {
    publicKey = createPublicKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new InvalidKeyFileError(`${where}: not a PEM public key (${(err as Error).message})`)
  }
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ed25519') {
    throw new InvalidKeyFileError(`${where}: expected an Ed25519 public key (SPKI PEM)`)
  }
  return { keyId: keyIdOf(publicKey), publicKey }
}
