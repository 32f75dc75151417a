import { Option, type Command } from 'commander'
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MESH, STALE_AFTER_MS } from '../../node/constants.js'
import { InvalidLabelError, isLabelValue, labelsFrom, type Labels } from '../../node/edge-labels.js'
import { isPublicAddress } from '../../node/host-names.js'
import { collect, isLoopback, listOf, maxConfigBytes, parseBootstrap, parseHostPort, parsePeerId, positiveSeconds, readSecretsKey, readServerTls, readSwarmKey, readToken, readTrustedKeys } from '../inputs.js'
import { runUntilSignal } from '../run-until-signal.js'
import { UsageError } from '../usage-error.js'
import { listenAddresses } from './publisher.js'

interface EdgeFlags {
  trust?: string[]
  bootstrap?: string[]
  swarmKey: string
  listen?: string[]
  dataDir: string
  serve: string
  mesh: string
  allowPeer?: string[]
  staleAfter: string
  tokenFile?: string
  maxConfigMib: string
  secretsKey?: string
  tlsCert?: string
  tlsKey?: string
  publicAddress?: string
  name?: string
  label?: string[]
  proxyMetrics?: string
}

export const DEFAULT_SERVE = '127.0.0.1:8088'

export function edgeCommand (program: Command): void {
  program.command('edge')
    .description('Join the mesh, verify and persist the signed config, and serve it to Traefik\'s HTTP provider')
    .addOption(new Option('--trust <file>', 'publisher public key (SPKI PEM) to trust, repeatable').argParser(collect).env('DIME_TRUST'))
    .addOption(new Option('--bootstrap <multiaddr>', 'peer to keep connected to, e.g. /ip4/10.0.0.5/tcp/4001 or /dns4/pub.example/tcp/4001[/p2p/ID], repeatable').argParser(collect).env('DIME_BOOTSTRAP'))
    .addOption(new Option('--swarm-key <file>', 'the mesh\'s private-network key').env('DIME_SWARM_KEY').makeOptionMandatory())
    .addOption(new Option('--listen <multiaddr>', 'libp2p listen address, repeatable (default /ip4/0.0.0.0/tcp/4001)').argParser(collect).env('DIME_LISTEN'))
    .addOption(new Option('--data-dir <dir>', 'where the last verified config and the peer identity are kept').env('DIME_DATA_DIR').makeOptionMandatory())
    .addOption(new Option('--serve <host:port>', 'where Traefik fetches /config; loopback unless you mean otherwise').default(DEFAULT_SERVE).env('DIME_SERVE'))
    .addOption(new Option('--mesh <name>', 'mesh name; envelopes for other meshes are refused').default(DEFAULT_MESH).env('DIME_MESH'))
    .addOption(new Option('--allow-peer <peer-id>', 'only these peers (other edges) may connect, besides trusted publishers; repeatable').argParser(collect).env('DIME_ALLOW_PEER'))
    .addOption(new Option('--token-file <file>', 'require this bearer token on /config (Traefik: providers.http.headers.Authorization)').env('DIME_TOKEN_FILE'))
    .addOption(new Option('--max-config-mib <MiB>', 'largest config accepted, uncompressed; a larger one is refused before its body is fetched').default(String(DEFAULT_MAX_BODY_BYTES / 2 ** 20)).env('DIME_MAX_CONFIG_MIB'))
    .addOption(new Option('--secrets-key <file>', 'the edges\' secrets key (secrets.key from dime keygen): opens TLS keys and passwords sealed into the config; needs --token-file').env('DIME_SECRETS_KEY'))
    .addOption(new Option('--tls-cert <file>', 'serve /config over HTTPS with this certificate (PEM), with --tls-key').env('DIME_TLS_CERT'))
    .addOption(new Option('--tls-key <file>', 'the key of --tls-cert (PEM)').env('DIME_TLS_KEY'))
    .addOption(new Option('--public-address <ip-or-name>', 'where clients reach this edge\'s Traefik: the publisher writes it into the status of the Ingresses and Gateways the edges serve, for ExternalDNS').env('DIME_PUBLIC_ADDRESS'))
    .addOption(new Option('--name <name>', 'what operators call this edge: shown instead of its peer id in dime status and the fleet page').env('DIME_NAME'))
    .addOption(new Option('--label <key=value>', 'a label rollout waves select this edge by (tier=canary, region=eu), repeatable; DIME_LABELS takes several, comma-separated').argParser(collect).env('DIME_LABELS'))
    .addOption(new Option('--proxy-metrics <url>', 'Traefik\'s Prometheus endpoint (metrics.prometheus, e.g. http://127.0.0.1:8082/metrics): in a rollout, the changed services\' 5xx share since the change is compared with before it').env('DIME_PROXY_METRICS'))
    .addOption(new Option('--stale-after <seconds>', 'report stale after this long without news from a publisher (the config is served regardless)').default(String(STALE_AFTER_MS / 1000)).env('DIME_STALE_AFTER'))
    .addHelpText('after', `
Traefik's static configuration:
  providers:
    http:
      endpoint: "http://127.0.0.1:8088/config"
      pollInterval: "2s"

Signals: SIGTERM stops cleanly; SIGHUP re-reads the --trust files.

Example:
  dime edge --trust keys/publisher.pub --bootstrap /ip4/10.0.0.5/tcp/4001 \\
    --swarm-key keys/swarm.key --listen /ip4/0.0.0.0/tcp/4001 --data-dir /var/lib/dime`)
    .action(async (flags: EdgeFlags) => {
      // Loaded here, not at the top: each program loads only its own code (start-up time, memory).
      const [{ createEdge }, { createLogger }] = await Promise.all([import('../../edge-subscriber/create-edge.js'), import('../../node/logger.js')])
      const log = createLogger('dime-edge')
      const allowPeers = await Promise.all(listOf(flags.allowPeer).map(async id => await parsePeerId(id, '--allow-peer')))
      const serve = parseHostPort(flags.serve, '--serve')
      if (!isLoopback(serve.host) && flags.tokenFile === undefined) {
        throw new UsageError(`--serve ${flags.serve} is not a loopback address: anyone who reaches it could read every route; give --token-file, or serve on 127.0.0.1`)
      }
      if (flags.secretsKey !== undefined && flags.tokenFile === undefined) {
        throw new UsageError('--secrets-key puts private keys in what /config serves: give --token-file too, so only Traefik can read it')
      }
      const tls = await readServerTls(flags.tlsCert, flags.tlsKey)
      if (flags.publicAddress !== undefined && !isPublicAddress(flags.publicAddress)) {
        throw new UsageError(`--public-address "${flags.publicAddress}": expected an IP address or a DNS name`)
      }
      if (flags.name !== undefined && (flags.name === '' || !isLabelValue(flags.name))) {
        throw new UsageError(`--name "${flags.name}": expected letters, digits, '-', '_' and '.', at most 63, starting and ending with a letter or digit`)
      }
      const edge = await createEdge({
        mesh: flags.mesh,
        trust: readTrustedKeys(listOf(flags.trust), { required: true }),
        ...(allowPeers.length > 0 ? { allowPeers } : {}),
        staleAfterMs: positiveSeconds(flags.staleAfter, '--stale-after') * 1000,
        maxBodyBytes: maxConfigBytes(flags.maxConfigMib),
        token: flags.tokenFile === undefined ? undefined : readToken(flags.tokenFile),
        secretsKey: flags.secretsKey === undefined ? undefined : readSecretsKey(flags.secretsKey),
        tls,
        publicAddress: flags.publicAddress,
        name: flags.name,
        labels: labelsFlag(listOf(flags.label)),
        proxyMetrics: flags.proxyMetrics === undefined ? undefined : httpUrl(flags.proxyMetrics, '--proxy-metrics'),
        bootstrap: await Promise.all(listOf(flags.bootstrap).map(async value => await parseBootstrap(value))),
        swarmKey: readSwarmKey(flags.swarmKey),
        listen: await listenAddresses(flags.listen),
        dataDir: flags.dataDir,
        serve,
        log
      })
      if (listOf(flags.bootstrap).length === 0) log.warn('no --bootstrap peers: this edge only hears from peers that dial it')
      await runUntilSignal(edge, log, () => { edge.setTrust(readTrustedKeys(listOf(flags.trust), { required: true })) })
    })
}

function httpUrl (text: string, flag: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) throw new UsageError(`${flag} "${text}": expected an http:// or https:// URL, e.g. http://127.0.0.1:8082/metrics`)
  return text
}

function labelsFlag (texts: string[]): Labels {
  try {
    return labelsFrom(texts)
  } catch (err) {
    if (err instanceof InvalidLabelError) throw new UsageError(`--label ${err.message}`)
    throw err
  }
}
