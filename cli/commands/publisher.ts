import { Option, type Command } from 'commander'
import { mkdir } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import type { PublisherOptions } from '../../cluster-publisher/create-publisher.js'
import type { RolloutPolicySource } from '../../cluster-publisher/rollout-policy.js'
import { DEFAULT_NAMESPACE } from '../../cluster-publisher/constants.js'
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MESH, PUBLISHER_MAX_CONNECTIONS } from '../../node/constants.js'
import type { Logger } from '../../node/logger.js'
import type { Registry } from 'prom-client'
import { collect, isLoopback, readFlagFile, listOf, maxConfigBytes, parseHostPort, positiveCount, readSecretsPublicKey, readServerTls, readToken, parseListen, readSigningKey, readSwarmKey, readTrustedKeys } from '../inputs.js'
import { runUntilSignal } from '../run-until-signal.js'
import { UsageError } from '../usage-error.js'

interface PublisherFlags {
  fragments?: string
  dataDir?: string
  kubernetes: boolean
  namespace?: string[]
  kubeconfig?: string
  leaderElect: boolean
  lease: string
  allowEmpty: boolean
  key: string
  swarmKey: string
  listen?: string[]
  admin?: string
  mesh: string
  trust?: string[]
  maxConfigMib: string
  maxConnections: string
  secretsPub?: string
  tokenFile?: string
  tlsCert?: string
  tlsKey?: string
  rollout?: string
}


