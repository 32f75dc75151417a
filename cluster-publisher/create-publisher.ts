import type { Multiaddr } from '@multiformats/multiaddr'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import { memoryEnvelopeStore } from '../node/envelope-store.js'
import { trustPolicy } from '../node/envelope.js'
import { LatestEnvelope } from '../node/latest-envelope.js'
import type { Logger } from '../node/logger.js'
import { createMeshNode, type MeshNode, type MeshTiming } from '../node/mesh/mesh-node.js'
import { createMeshMetrics, offerCounter } from '../node/metrics.js'
import type { SigningKey, TrustedKey } from '../node/signing-keys.js'
import type { ConnectionGater } from '@libp2p/interface'
import { ANNOUNCE_INTERVAL_MS, MISSING_AFTER_INTERVALS } from '../node/constants.js'
import { peerKeyFromSigningKey } from '../node/mesh/identity.js'
import { HeadAnnouncer } from './head-announcer.js'
import { Rollout } from './rollout.js'
import { buildAdminServer } from './admin-server.js'
import { ConfigPublisher } from './config-publisher.js'
import { buildDesiredConfig, type FragmentReport } from './desired-config.js'
import { fragmentsFromFile, type SkippedObject } from './fragment-files.js'
import { createFragmentValidator } from './fragment-schema.js'
import type { JsonObject } from './json.js'
import type { PublisherStatus } from './publisher-status.js'
import { Reconciler } from './reconciler.js'
import { directorySource } from './sources/directory-source.js'
import { loadTraefikSchema } from './traefik-schema.js'

export interface PublisherOptions {
  mesh: string
  fragmentsDir: string
  signingKey: SigningKey
  /** Earlier keys whose envelopes still count when learning the mesh's highest version (during a rotation). */
  trust?: TrustedKey[]
  swarmKey: Uint8Array
  listen: string[]
  bootstrap?: Multiaddr[]
  admin?: { host: string, port: number }
  log: Logger
  now?: () => number
  timing?: MeshTiming & { beaconIntervalMs?: number, missingAfterMs?: number }
  connectionGater?: ConnectionGater
}

