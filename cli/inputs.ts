import type { Multiaddr } from '@multiformats/multiaddr'
import { readFileSync } from 'node:fs'
import type { ServerTls } from '../node/http/doors.js'
import { parseListenAddress } from '../node/http/listen-address.js'
import { parseSecretsPrivateKey, parseSecretsPublicKey, type SecretsPrivateKey, type SecretsPublicKey } from '../node/sealed-secret.js'
import { parseSigningKey, parseTrustedKey, type SigningKey, type TrustedKey } from '../node/signing-keys.js'
import { parseSwarmKey } from '../node/swarm-key.js'
import { UsageError } from './usage-error.js'

/** Reads a file named by a flag, saying which flag and why when it cannot. */
export function readFlagFile (path: string, flag: string): string {
  return readFlagBytes(path, flag).toString('utf8')
}

export function readFlagBytes (path: string, flag: string): Buffer {
  try {
    return readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (err as Error).message
    throw new UsageError(`${flag} ${path}: cannot read (${why})`)
  }
}

function asUsageError<T> (parse: () => T): T {
  try {
    return parse()
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

export function readSigningKey (path: string, flag = '--key'): SigningKey {
  return asUsageError(() => parseSigningKey(readFlagFile(path, flag), `${flag} ${path}`))
}

export function readTrustedKeys (paths: string[], { required }: { required: boolean }, flag = '--trust'): TrustedKey[] {
  if (required && paths.length === 0) throw new UsageError(`${flag} FILE is required: the publisher's public key this edge trusts`)
  return paths.map(path => asUsageError(() => parseTrustedKey(readFlagFile(path, flag), `${flag} ${path}`)))
}

export function readSwarmKey (path: string, flag = '--swarm-key'): Uint8Array {
  return asUsageError(() => parseSwarmKey(readFlagFile(path, flag), `${flag} ${path}`))
}

export function readSecretsKey (path: string, flag = '--secrets-key'): SecretsPrivateKey {
  return asUsageError(() => parseSecretsPrivateKey(readFlagFile(path, flag), `${flag} ${path}`))
}

export function readSecretsPublicKey (path: string, flag = '--secrets-pub'): SecretsPublicKey {
  return asUsageError(() => parseSecretsPublicKey(readFlagFile(path, flag), `${flag} ${path}`))
}

/** `--tls-cert` and `--tls-key`: both or neither; checked to be a matching PEM pair. */
export async function readServerTls (certPath: string | undefined, keyPath: string | undefined): Promise<ServerTls | undefined> {
  if (certPath === undefined && keyPath === undefined) return undefined
  if (certPath === undefined || keyPath === undefined) throw new UsageError('--tls-cert and --tls-key go together')
  const tls = { cert: readFlagBytes(certPath, '--tls-cert'), key: readFlagBytes(keyPath, '--tls-key') }
  const { createSecureContext } = await import('node:tls')
  try {
    createSecureContext(tls)
  } catch (err) {
    throw new UsageError(`--tls-cert ${certPath} and --tls-key ${keyPath}: not a matching PEM certificate and key (${(err as Error).message})`)
  }
  return tls
}

const DIALABLE = /^\/(ip4|ip6|dns4|dns6|dns)\/[^/]+\/tcp\/\d{1,5}(\/p2p\/[^/]+)?$/

// The parsers of libp2p addresses and peer ids load only when a command needs them: `dime --help` and an edge's first answer should not wait for them.

/** A bootstrap address: `/ip4|ip6|dns4|dns6/HOST/tcp/PORT`, optionally ending in `/p2p/PEER-ID`. */
export async function parseBootstrap (value: string, flag = '--bootstrap'): Promise<Multiaddr> {
  const { multiaddr } = await import('@multiformats/multiaddr')
  let address: Multiaddr
  try {
    address = multiaddr(value)
  } catch (err) {
    throw new UsageError(`${flag} "${value}": not a multiaddr (${(err as Error).message})`)
  }
  if (!DIALABLE.test(address.toString())) {
    throw new UsageError(`${flag} "${value}": expected /ip4/HOST/tcp/PORT or /dns4/NAME/tcp/PORT, optionally ending in /p2p/PEER-ID`)
  }
  return address
}

/** A libp2p listen address: checked here so a typo fails with the flag's name. */
export async function parseListen (value: string, flag = '--listen'): Promise<string> {
  const { multiaddr } = await import('@multiformats/multiaddr')
  try {
    return multiaddr(value).toString()
  } catch (err) {
    throw new UsageError(`${flag} "${value}": not a multiaddr (${(err as Error).message}); for example /ip4/0.0.0.0/tcp/4001`)
  }
}

export function parseHostPort (value: string, flag: string): { host: string, port: number } {
  return asUsageError(() => parseListenAddress(value, flag))
}

/** Commander collector for repeatable flags. */
export function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** A repeatable flag's values; an environment variable may list several, comma-separated. */
export function listOf (values: string[] | undefined): string[] {
  return (values ?? []).flatMap(value => value.split(',')).map(value => value.trim()).filter(value => value !== '')
}

export async function parsePeerId (value: string, flag: string): Promise<string> {
  const { peerIdFromString } = await import('@libp2p/peer-id')
  try {
    return peerIdFromString(value).toString()
  } catch {
    throw new UsageError(`${flag} "${value}": not a libp2p peer id (an edge prints its own at start, in "mesh node listening")`)
  }
}

/** A flag's positive number, in `unit` (named in the error). */
function positiveNumber (value: string, flag: string, unit: string): number {
  const number = Number(value)
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`${flag} must be a positive number of ${unit}, got "${value}"`)
  return number
}

export function positiveSeconds (value: string, flag: string): number {
  return positiveNumber(value, flag, 'seconds')
}

/** A flag's whole number of at least 1 (connections, peers). */
export function positiveCount (value: string, flag: string): number {
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`${flag} must be a whole number of at least 1, got "${value}"`)
  return number
}

/** `--max-config-mib`: a positive number of MiB, as bytes. */
export function maxConfigBytes (value: string, flag = '--max-config-mib'): number {
  return Math.floor(positiveNumber(value, flag, 'MiB') * 1024 * 1024)
}

/** A bearer token from a file (trailing newline ignored); an empty one is refused. */
export function readToken (path: string, flag = '--token-file'): string {
  const token = readFlagFile(path, flag).trim()
  if (token === '' || /\s/.test(token)) throw new UsageError(`${flag} ${path}: expected one token with no spaces`)
  return token
}

/** Whether a host name or address only this machine can reach. */
export function isLoopback (host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host)
}
