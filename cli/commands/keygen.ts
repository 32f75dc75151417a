import type { Command } from 'commander'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { peerIdOfKey } from '../../node/mesh/identity.js'
import { generateSigningKeyPem, parseTrustedKey } from '../../node/signing-keys.js'
import { generateSwarmKey } from '../../node/swarm-key.js'
import { UsageError } from '../usage-error.js'

export const KEY_FILES = { privateKey: 'publisher.key', publicKey: 'publisher.pub', swarmKey: 'swarm.key' } as const

export function keygenCommand (program: Command): void {
  program.command('keygen')
    .description('Create the publisher\'s signing key pair and the mesh\'s swarm key')
    .option('--out <dir>', 'directory to write publisher.key, publisher.pub and swarm.key into (created if missing)')
    .option('--force', 'overwrite existing files', false)
    .option('--kubernetes-secret <name>', 'print a Secret manifest holding the new keys, for the publisher\'s Deployment')
    .option('--namespace <ns>', 'namespace of that Secret', 'traefik')
    .addHelpText('after', `
Writes (with --out):
  publisher.key  Ed25519 private key, PKCS#8 PEM, mode 0600 (publisher only; keep it in a Secret)
  publisher.pub  its public key, SPKI PEM (give it to every edge: --trust)
  swarm.key      libp2p private-network key (every node of the mesh: --swarm-key), mode 0600

  dime keygen --out keys --kubernetes-secret dime-publisher-keys | kubectl apply -f -
keeps the public key and swarm key in ./keys for the edges, and the whole set in a Secret.`)
    .action((options: { out?: string, force: boolean, kubernetesSecret?: string, namespace: string }) => {
      if (options.out === undefined && options.kubernetesSecret === undefined) {
        throw new UsageError('say where the keys go: --out DIR, --kubernetes-secret NAME, or both')
      }
      const pem = generateSigningKeyPem()
      const files: Array<[string, string, number]> = [
        [KEY_FILES.privateKey, pem.privatePem, 0o600],
        [KEY_FILES.publicKey, pem.publicPem, 0o644],
        [KEY_FILES.swarmKey, generateSwarmKey(), 0o600]
      ]
      const peerId = peerIdOfKey(parseTrustedKey(pem.publicPem, KEY_FILES.publicKey))
      const summary = `publisher key id: ${pem.keyId}\npublisher peer id: ${peerId}\n`
      if (options.out !== undefined) {
        writeKeyFiles(options.out, files, options.force)
        const wrote = `wrote ${files.map(([name]) => join(options.out ?? '', name)).join(', ')}\n${summary}`
        // With a Secret on stdout, the summary goes to stderr so the manifest can be piped.
        if (options.kubernetesSecret === undefined) process.stdout.write(wrote)
        else process.stderr.write(wrote)
      }
      if (options.kubernetesSecret !== undefined) {
        if (options.out === undefined) process.stderr.write(summary)
        process.stdout.write(secretManifest(options.kubernetesSecret, options.namespace, files))
      }
    })
}

function writeKeyFiles (directory: string, files: Array<[string, string, number]>, force: boolean): void {
  mkdirSync(directory, { recursive: true, mode: 0o700 })
  const existing = files.map(([name]) => join(directory, name)).filter(path => existsSync(path))
  if (!force && existing.length > 0) {
    throw new UsageError(`refusing to overwrite ${existing.join(', ')} (use --force to replace)`)
  }
  for (const [name, text, mode] of files) {
    const path = join(directory, name)
    // 'wx' still refuses a file that appeared since the check above.
    writeFileSync(path, text, { mode, flag: force ? 'w' : 'wx' })
    chmodSync(path, mode)
  }
}

/** A Secret holding the key files, as YAML for `kubectl apply -f -`. */
function secretManifest (name: string, namespace: string, files: Array<[string, string, number]>): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'dime-publisher' } },
    type: 'Opaque',
    stringData: Object.fromEntries(files.map(([file, text]) => [file, text]))
  })
}
