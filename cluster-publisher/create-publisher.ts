import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { FastifyInstance } from 'fastify'
import { Counter, Gauge } from 'prom-client'
import { ANNOUNCE_INTERVAL_MS, MISSING_AFTER_INTERVALS } from '../node/constants.js'
import { memoryEnvelopeStore } from '../node/envelope-store.js'
import { trustPolicy } from '../node/envelope.js'
import { LatestEnvelope } from '../node/latest-envelope.js'
import type { Logger } from '../node/logger.js'
import { peerKeyFromSigningKey } from '../node/mesh/identity.js'
import { createMeshNode, type MeshNode, type MeshTiming } from '../node/mesh/mesh-node.js'
import { createMeshMetrics, offerCounter, type MeshMetrics } from '../node/metrics.js'
import type { SigningKey, TrustedKey } from '../node/signing-keys.js'
import { buildAdminServer } from './admin-server.js'
import type { ServerTls } from '../node/http/doors.js'
import { ConfigPublisher, OWN_ORIGIN } from './config-publisher.js'
import { buildDesiredConfig, countRouters, recoverLastGood, type FragmentReport } from './desired-config.js'
import type { SkippedObject } from './fragment-files.js'
import { createFragmentValidator } from './fragment-schema.js'
import { HeadAnnouncer } from './head-announcer.js'
import type { JsonObject } from './json.js'
import type { PublisherStatus } from './publisher-status.js'
import { Reconciler } from './reconciler.js'
import { Rollout } from './rollout.js'
import type { FragmentSource } from './sources/fragment-source.js'
import { loadTraefikSchema } from './traefik-schema.js'

/** Told of every fragment whose status or reason changed, and of routes that became pending. */
export interface FragmentReporter {
  fragmentChanged(report: FragmentReport, previous: FragmentReport | undefined): void
  routePending(pending: SkippedObject): void
}

/** Several replicas: only the holder of the lease publishes. */
export interface Leadership {
  onStartedLeading(listener: () => void): void
  onStoppedLeading(listener: () => void): void
  start(): void
  stop(): Promise<void>
}

export interface PublisherOptions {
  mesh: string
  source: FragmentSource
  signingKey: SigningKey
  /** Earlier keys whose envelopes still count when learning the mesh's highest version (during a rotation). */
  trust?: TrustedKey[]
  swarmKey: Uint8Array
  listen: string[]
  bootstrap?: Multiaddr[]
  admin?: { host: string, port: number, token?: string, tls?: ServerTls }
  log: Logger
  reporters?: FragmentReporter[]
  leadership?: Leadership
  /** Called once the mesh is up after winning leadership, and before it stops after losing it (the Kubernetes wiring labels the pod). */
  onLeadershipChange?: (leading: boolean) => Promise<void>
  /** Largest config to sign (`--max-config-mib`); 64 MiB when absent. */
  maxBodyBytes?: number
  /** Publish a config with no routers even when the published one has some. */
  allowEmpty?: boolean
  now?: () => number
  timing?: MeshTiming & { beaconIntervalMs?: number, missingAfterMs?: number, learnTimeoutMs?: number }
  connectionGater?: ConnectionGater
  /** Metrics to add to (the Kubernetes parts register theirs on it first); a new set when absent. */
  metrics?: MeshMetrics
}

export interface Publisher {
  readonly mesh: MeshNode
  /** The newest envelope known: accepted (and announced) the moment this publisher signs one. */
  readonly latest: LatestEnvelope
  /** The admin endpoint's base URL once listening. */
  adminUrl(): string | undefined
  status(): PublisherStatus
  start(): Promise<void>
  stop(): Promise<void>
}

const LEARN_TIMEOUT_MS = 3_000

/**
 * Wires the publisher: source → reconciler (parse, validate, merge) → signer
 * → mesh, plus beacons, rollout tracking, reporting and the admin endpoint.
 * With leadership, only the leader runs the mesh and publishes; the others
 * keep their caches warm. Only this file knows all the parts.
 */
