import type { CipherSuite } from '@hpke/core'
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { InvalidKeyFileError } from './errors.js'

/**
 * Secrets in the signed config (TLS private keys, basic-auth hashes) travel
 * and rest sealed to the edges' secrets key: HPKE (RFC 9180) base mode,
 * X25519, HKDF-SHA256, AES-256-GCM. The publisher holds only the public half,
 * so it can seal and never open; the key is its own, derived from nothing
 * else (not the swarm key, not the signing key). A sealed value is a string:
 * `dime-sealed:v1:` and base64url of the encapsulated key and the ciphertext.
 */
export const SEALED_PREFIX = 'dime-sealed:v1:'
const ENCAPSULATED_KEY_BYTES = 32
const SEAL_DOMAIN = 'cdn-on-a-dime/sealed-secret/v1\n'

let suite: Promise<CipherSuite> | undefined

/** Loaded on first use: every `dime` command reads key files, few seal or open anything. */
async function cipherSuite (): Promise<CipherSuite> {
  suite ??= import('@hpke/core').then(hpke => new hpke.CipherSuite({ kem: new hpke.DhkemX25519HkdfSha256(), kdf: new hpke.HkdfSha256(), aead: new hpke.Aes256Gcm() }))
  return await suite
}
const encoder = new TextEncoder()

/** A value that cannot be opened: not sealed for this key, for this mesh, or altered. */
export class SealedSecretError extends Error {
  override readonly name: string = 'SealedSecretError'
}

export interface SecretsPublicKey { readonly raw: Uint8Array }
export interface SecretsPrivateKey { readonly jwk: JsonWebKey }

export function generateSecretsKeyPem (): { privatePem: string, publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519')
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString()
  }
}

function x25519 (load: () => KeyObject, where: string, kind: string): KeyObject {
  let key: KeyObject
  try {
    key = load()
  } catch (err) {
    throw new InvalidKeyFileError(`${where}: not a PEM ${kind} key (${(err as Error).message})`)
  }
  if (key.asymmetricKeyType !== 'x25519') throw new InvalidKeyFileError(`${where}: expected an X25519 ${kind} key (from dime keygen: secrets.key or secrets.pub)`)
  return key
}

/** The edges' secrets key (PKCS#8 PEM, `secrets.key`): opens sealed values. */
export function parseSecretsPrivateKey (pem: string, where: string): SecretsPrivateKey {
  const { x = '', d = '' } = x25519(() => createPrivateKey({ key: pem, format: 'pem' }), where, 'private').export({ format: 'jwk' })
  return { jwk: { kty: 'OKP', crv: 'X25519', x, d } }
}

/** Its public half (SPKI PEM, `secrets.pub`): the publisher seals with it. */
export function parseSecretsPublicKey (pem: string, where: string): SecretsPublicKey {
  // createPublicKey accepts a private key too (and derives its public half): keep the private one off the publisher.
  if (pem.includes('PRIVATE KEY')) throw new InvalidKeyFileError(`${where}: expected the public secrets key (secrets.pub), found a private one`)
  const key = x25519(() => createPublicKey({ key: pem, format: 'pem' }), where, 'public')
  return { raw: Buffer.from(key.export({ format: 'jwk' }).x ?? '', 'base64url') }
}

/** Binds a sealed value to its mesh: one sealed for another mesh does not open. */
function context (mesh: string): Uint8Array {
  return encoder.encode(`${SEAL_DOMAIN}${mesh}`)
}

export async function sealSecret (plaintext: string, recipient: SecretsPublicKey, mesh: string): Promise<string> {
  const hpke = await cipherSuite()
  const sealed = await hpke.seal({ recipientPublicKey: await hpke.kem.deserializePublicKey(recipient.raw) }, encoder.encode(plaintext), context(mesh))
  return SEALED_PREFIX + Buffer.concat([Buffer.from(sealed.enc), Buffer.from(sealed.ct)]).toString('base64url')
}

export function isSealed (value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(SEALED_PREFIX)
}

export async function openSecret (sealed: string, key: SecretsPrivateKey, mesh: string): Promise<string> {
  const bytes = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url')
  if (!isSealed(sealed) || bytes.byteLength <= ENCAPSULATED_KEY_BYTES) throw new SealedSecretError('not a sealed value')
  try {
    const hpke = await cipherSuite()
    const recipientKey = await hpke.kem.importKey('jwk', key.jwk, false)
    const plaintext = await hpke.open({ recipientKey, enc: bytes.subarray(0, ENCAPSULATED_KEY_BYTES) }, bytes.subarray(ENCAPSULATED_KEY_BYTES), context(mesh))
    return new TextDecoder().decode(plaintext)
  } catch {
    throw new SealedSecretError('does not open with this secrets key for this mesh')
  }
}

export interface Unsealed {
  readonly config: unknown
  /** JSON paths of the values that could not be opened; each was left out with its list entry. */
  readonly unopened: string[]
  readonly opened: number
}

const LEFT_OUT = Symbol('left out')

/**
 * Opens every sealed value of a config, in memory. A value that does not open
 * (no key, another key) is left out with the list entry holding it (a
 * certificate, a user), or alone when no list holds it, so what Traefik gets
 * never holds a sealed string. A basic-auth list left empty makes Traefik
 * refuse the middleware, and its routers with it: it fails closed.
 */
export async function unsealConfig (config: unknown, key: SecretsPrivateKey | undefined, mesh: string): Promise<Unsealed> {
  const unopened: string[] = []
  let opened = 0
  async function walk (value: unknown, path: string, inList: boolean): Promise<unknown> {
    if (isSealed(value)) {
      if (key !== undefined) {
        try {
          const plaintext = await openSecret(value, key, mesh)
          opened++
          return plaintext
        } catch {}
      }
      unopened.push(path)
      return LEFT_OUT
    }
    if (Array.isArray(value)) {
      const items = await Promise.all(value.map(async (item, i) => await walk(item, `${path}[${i}]`, true)))
      return items.filter(item => item !== LEFT_OUT)
    }
    if (typeof value === 'object' && value !== null) {
      const entries = await Promise.all(Object.entries(value).map(async ([name, item]) => [name, await walk(item, `${path}.${name}`, inList)] as const))
      if (inList && entries.some(([, item]) => item === LEFT_OUT)) return LEFT_OUT
      return Object.fromEntries(entries.filter(([, item]) => item !== LEFT_OUT))
    }
    return value
  }
  return { config: await walk(config, '$', false), unopened, opened }
}
