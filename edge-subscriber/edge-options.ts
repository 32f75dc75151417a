import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Labels } from '../node/edge-labels.js'
import type { ServerTls } from '../node/http/doors.js'
import type { Logger } from '../node/logger.js'
import type { MeshTiming } from '../node/mesh/mesh-node.js'
import type { TopicHandler } from '../node/mesh/topic-handler.js'
import type { SecretsPrivateKey } from '../node/sealed-secret.js'
import type { TrustedKey } from '../node/signing-keys.js'

/** What `dime edge` is told: its flags, as the wiring and the edge's mesh read them. */
export interface EdgeOptions {
  mesh: string
  trust: TrustedKey[]
  bootstrap: Multiaddr[]
  swarmKey: Uint8Array
  listen: string[]
  dataDir: string
  serve: { host: string, port: number }
  log: Logger
  /** Other edges allowed to connect; trusted publishers are always allowed. Anyone with the swarm key when absent. */
  allowPeers?: string[] | undefined
  staleAfterMs?: number | undefined
  timing?: MeshTiming & { announceIntervalMs?: number, announceJitterMs?: number, proxyScrapeIntervalMs?: number } | undefined
  connectionGater?: ConnectionGater | undefined
  /** When set, /config requires `Authorization: Bearer <token>` (Traefik's HTTP provider can send it). */
  token?: string | undefined
  /** Serve /config over HTTPS with this certificate. */
  tls?: ServerTls | undefined
  /** Opens the secrets sealed into the config (`--secrets-key`); without it they are left out of what Traefik gets. */
  secretsKey?: SecretsPrivateKey | undefined
  /** What operators call this edge (`--name`), shown instead of its peer id. */
  name?: string | undefined
  /** What rollout waves select this edge by (`--label KEY=VALUE`). */
  labels?: Labels | undefined
  /** Traefik's Prometheus endpoint (`--proxy-metrics`): a rollout's changed services' 5xx share is judged from it. */
  proxyMetrics?: string | undefined
  /** Where clients reach this edge's Traefik, announced to the publishers for the Ingress and Gateway status. */
  publicAddress?: string | undefined
  /** Largest config accepted (`--max-config-mib`); 64 MiB when absent. */
  maxBodyBytes?: number | undefined
  /** Ask for deltas against the config held (on when absent; the benchmarks compare). */
  deltas?: boolean | undefined
  /** Further gossip topics to join (the benchmarks measure raw gossipsub delivery on one). */
  topics?: TopicHandler[] | undefined
}

