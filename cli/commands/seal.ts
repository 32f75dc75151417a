import { Option, type Command } from 'commander'
import { DEFAULT_MESH } from '../../node/constants.js'
import { sealSecret } from '../../node/sealed-secret.js'
import { readSecretsPublicKey } from '../inputs.js'
import { UsageError } from '../usage-error.js'

async function readStandardInput (): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export function sealCommand (program: Command): void {
  program.command('seal')
    .description('Seal a secret (a TLS key, htpasswd users) from standard input to the edges\' secrets key, for a fragment file')
    .addOption(new Option('--secrets-pub <file>', 'the edges\' public secrets key (secrets.pub from dime keygen)').env('DIME_SECRETS_PUB').makeOptionMandatory())
    .addOption(new Option('--mesh <name>', 'the mesh it is for; it opens in no other').default(DEFAULT_MESH).env('DIME_MESH'))
    .addHelpText('after', `
Prints one line, "dime-sealed:v1:…", to put where the value goes in a fragment:
  dime seal --secrets-pub keys/secrets.pub < shop.key
  tls:
    certificates:
      - certFile: /etc/… or the PEM itself
        keyFile: "dime-sealed:v1:…"
Only an edge with secrets.key opens it, in memory, for Traefik.`)
    .action(async (flags: { secretsPub: string, mesh: string }) => {
      const key = readSecretsPublicKey(flags.secretsPub)
      const plaintext = await readStandardInput()
      if (plaintext.trim() === '') throw new UsageError('nothing to seal on standard input')
      process.stdout.write(`${await sealSecret(plaintext, key, flags.mesh)}\n`)
    })
}
