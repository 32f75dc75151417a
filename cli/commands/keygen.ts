import type { Command } from 'commander'
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { generateSecretsKeyPem } from '../../node/sealed-secret.js'
import { generateSigningKeyPem, parseTrustedKey } from '../../node/signing-keys.js'
import { generateSwarmKey } from '../../node/swarm-key.js'
import { UsageError } from '../usage-error.js'
import { DEFAULT_NAMESPACE } from '../../cluster-publisher/constants.js'

export const KEY_FILES = {
  privateKey: 'publisher.key',
  publicKey: 'publisher.pub',
  swarmKey: 'swarm.key',
  secretsKey: 'secrets.key',
  secretsPublicKey: 'secrets.pub',
  adminToken: 'admin.token'
} as const

interface KeyFile { name: string, text: string, mode: number, /** In the publisher's Secret: never the edges' secrets key. */ publisher: boolean }

export function keygenCommand (program: Command): void {
  program.command('keygen')
    .description('Create the mesh\'s keys: the publisher\'s signing pair, the swarm key, the edges\' secrets pair and the admin token')
    .option('--out <dir>', 'directory to write the key files into (created if missing)')
    .option('--force', 'overwrite existing files', false)
    .option('--kubernetes-secret <name>', 'print a Secret manifest holding the new keys, for the publisher\'s Deployment')
    .option('--namespace <ns>', 'namespace of that Secret', DEFAULT_NAMESPACE)
    .addHelpText('after', `
Writes (with --out):
  publisher.key  Ed25519 private key, PKCS#8 PEM, mode 0600 (publisher only; keep it in a Secret)
  publisher.pub  its public key, SPKI PEM (give it to every edge: --trust)
  swarm.key      libp2p private-network key (every node of the mesh: --swarm-key), mode 0600
  secrets.key    X25519 private key, mode 0600: EDGES ONLY (--secrets-key); opens the TLS keys
                 and passwords sealed into the config. Never give it to the publisher.
  secrets.pub    its public key (publisher: --secrets-pub), to seal with
  admin.token    bearer token for the publisher's admin endpoint (--token-file), mode 0600

  dime keygen --out keys --kubernetes-secret dime-publisher-keys | kubectl apply -f -
keeps every file in ./keys, and puts the publisher's (all but secrets.key) in a Secret.`)
    .action(async (options: { out?: string, force: boolean, kubernetesSecret?: string, namespace: string }) => {
      // Loaded here, not at the top: every dime command would pay for them otherwise.
      const { peerIdOfKey } = await import('../../node/mesh/identity.js')
      if (options.out === undefined && options.kubernetesSecret === undefined) {
        throw new UsageError('say where the keys go: --out DIR, --kubernetes-secret NAME, or both')
      }
      const pem = generateSigningKeyPem()
      const secrets = generateSecretsKeyPem()
      const files: KeyFile[] = [
        { name: KEY_FILES.privateKey, text: pem.privatePem, mode: 0o600, publisher: true },
        { name: KEY_FILES.publicKey, text: pem.publicPem, mode: 0o644, publisher: true },
        { name: KEY_FILES.swarmKey, text: generateSwarmKey(), mode: 0o600, publisher: true },
        { name: KEY_FILES.secretsKey, text: secrets.privatePem, mode: 0o600, publisher: false },
        { name: KEY_FILES.secretsPublicKey, text: secrets.publicPem, mode: 0o644, publisher: true },
        { name: KEY_FILES.adminToken, text: `${randomBytes(32).toString('base64url')}\n`, mode: 0o600, publisher: true }
      ]
      const peerId = peerIdOfKey(parseTrustedKey(pem.publicPem, KEY_FILES.publicKey))
      const summary = `publisher key id: ${pem.keyId}\npublisher peer id: ${peerId}\n`
      if (options.out !== undefined) {
        writeKeyFiles(options.out, files, options.force)
        const wrote = `wrote ${files.map(({ name }) => join(options.out ?? '', name)).join(', ')}\n${summary}`
        // With a Secret on stdout, the summary goes to stderr so the manifest can be piped.
        if (options.kubernetesSecret === undefined) process.stdout.write(wrote)
        else process.stderr.write(wrote)
      }
      if (options.kubernetesSecret !== undefined) {
        if (options.out === undefined) process.stderr.write(summary)
        process.stdout.write(await secretManifest(options.kubernetesSecret, options.namespace, files.filter(file => file.publisher)))
      }
    })
}

function writeKeyFiles (directory: string, files: KeyFile[], force: boolean): void {
  mkdirSync(directory, { recursive: true, mode: 0o700 })
  const existing = files.map(({ name }) => join(directory, name)).filter(path => existsSync(path))
  if (!force && existing.length > 0) {
    throw new UsageError(`refusing to overwrite ${existing.join(', ')} (use --force to replace)`)
  }
  for (const { name, text, mode } of files) {
    const path = join(directory, name)
    // 'wx' still refuses a file that appeared since the check above.
    writeFileSync(path, text, { mode, flag: force ? 'w' : 'wx' })
    chmodSync(path, mode)
  }
}

/** A Secret holding the key files, as YAML for `kubectl apply -f -`. */
async function secretManifest (name: string, namespace: string, files: KeyFile[]): Promise<string> {
  // yaml is CommonJS: its module.exports is the default export, in Node as in the bundle.
  const { default: yaml } = await import('yaml')
  return yaml.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/name': 'dime-publisher' } },
    type: 'Opaque',
    stringData: Object.fromEntries(files.map(({ name: file, text }) => [file, text]))
  })
}