export function publisherCommand (program: Command): void {
  program.command('publisher')
    .description('Watch route fragments, merge and validate them, sign the config and gossip it to the edges')
    .addOption(new Option('--fragments <dir>', 'directory of Traefik dynamic-config fragments (*.yaml, *.yml, *.json) or labelled ConfigMaps').env('DIME_FRAGMENTS').conflicts('kubernetes'))
    .addOption(new Option('--data-dir <dir>', 'with --fragments: where the newest config is kept across restarts, so a fragment broken meanwhile keeps its content at once (without it, a restart with a broken fragment waits for an edge to tell it)').env('DIME_DATA_DIR').conflicts('kubernetes'))
    .addOption(new Option('--kubernetes', 'take fragments from the cluster: labelled ConfigMaps and annotated LoadBalancer Services; the newest config is kept in the ConfigMap dime-publisher-state').env('DIME_KUBERNETES'))
    .addOption(new Option('--namespace <ns>', `with --kubernetes: a namespace to watch, repeatable (default ${DEFAULT_NAMESPACE})`).argParser(collect).env('DIME_NAMESPACE'))
    .addOption(new Option('--kubeconfig <file>', 'with --kubernetes: kubeconfig file (default: in-cluster, then ~/.kube/config)').env('KUBECONFIG'))
    .addOption(new Option('--leader-elect', 'with --kubernetes: only the holder of a Lease publishes (for several replicas; needs POD_NAME and POD_NAMESPACE)').env('DIME_LEADER_ELECT'))
    .addOption(new Option('--lease <name>', 'the Lease used for leader election').default('dime-publisher').env('DIME_LEASE'))
    .addOption(new Option('--allow-empty', 'publish a config with no routers even when the published one has some').env('DIME_ALLOW_EMPTY'))
    .addOption(new Option('--key <file>', 'Ed25519 signing key, PKCS#8 PEM (from dime keygen)').env('DIME_KEY').makeOptionMandatory())
    .addOption(new Option('--swarm-key <file>', 'the mesh\'s private-network key (from dime keygen)').env('DIME_SWARM_KEY').makeOptionMandatory())
    .addOption(new Option('--listen <multiaddr>', 'libp2p listen address, repeatable (default /ip4/0.0.0.0/tcp/4001)').argParser(collect).env('DIME_LISTEN'))
    .addOption(new Option('--admin <host:port>', 'serve /healthz, /readyz, /status and /metrics here').env('DIME_ADMIN'))
    .addOption(new Option('--token-file <file>', 'require this bearer token on the admin endpoint, but for /healthz and /readyz (admin.token from dime keygen)').env('DIME_TOKEN_FILE'))
    .addOption(new Option('--tls-cert <file>', 'serve the admin endpoint over HTTPS with this certificate (PEM), with --tls-key').env('DIME_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'the key of --tls-cert (PEM)').env('DIME_TLS_KEY'))
    .addOption(new Option('--secrets-pub <file>', 'the edges\' public secrets key (secrets.pub from dime keygen): TLS keys and passwords from Secrets are sealed to it').env('DIME_SECRETS_PUB'))
    .addOption(new Option('--mesh <name>', 'mesh name, signed into every config').default(DEFAULT_MESH).env('DIME_MESH'))
    .addOption(new Option('--max-connections <n>', 'mesh connections kept, whatever the fleet\'s size: edges beyond them reach the publisher through other edges').default(String(PUBLISHER_MAX_CONNECTIONS)).env('DIME_MAX_CONNECTIONS'))
    .addOption(new Option('--max-config-mib <MiB>', 'largest config to sign, uncompressed; edges must accept at least as much').default(String(DEFAULT_MAX_BODY_BYTES / 2 ** 20)).env('DIME_MAX_CONFIG_MIB'))
    .addOption(new Option('--rollout <file>', 'a rollout policy (YAML), watched: each new version reaches the edges wave by wave, each wave proving healthy before the next (README, Rollouts); with --kubernetes, the ConfigMap dime-rollout-policy instead').env('DIME_ROLLOUT').conflicts('kubernetes'))
    .addOption(new Option('--trust <file>', 'an earlier public key (during a key rotation): its configs still count when learning the newest version; repeatable').argParser(collect).env('DIME_TRUST'))
    .addHelpText('after', `
One of --fragments DIR or --kubernetes is required.

Examples:
  dime publisher --fragments ./fragments --key keys/publisher.key \\
    --swarm-key keys/swarm.key --listen /ip4/0.0.0.0/tcp/4001 --admin 127.0.0.1:9090
  dime publisher --kubernetes --namespace traefik --namespace apps --leader-elect \\
    --key /secrets/publisher.key --swarm-key /secrets/swarm.key --admin 0.0.0.0:9090`)
    .action(async (flags: PublisherFlags) => {
      // Loaded here, not at the top: each program loads only its own code (start-up time, memory).
      const [{ createPublisher }, { createLogger }, { createMeshMetrics }] = await Promise.all([
        import('../../cluster-publisher/create-publisher.js'), import('../../node/logger.js'), import('../../node/metrics.js')])
      const log = createLogger('dime-publisher')
      const metrics = createMeshMetrics()
      const admin = flags.admin === undefined ? undefined : parseHostPort(flags.admin, '--admin')
      if (admin !== undefined && !isLoopback(admin.host) && flags.tokenFile === undefined) {
        throw new UsageError(`--admin ${flags.admin} is not a loopback address: anyone who reaches it could read the status and metrics; give --token-file (admin.token from dime keygen), or listen on 127.0.0.1`)
      }
      const tls = await readServerTls(flags.tlsCert, flags.tlsKey)
      const common = {
        mesh: flags.mesh,
        signingKey: readSigningKey(flags.key),
        trust: readTrustedKeys(listOf(flags.trust), { required: false }),
        swarmKey: readSwarmKey(flags.swarmKey),
        listen: await listenAddresses(flags.listen),
        ...(admin !== undefined
          ? { admin: { ...admin, token: flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile), tls } }
          : {}),
        allowEmpty: flags.allowEmpty === true,
        rolloutPolicy: flags.rollout === undefined ? undefined : await rolloutPolicyFile(flags.rollout),
        maxBodyBytes: maxConfigBytes(flags.maxConfigMib),
        maxConnections: positiveCount(flags.maxConnections, '--max-connections'),
        log,
        metrics
      }
      const publisher = await createPublisher({ ...common, ...await sourceParts(flags, log, metrics.registry) })
      await runUntilSignal(publisher, log)
    })
}

/** The rollout policy file (`--rollout`), watched; at start it must be there and usable, or the publisher does not start. */
async function rolloutPolicyFile (path: string): Promise<RolloutPolicySource> {
  const [{ parseRolloutPolicy, RolloutPolicyError }, { rolloutPolicyFile: watched }] = await Promise.all([
    import('../../cluster-publisher/rollout-policy.js'), import('../../cluster-publisher/sources/rollout-policy-file.js')])
  try {
    parseRolloutPolicy(readFlagFile(path, '--rollout'), `--rollout ${path}`)
  } catch (err) {
    if (err instanceof RolloutPolicyError) throw new UsageError(err.message)
    throw err
  }
  return watched(path)
}

async function sourceParts (flags: PublisherFlags, log: Logger, registry: Registry): Promise<Pick<PublisherOptions, 'source' | 'reporters' | 'rolloutReporters' | 'rolloutPolicy' | 'stateStore' | 'leadership' | 'onLeadershipChange'>> {
  if (flags.kubernetes !== true) {
    if (flags.fragments === undefined) throw new UsageError('one of --fragments DIR or --kubernetes is required')
    const [{ directorySource }, { fileEnvelopeStore }] = await Promise.all([
      import('../../cluster-publisher/sources/directory-source.js'), import('../../node/file-envelope-store.js')])
    return {
      source: directorySource({ directory: flags.fragments }),
      stateStore: flags.dataDir === undefined ? undefined : fileEnvelopeStore(await stateFile(flags.dataDir))
    }
  }
  const [{ kubernetesParts }, { kubeConfigFor }] = await Promise.all([import('../../cluster-publisher/kubernetes/kubernetes-parts.js'), import('../kubernetes.js')])
  const namespaces = listOf(flags.namespace)
  const pod = { name: process.env.POD_NAME ?? hostname(), namespace: process.env.POD_NAMESPACE ?? namespaces[0] ?? DEFAULT_NAMESPACE }
  if (flags.leaderElect === true && process.env.POD_NAME === undefined) {
    throw new UsageError('--leader-elect needs POD_NAME (and POD_NAMESPACE) from the downward API, to name this replica in the Lease')
  }
  return kubernetesParts({
    kubeConfig: kubeConfigFor(flags.kubeconfig),
    namespaces: namespaces.length > 0 ? namespaces : [DEFAULT_NAMESPACE],
    pod,
    ...(flags.leaderElect === true ? { leaseName: flags.lease } : {}),
    ...(flags.secretsPub !== undefined ? { sealTo: { key: readSecretsPublicKey(flags.secretsPub), mesh: flags.mesh } } : {}),
    log,
    registry
  })
}

/** The publisher's state file in `--data-dir`, which is made (owner-only) if missing. */
async function stateFile (dataDir: string): Promise<string> {
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new UsageError(`--data-dir ${dataDir}: ${(err as Error).message}`)
  }
  return join(dataDir, PUBLISHER_STATE_FILE)
}

const PUBLISHER_STATE_FILE = 'published.envelope'

export const DEFAULT_LISTEN = '/ip4/0.0.0.0/tcp/4001'

export async function listenAddresses (values: string[] | undefined): Promise<string[]> {
  const list = listOf(values)
  return await Promise.all((list.length > 0 ? list : [DEFAULT_LISTEN]).map(async value => await parseListen(value)))
}
