import type { Multiaddr } from '@multiformats/multiaddr'
import type { FastifyInstance } from 'fastify'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { Gauge } from 'prom-client'
import { trustPolicy } from '../node/envelope.js'
import { LatestEnvelope } from '../node/latest-envelope.js'
import type { Logger } from '../node/logger.js'
import { createMeshNode, type MeshNode } from '../node/mesh/mesh-node.js'
import { createMeshMetrics, offerCounter } from '../node/metrics.js'
import type { TrustedKey } from '../node/signing-keys.js'
import { buildEdgeServer } from './edge-server.js'
import type { EdgeStatus } from './edge-status.js'
import { fileEnvelopeStore } from './file-envelope-store.js'
import { loadOrCreatePeerKey } from './peer-identity.js'

export const ENVELOPE_FILE = 'envelope.bin'
export const PEER_KEY_FILE = 'peer.key'

export interface EdgeOptions {
  mesh: string
  trust: TrustedKey[]
  bootstrap: Multiaddr[]
  swarmKey: Uint8Array
  listen: string[]
  dataDir: string
  serve: { host: string, port: number }
  log: Logger
  syncIntervalMs?: number
}

export interface Edge {
  readonly mesh: MeshNode
  readonly latest: LatestEnvelope
  /** The config endpoint's base URL once listening. */
  serveUrl(): string | undefined
  status(): EdgeStatus
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Wires an edge: the persisted envelope is verified and served first, before
 * any peer is reached; then the mesh delivers newer ones through the same checks.
 */
export async function createEdge (options: EdgeOptions): Promise<Edge> {
  const log = options.log
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const metrics = createMeshMetrics()
  const versionGauge = new Gauge({ name: 'dime_edge_config_version', help: 'Version of the config served (0 before the first)', registers: [metrics.registry] })
  const receivedGauge = new Gauge({ name: 'dime_edge_config_received_timestamp_seconds', help: 'When the served config was accepted', registers: [metrics.registry] })

  const latest = new LatestEnvelope({
    trust: trustPolicy(options.mesh, options.trust),
    store: fileEnvelopeStore(join(options.dataDir, ENVELOPE_FILE)),
    log,
    countOffer: offerCounter(metrics)
  })
  let receivedAt: string | null = null
  latest.onAccepted(envelope => {
    receivedAt = new Date().toISOString()
    versionGauge.set(envelope.head.version)
    receivedGauge.set(Date.now() / 1000)
    log.info({ version: envelope.head.version, sha256: envelope.head.bodySha256 }, 'serving config')
  })

  const mesh = await createMeshNode({
    latest,
    swarmKey: options.swarmKey,
    listen: options.listen,
    bootstrap: options.bootstrap,
    privateKey: await loadOrCreatePeerKey(join(options.dataDir, PEER_KEY_FILE)),
    log,
    ...(options.syncIntervalMs !== undefined ? { syncIntervalMs: options.syncIntervalMs } : {})
  })

  function status (): EdgeStatus {
    const head = latest.current()?.head
    return {
      mesh: options.mesh,
      peerId: mesh.peerId,
      version: head?.version ?? null,
      configSha256: head?.bodySha256 ?? null,
      issuedAt: head?.issuedAt ?? null,
      receivedAt,
      keyId: head?.keyId ?? null,
      trustedKeyIds: latest.trustedKeyIds(),
      peers: mesh.peers(),
      listen: mesh.addresses()
    }
  }

  let server: FastifyInstance | undefined
  let serveUrl: string | undefined
  return {
    mesh,
    latest,
    serveUrl: () => serveUrl,
    status,
    async start () {
      const notRestored = await latest.restore()
      if (notRestored !== undefined) log.warn({ reason: notRestored }, 'no persisted config to serve; answering 503 until one is verified')
      server = await buildEdgeServer({ registry: metrics.registry, current: () => latest.current(), status })
      serveUrl = await server.listen({ host: options.serve.host, port: options.serve.port })
      log.info({ url: `${serveUrl}/config` }, 'serving Traefik config')
      await mesh.start()
    },
    async stop () {
      await mesh.stop()
      await latest.settled()
      await server?.close()
    }
  }
}
