import { Option, type Command } from 'commander'
import { createPublisher } from '../../cluster-publisher/create-publisher.js'
import { DEFAULT_MESH } from '../../node/constants.js'
import { createLogger } from '../../node/logger.js'
import { collect, listOf, parseHostPort, parseListen, readSigningKey, readSwarmKey, readTrustedKeys } from '../inputs.js'
import { runUntilSignal } from '../run-until-signal.js'

interface PublisherFlags {
  fragments: string
  key: string
  swarmKey: string
  listen?: string[]
  admin?: string
  mesh: string
  trust?: string[]
}

export function publisherCommand (program: Command): void {
  program.command('publisher')
    .description('Watch route fragments, merge and validate them, sign the config and gossip it to the edges')
    .addOption(new Option('--fragments <dir>', 'directory of Traefik dynamic-config fragments (*.yaml, *.yml, *.json) or labelled ConfigMaps').env('DIME_FRAGMENTS').makeOptionMandatory())
    .addOption(new Option('--key <file>', 'Ed25519 signing key, PKCS#8 PEM (from dime keygen)').env('DIME_KEY').makeOptionMandatory())
    .addOption(new Option('--swarm-key <file>', 'the mesh\'s private-network key (from dime keygen)').env('DIME_SWARM_KEY').makeOptionMandatory())
    .addOption(new Option('--listen <multiaddr>', 'libp2p listen address, repeatable').argParser(collect).env('DIME_LISTEN'))
    .addOption(new Option('--admin <host:port>', 'serve /healthz, /readyz, /status and /metrics here').env('DIME_ADMIN'))
    .addOption(new Option('--mesh <name>', 'mesh name, signed into every config').default(DEFAULT_MESH).env('DIME_MESH'))
    .addOption(new Option('--trust <file>', 'an earlier public key (during a key rotation): its configs still count when learning the newest version; repeatable').argParser(collect).env('DIME_TRUST'))
    .addHelpText('after', `
Example:
  dime publisher --fragments ./fragments --key keys/publisher.key \\
    --swarm-key keys/swarm.key --listen /ip4/0.0.0.0/tcp/4001 --admin 127.0.0.1:9090`)
    .action(async (flags: PublisherFlags) => {
      const log = createLogger('dime-publisher')
      const publisher = await createPublisher({
        mesh: flags.mesh,
        fragmentsDir: flags.fragments,
        signingKey: readSigningKey(flags.key),
        trust: readTrustedKeys(listOf(flags.trust), { required: false }),
        swarmKey: readSwarmKey(flags.swarmKey),
        listen: listenAddresses(flags.listen),
        ...(flags.admin !== undefined ? { admin: parseHostPort(flags.admin, '--admin') } : {}),
        log
      })
      await runUntilSignal(publisher, log)
    })
}

export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4001'

export function listenAddresses (values: string[] | undefined): string[] {
  const list = listOf(values)
  return (list.length > 0 ? list : [DEFAULT_LISTEN]).map(value => parseListen(value))
}
