import type { Command } from 'commander'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { peerIdOfKey } from '../../node/mesh/identity.js'
import { generateSigningKeyPem, parseTrustedKey } from '../../node/signing-keys.js'
import { generateSwarmKey } from '../../node/swarm-key.js'
import { UsageError } from '../usage-error.js'

export const KEY_FILES = { privateKey: 'publisher.key', publicKey: 'publisher.pub', swarmKey: 'swarm.key' } as const

export function keygenCommand (program: Command): void {
  program.command('keygen')
    .description('Create the publisher\'s signing key pair and the mesh\'s swarm key')
    .requiredOption('--out <dir>', 'directory to write publisher.key, publisher.pub and swarm.key into (created if missing)')
    .option('--force', 'overwrite existing files', false)
    .addHelpText('after', `
Writes:
  publisher.key  Ed25519 private key, PKCS#8 PEM, mode 0600 (publisher only; keep it in a Secret)
  publisher.pub  its public key, SPKI PEM (give it to every edge: --trust)
  swarm.key      libp2p private-network key (every node of the mesh: --swarm-key), mode 0600`)
    .action((options: { out: string, force: boolean }) => {
      const pem = generateSigningKeyPem()
      const files: Array<[string, string, number]> = [
        [KEY_FILES.privateKey, pem.privatePem, 0o600],
        [KEY_FILES.publicKey, pem.publicPem, 0o644],
        [KEY_FILES.swarmKey, generateSwarmKey(), 0o600]
      ]
      mkdirSync(options.out, { recursive: true, mode: 0o700 })
      const existing = files.map(([name]) => join(options.out, name)).filter(path => existsSync(path))
      if (!options.force && existing.length > 0) {
        throw new UsageError(`refusing to overwrite ${existing.join(', ')} (use --force to replace)`)
      }
      for (const [name, text, mode] of files) {
        const path = join(options.out, name)
        // 'wx' still refuses a file that appeared since the check above.
        writeFileSync(path, text, { mode, flag: options.force ? 'w' : 'wx' })
        chmodSync(path, mode)
      }
      const peerId = peerIdOfKey(parseTrustedKey(pem.publicPem, KEY_FILES.publicKey))
      process.stdout.write(`wrote ${files.map(([name]) => join(options.out, name)).join(', ')}\npublisher key id: ${pem.keyId}\npublisher peer id: ${peerId}\n`)
    })
}