export interface Publisher {
  readonly mesh: MeshNode
  /** The admin endpoint's base URL once listening. */
  adminUrl(): string | undefined
  status(): PublisherStatus
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Wires the publisher: directory source → reconciler (parse, validate, merge)
 * → signer → mesh, plus the admin endpoint. Only this file knows them all.
 */
export async function createPublisher (options: PublisherOptions): Promise<Publisher> {
  const log = options.log
  const metrics = createMeshMetrics()
  const fragmentGauge = new Gauge({ name: 'dime_publisher_fragments', help: 'Fragments by status in the latest build', labelNames: ['status'] as const, registers: [metrics.registry] })
  const versionGauge = new Gauge({ name: 'dime_publisher_config_version', help: 'Version of the newest config', registers: [metrics.registry] })
  const publishes = new Counter({ name: 'dime_publisher_publishes_total', help: 'Configs signed and published', registers: [metrics.registry] })
  const reconcileErrors = new Counter({ name: 'dime_publisher_reconcile_errors_total', help: 'Rebuilds that failed and will be retried', registers: [metrics.registry] })

  const latest = new LatestEnvelope({
    trust: trustPolicy(options.mesh, [options.signingKey, ...options.trust ?? []]),
    store: memoryEnvelopeStore(),
    log,
    countOffer: offerCounter(metrics)
  })
  const now = options.now ?? Date.now
  const rollout = new Rollout(options.timing?.missingAfterMs ?? MISSING_AFTER_INTERVALS * ANNOUNCE_INTERVAL_MS)
  const mesh = await createMeshNode({
    latest,
    swarmKey: options.swarmKey,
    listen: options.listen,
    bootstrap: options.bootstrap ?? [],
    privateKey: await peerKeyFromSigningKey(options.signingKey),
    onAnnouncement: announcement => { rollout.heard(announcement, now()) },
    ...(options.connectionGater !== undefined ? { connectionGater: options.connectionGater } : {}),
    ...(options.timing !== undefined ? { timing: options.timing } : {}),
    log
  })
  const publisher = new ConfigPublisher({ latest, mesh }, { signingKey: options.signingKey, now })
  const beacons = new HeadAnnouncer({ latest, mesh }, {
    signingKey: options.signingKey,
    log,
    now,
    ...(options.timing?.beaconIntervalMs !== undefined ? { intervalMs: options.timing.beaconIntervalMs } : {})
  })
  const source = directorySource({ directory: options.fragmentsDir })
  const validate = createFragmentValidator(loadTraefikSchema())

  let lastGood: ReadonlyMap<string, JsonObject> = new Map()
  let fragments: FragmentReport[] = []
  let skipped: SkippedObject[] = []
  let published = false
  let lastError: string | null = null

  async function reconcile (): Promise<void> {
    try {
      const files = await source.snapshot()
      const read = files.map(fragmentsFromFile)
      const desired = buildDesiredConfig(read.flatMap(file => file.fragments), lastGood, validate)
      reportChanges(log, fragments, desired.fragments)
      lastGood = desired.lastGood
      fragments = desired.fragments
      skipped = read.flatMap(file => file.skipped)
      fragmentGauge.reset()
      for (const report of fragments) fragmentGauge.inc({ status: report.status })
      const result = await publisher.publish(desired.config)
      if (result.changed) {
        publishes.inc()
        rollout.published(result.envelope.head.version, result.envelope.head.issuedAt)
        log.info({ version: result.envelope.head.version, sha256: result.envelope.head.bodySha256, recipients: result.recipients }, 'config published')
      }
      versionGauge.set(result.envelope.head.version)
      published = true
      lastError = null
    } catch (err) {
      reconcileErrors.inc()
      lastError = (err as Error).message
      throw err
    }
  }

  const reconciler = new Reconciler({ reconcile, log })
  source.onChange(() => { reconciler.markDirty() })
  // A newer envelope learned from the mesh (an earlier run, another replica) may need superseding.
  latest.onAccepted(() => { reconciler.markDirty() })

  let admin: FastifyInstance | undefined
  let adminUrl: string | undefined

  function status (): PublisherStatus {
    const head = latest.current()?.head
    return {
      mesh: options.mesh,
      peerId: mesh.peerId,
      keyId: options.signingKey.keyId,
      version: head?.version ?? null,
      configSha256: head?.bodySha256 ?? null,
      issuedAt: head?.issuedAt ?? null,
      fragments,
      skipped,
      peers: mesh.peers(),
      edges: rollout.view(head?.version ?? null, now()),
      lastError
    }
  }

  return {
    mesh,
    adminUrl: () => adminUrl,
    status,
    async start () {
      await source.start()
      await mesh.start()
      reconciler.start()
      beacons.start()
      if (options.admin !== undefined) {
        admin = await buildAdminServer({
          registry: metrics.registry,
          status,
          notReadyReason: () => published ? undefined : (lastError ?? 'no config published yet')
        })
        adminUrl = await admin.listen({ host: options.admin.host, port: options.admin.port })
        log.info({ url: adminUrl }, 'admin endpoint listening')
      }
    },
    async stop () {
      await admin?.close()
      beacons.stop()
      await reconciler.stop()
      await source.stop()
      await mesh.stop()
    }
  }
}

/** Logs each fragment whose status or reason changed since the previous build, once. */
function reportChanges (log: Logger, before: FragmentReport[], after: FragmentReport[]): void {
  const previous = new Map(before.map(report => [report.source, report]))
  for (const report of after) {
    const old = previous.get(report.source)
    if (old?.status === report.status && old.reason === report.reason) continue
    if (report.status === 'accepted') {
      if (old !== undefined && old.status !== 'accepted') log.info({ fragment: report.source }, 'fragment accepted again')
    } else {
      log.warn({ fragment: report.source, status: report.status, problem: report.problem, reason: report.reason },
        report.status === 'kept-last-good' ? 'fragment broken; keeping its last good content' : 'fragment left out')
    }
  }
}
