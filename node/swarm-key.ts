import { randomBytes } from 'node:crypto'
import { InvalidKeyFileError } from './errors.js'

const HEADER = '/key/swarm/psk/1.0.0/'
const ENCODING = '/base16/'

/** A new libp2p private-network key in the standard text format. */
export function generateSwarmKey (): string {
  return `${HEADER}\n${ENCODING}\n${randomBytes(32).toString('hex')}\n`
}

/**
 * Checks a swarm key's text and returns the bytes @libp2p/pnet expects,
 * so a wrong file fails here with its name instead of deep in a handshake.
 */
export function parseSwarmKey (text: string, where: string): Uint8Array {
  const lines = text.trim().split(/\r?\n/).map(line => line.trim())
  if (lines.length !== 3 || lines[0] !== HEADER || lines[1] !== ENCODING || !/^[0-9a-fA-F]{64}$/.test(lines[2] ?? '')) {
    throw new InvalidKeyFileError(`${where}: not a swarm key (expected "${HEADER}", "${ENCODING}" and 64 hex digits on three lines)`)
  }
  return new TextEncoder().encode(lines.join('\n'))
}