export async function createPublisher (options: PublisherOptions): Promise<Publisher> {
  const { log, source } = options
  const metrics = options.metrics ?? createMeshMetrics()
  const fragmentGauge = new Gauge({ name: 'dime_publisher_fragments', help: 'Fragments by status in the latest build', labelNames: ['status'] as const, registers: [metrics.registry] })
  const versionGauge = new Gauge({ name: 'dime_publisher_config_version', help: 'Version of the newest config', registers: [metrics.registry] })
  const pendingGauge = new Gauge({ name: 'dime_publisher_pending_routes', help: 'Annotated Services not routed yet (no LoadBalancer address)', registers: [metrics.registry] })
  const leaderGauge = new Gauge({ name: 'dime_publisher_leader', help: '1 while this replica publishes', registers: [metrics.registry] })
  const publishes = new Counter({ name: 'dime_publisher_publishes_total', help: 'Configs signed and published', registers: [metrics.registry] })
  const refusals = new Counter({ name: 'dime_publisher_empty_refused_total', help: 'Builds not published because they would drop every router (see --allow-empty)', registers: [metrics.registry] })
  const reconcileErrors = new Counter({ name: 'dime_publisher_reconcile_errors_total', help: 'Rebuilds that failed and will be retried', registers: [metrics.registry] })

  const now = options.now ?? Date.now
  const latest = new LatestEnvelope({
    trust: trustPolicy(options.mesh, [options.signingKey, ...options.trust ?? []]),
    store: memoryEnvelopeStore(),
    log,
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    countOffer: offerCounter(metrics)
  })
  const rollout = new Rollout(options.timing?.missingAfterMs ?? MISSING_AFTER_INTERVALS * ANNOUNCE_INTERVAL_MS)
  const mesh = await createMeshNode({
    latest,
    swarmKey: options.swarmKey,
    listen: options.listen,
    bootstrap: options.bootstrap ?? [],
    privateKey: await peerKeyFromSigningKey(options.signingKey),
    onAnnouncement: announcement => { rollout.heard(announcement, now()) },
    metrics,
    makeDeltas: true,
    ...(options.connectionGater !== undefined ? { connectionGater: options.connectionGater } : {}),
    ...(options.timing !== undefined ? { timing: options.timing } : {}),
    log
  })
  const beacons = new HeadAnnouncer({ latest, mesh }, {
    signingKey: options.signingKey,
    log,
    now,
    ...(options.timing?.beaconIntervalMs !== undefined ? { intervalMs: options.timing.beaconIntervalMs } : {})
  })
  const publisher = new ConfigPublisher({ latest, announce: async () => await beacons.announce() }, { signingKey: options.signingKey, now })
  const validate = createFragmentValidator(loadTraefikSchema())
  const reporters = [logReporter(log), ...options.reporters ?? []]

  let lastGood: ReadonlyMap<string, JsonObject> = new Map()
  let recoverFromMesh = true
  let fragments: FragmentReport[] = []
  let skipped: SkippedObject[] = []
  let pending: SkippedObject[] = []
  let published = false
  let leading = false
  let lastError: string | null = null

  async function reconcile (): Promise<void> {
    try {
      const snapshot = await source.snapshot()
      const previous = latest.current()
      // Parsed only when needed (recovery, or a build with no routers): a large config takes a while.
      const previousConfig = (): JsonObject | undefined =>
        previous === undefined ? undefined : JSON.parse(new TextDecoder().decode(previous.body)) as JsonObject
      const recoverable = recoverFromMesh ? previousConfig() : undefined
      if (recoverable !== undefined) lastGood = recoverLastGood(snapshot.fragments, lastGood, recoverable, validate)
      const desired = buildDesiredConfig(snapshot.fragments, lastGood, validate)
      report(desired.fragments, snapshot.pending)
      lastGood = desired.lastGood
      recoverFromMesh = false
      fragments = desired.fragments
      skipped = snapshot.skipped
      pending = snapshot.pending
      pendingGauge.set(pending.length)
      fragmentGauge.reset()
      for (const fragment of fragments) fragmentGauge.inc({ status: fragment.status })

      const had = options.allowEmpty !== true && countRouters(desired.config) === 0 ? countRouters(previousConfig() ?? {}) : 0
      if (had > 0) {
        refusals.inc()
        lastError = `not publishing a config with no routers in place of one with ${had} (pass --allow-empty to allow it)`
        log.warn({ routers: had }, lastError)
        return
      }
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

  function report (next: FragmentReport[], nextPending: SkippedObject[]): void {
    const before = new Map(fragments.map(fragment => [fragment.source, fragment]))
    for (const fragment of next) {
      const old = before.get(fragment.source)
      if (old?.status === fragment.status && old.reason === fragment.reason) continue
      if (fragment.status === 'accepted' && old === undefined) continue
      for (const reporter of reporters) reporter.fragmentChanged(fragment, old)
    }
    const wasPending = new Set(pending.map(item => item.source))
    for (const item of nextPending) {
      if (!wasPending.has(item.source)) for (const reporter of reporters) reporter.routePending(item)
    }
  }

  const reconciler = new Reconciler({ reconcile, log })
  source.onChange(() => { reconciler.markDirty() })
  // A newer envelope learned from the mesh (an earlier run, another replica) may need
  // superseding; our own need not be rebuilt (that would re-read and re-validate everything).
  latest.onAccepted((_envelope, origin) => { if (origin !== OWN_ORIGIN) reconciler.markDirty() })

  // Leadership changes run one at a time, in order.
  let transition: Promise<void> = Promise.resolve()
  const setLeading = (leader: boolean): void => {
    transition = transition.then(async () => {
      if (leader === leading) return
      leading = leader
      leaderGauge.set(leader ? 1 : 0)
      if (leader) await lead()
      else await follow()
    }).catch((err: unknown) => { log.error({ err: (err as Error).message }, 'leadership change failed') })
  }

  /**
   * Joins the mesh and becomes reachable (the pod label routes edges here),
   * learns the newest version there (a bounded wait), then publishes.
   */
  async function lead (): Promise<void> {
    recoverFromMesh = true
    await mesh.start()
    await options.onLeadershipChange?.(true)
    const deadline = Date.now() + (options.timing?.learnTimeoutMs ?? LEARN_TIMEOUT_MS)
    while (mesh.peers().length === 0 && Date.now() < deadline && leading) await new Promise(resolve => setTimeout(resolve, 100))
    await mesh.syncWithPeers()
    reconciler.start()
    beacons.start()
  }

  async function follow (): Promise<void> {
    beacons.stop()
    await reconciler.stop()
    await options.onLeadershipChange?.(false)
    await mesh.stop()
    published = false
  }

  let admin: FastifyInstance | undefined
  let adminUrl: string | undefined

  function status (): PublisherStatus {
    const head = latest.current()?.head
    return {
      mesh: options.mesh,
      peerId: mesh.peerId,
      keyId: options.signingKey.keyId,
      leader: leading,
      version: head?.version ?? null,
      configSha256: head?.bodySha256 ?? null,
      issuedAt: head?.issuedAt ?? null,
      fragments,
      skipped,
      pending,
      peers: leading ? mesh.peers() : [],
      edges: rollout.view(head?.version ?? null, now()),
      lastError
    }
  }

  function notReadyReason (): string | undefined {
    if (!source.synced()) return lastError ?? 'fragment source not synced yet'
    if (leading && !published) return lastError ?? 'no config published yet'
    return undefined
  }

  return {
    mesh,
    latest,
    adminUrl: () => adminUrl,
    status,
    async start () {
      await source.start()
      if (options.admin !== undefined) {
        admin = await buildAdminServer({
          registry: metrics.registry,
          status,
          notReadyReason,
          ...(options.admin.token !== undefined ? { token: options.admin.token } : {}),
          ...(options.admin.tls !== undefined ? { tls: options.admin.tls } : {})
        })
        adminUrl = await admin.listen({ host: options.admin.host, port: options.admin.port })
        log.info({ url: adminUrl }, 'admin endpoint listening')
      }
      if (options.leadership === undefined) {
        setLeading(true)
        await transition
        return
      }
      options.leadership.onStartedLeading(() => { setLeading(true) })
      options.leadership.onStoppedLeading(() => { setLeading(false) })
      options.leadership.start()
    },
    async stop () {
      await options.leadership?.stop()
      setLeading(false)
      await transition
      await admin?.close()
      await source.stop()
    }
  }
}

/** Logs each fragment whose status or reason changed, once, and each route that became pending. */
function logReporter (log: Logger): FragmentReporter {
  return {
    fragmentChanged (report) {
      if (report.status === 'accepted') {
        log.info({ fragment: report.source }, 'fragment accepted again')
      } else {
        log.warn({ fragment: report.source, status: report.status, problem: report.problem, reason: report.reason },
          report.status === 'kept-last-good' ? 'fragment broken; keeping its last good content' : 'fragment left out')
      }
    },
    routePending (pending) {
      log.info({ service: pending.source, reason: pending.reason }, 'route pending')
    }
  }
}
