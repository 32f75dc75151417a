import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { FastifyInstance } from 'fastify'
import { Gauge } from 'prom-client'
import { ANNOUNCE_INTERVAL_MS, MISSING_AFTER_INTERVALS } from '../node/constants.js'
import { memoryEnvelopeStore, type EnvelopeStore } from '../node/envelope-store.js'
import { trustPolicy } from '../node/envelope.js'
import { DISK_ORIGIN, LatestEnvelope } from '../node/latest-envelope.js'
import type { Logger } from '../node/logger.js'
import { peerKeyFromSigningKey } from '../node/mesh/identity.js'
import { createMeshNode, type MeshNode, type MeshTiming } from '../node/mesh/mesh-node.js'
import { createMeshMetrics, offerCounter, type MeshMetrics } from '../node/metrics.js'
import type { SigningKey, TrustedKey } from '../node/signing-keys.js'
import { buildAdminServer } from './admin-server.js'
import type { ServerTls } from '../node/http/doors.js'
import { ConfigPublisher, OWN_ORIGIN } from './config-publisher.js'
import { createFragmentValidator } from './fragment-schema.js'
import { HeadAnnouncer } from './head-announcer.js'
import { leadershipTransitions, NotLeadingError } from './leadership-transitions.js'
import { LEAD_RETRY_MAX_MS, LEAD_RETRY_MIN_MS } from './constants.js'
import { backoffDelay } from '../node/backoff.js'
import { PublisherController, type FragmentReporter } from './publisher-controller.js'
import { publisherState, type HeldFragment, type Pin } from './publisher-state.js'
import type { JsonObject } from './json.js'
import { notReadyReason, publisherStatus, type PublisherStatus, type PublisherStatusParts } from './publisher-status.js'
import { logReporter } from './log-reporter.js'
import { Reconciler } from './reconciler.js'
import { EDGE_STATES, Fleet } from './fleet.js'
import type { RouteStatusView, RouteStatusWriter } from './route-status.js'
import { VersionHistory } from './version-history.js'
import type { FragmentSource } from './sources/fragment-source.js'
import { loadTraefikSchema } from './traefik-schema.js'
import { RolloutTrack } from '../node/rollout-track.js'
import { BEACON_INTERVAL_MS, PUBLISHER_MAX_CONNECTIONS, rolloutTopic } from '../node/constants.js'
import { Rollouts, type RolloutReporter, type RolloutStatus, type SavedRollout } from './rollouts.js'
import type { RolloutPolicySource } from './rollout-policy.js'

/** Versions whose fragments' contents are remembered (a rollout and the version it replaces are among the last few). */
const CONTENTS_KEPT = 8

/** Several replicas: only the holder of the lease publishes. */
export interface Leadership {
  onStartedLeading(listener: () => void): void
  onStoppedLeading(listener: () => void): void
  start(): void
  stop(): Promise<void>
  /** Gives leadership up at once and stays out of the race for `pauseMs` (this replica won but could not publish). */
  stepDown(pauseMs: number): Promise<void>
}

export interface PublisherOptions {
  mesh: string
  source: FragmentSource
  signingKey: SigningKey
  /** Earlier keys whose envelopes still count when learning the mesh's highest version (during a rotation). */
  trust?: TrustedKey[] | undefined
  swarmKey: Uint8Array
  listen: string[]
  bootstrap?: Multiaddr[] | undefined
  admin?: { host: string, port: number, token?: string | undefined, tls?: ServerTls | undefined } | undefined
  log: Logger
  reporters?: FragmentReporter[] | undefined
  /** Told of every rollout that ends (the Kubernetes wiring records Events on the changed objects and the Pod). */
  rolloutReporters?: RolloutReporter[] | undefined
  /**
   * Where the newest config is kept across restarts and leader changes (a file,
   * a ConfigMap). Without it, a publisher that restarts with a broken fragment
   * waits for an edge to tell it the newest config before it publishes.
   */
  stateStore?: EnvelopeStore | undefined
  leadership?: Leadership | undefined
  /** Writes where routes are served back to their objects while leading (the Kubernetes wiring: Ingress status). */
  routeStatus?: RouteStatusWriter | undefined
  /** Called once the mesh is up after winning leadership, and before it stops after losing it (the Kubernetes wiring labels the pod). */
  onLeadershipChange?: ((leading: boolean) => Promise<void>) | undefined
  /** Largest config to sign (`--max-config-mib`); 64 MiB when absent. */
  maxBodyBytes?: number | undefined
  /** Mesh connections kept (`--max-connections`); PUBLISHER_MAX_CONNECTIONS when absent. */
  maxConnections?: number | undefined
  /** Publish a config with no routers even when the published one has some. */
  allowEmpty?: boolean | undefined
  /** Where the rollout policy is kept (`--rollout FILE`, a ConfigMap): new versions go out wave by wave under it; all at once when absent. */
  rolloutPolicy?: RolloutPolicySource | undefined
  now?: (() => number) | undefined
  /** `reportGraceMs`: how long an edge of a wave has to report before its silence fails the wave (missingAfterMs when absent). */
  timing?: MeshTiming & { beaconIntervalMs?: number | undefined, missingAfterMs?: number | undefined, reportGraceMs?: number | undefined } | undefined
  connectionGater?: ConnectionGater | undefined
  /** Metrics to add to (the Kubernetes parts register theirs on it first); a new set when absent. */
  metrics?: MeshMetrics | undefined
}

export interface Publisher {
  readonly mesh: MeshNode
  /** The newest released envelope known: accepted (and announced) the moment this publisher signs one. */
  readonly latest: LatestEnvelope
  /** Versions in rollout and the rollout heads this publisher signed. */
  readonly rolloutTrack: RolloutTrack
  /** The admin endpoint's base URL once listening. */
  adminUrl(): string | undefined
  status(): PublisherStatus
  /** Holds the mesh at a version this publisher published (its history holds the config), until `unpin`. Only the leader pins. */
  pin(version: number): Promise<Pin>
  /** Lifts the pin; false when there was none. */
  unpin(): Promise<boolean>
  /** Reaches the next wave of the rollout in progress now, or every edge (`all`). Only the leader promotes. */
  promote(all: boolean): Promise<RolloutStatus>
  /** Rolls the rollout in progress back now. Only the leader aborts. */
  abort(): Promise<RolloutStatus>
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Wires the publisher: source → reconciler (parse, validate, merge) → signer
 * → mesh, plus beacons, the fleet's reports, reporting and the admin endpoint.
 * With leadership, only the leader runs the mesh and publishes; the others
 * keep their caches warm. Only this file knows all the parts.
 */
export async function createPublisher (options: PublisherOptions): Promise<Publisher> {
  const { log, source } = options
  const metrics = options.metrics ?? createMeshMetrics()
  const leaderGauge = new Gauge({ name: 'dime_publisher_leader', help: '1 while this replica publishes', registers: [metrics.registry] })

  const now = options.now ?? Date.now
  // The state keeps each fragment's last good content beside the envelope; the controller that knows it is made below.
  let lastGoodContent = (): ReadonlyMap<string, JsonObject> => new Map()
  let pinned = (): Pin | undefined => undefined
  let rollout = (): SavedRollout | undefined => undefined
  let held = (): ReadonlyMap<string, HeldFragment> => new Map()
  const state = options.stateStore === undefined ? undefined : publisherState(options.stateStore, { lastGood: () => lastGoodContent(), pin: () => pinned(), rollout: () => rollout(), held: () => held() })
  const latest = new LatestEnvelope({
    trust: trustPolicy(options.mesh, [options.signingKey, ...options.trust ?? []]),
    store: state ?? memoryEnvelopeStore(),
    log,
    maxBodyBytes: options.maxBodyBytes,
    countOffer: offerCounter(metrics)
  })
  const missingAfterMs = options.timing?.missingAfterMs ?? MISSING_AFTER_INTERVALS * ANNOUNCE_INTERVAL_MS
  const fleet = new Fleet(missingAfterMs)
  new Gauge({
    name: 'dime_publisher_edges',
    help: 'Edges heard from, by state: up-to-date (serving the newest version), behind, stale (no news from a publisher for --stale-after), missing (silent here)',
    labelNames: ['state'] as const,
    registers: [metrics.registry],
    collect () {
      const edges = fleet.view(latest.current()?.head.version ?? null, now())
      for (const state of EDGE_STATES) this.set({ state }, edges.filter(edge => edge.state === state).length)
    }
  })
  const track = new RolloutTrack({ trust: latest.trustPolicy(), candidateStore: memoryEnvelopeStore(), headStore: memoryEnvelopeStore(), log, maxBodyBytes: options.maxBodyBytes })
  const mesh = await createMeshNode({
    latest,
    rollouts: track,
    swarmKey: options.swarmKey,
    listen: options.listen,
    bootstrap: options.bootstrap ?? [],
    privateKey: await peerKeyFromSigningKey(options.signingKey),
    onAnnouncement: announcement => {
      fleet.heard(announcement, now())
      options.routeStatus?.poke()
    },
    metrics,
    makeDeltas: true,
    maxConnections: options.maxConnections ?? PUBLISHER_MAX_CONNECTIONS,
    forwardReports: false,
    connectionGater: options.connectionGater,
    timing: options.timing,
    log
  })
  const beacons = new HeadAnnouncer({ latest, mesh }, {
    signingKey: options.signingKey,
    log,
    now,
    intervalMs: options.timing?.beaconIntervalMs
  })
  const history = new VersionHistory()
  // What each fragment held in the versions signed lately: a failed rollout holds back the fragments it changed.
  const contentsOf = new Map<number, ReadonlyMap<string, JsonObject>>()
  let resigning: ReadonlyMap<string, JsonObject> | undefined
  const rollouts = new Rollouts({
    track,
    edges: () => fleet.view(null, now()),
    publishHead: async bytes => await mesh.publish(rolloutTopic(options.mesh), bytes),
    carried: async () => await mesh.carriedCandidate(),
    release: async envelope => { await signer.release(envelope) },
    rollBack: async () => {
      const released = latest.current()
      if (released === undefined) {
        log.warn('no released config to go back to: the edges that took the failed version keep it')
      } else {
        resigning = contentsOf.get(released.head.version) ?? new Map()
        try {
          await signer.resign(released.body)
        } finally {
          resigning = undefined
        }
      }
      // The next build finds the failed one held back, and says so.
      reconciler.markDirty()
    },
    persist: async () => { await state?.rewrite() },
    ended: rollout => {
      const changed = rollout.from === null ? [] : history.fragmentsChanged(rollout.from, rollout.version)
      const failed = contentsOf.get(rollout.version)
      const before = rollout.from === null ? undefined : contentsOf.get(rollout.from)
      if (rollout.state === 'rolled-back' && failed !== undefined && before !== undefined) void controller.holdBack(failed, before)
      for (const reporter of options.rolloutReporters ?? []) reporter.rolloutEnded(rollout, changed)
    }
  }, { signingKey: options.signingKey, log, registry: metrics.registry, now, reportGraceMs: options.timing?.reportGraceMs ?? missingAfterMs, reannounceMs: options.timing?.beaconIntervalMs ?? BEACON_INTERVAL_MS })
  rollout = () => rollouts.saved()
  const policySource = options.rolloutPolicy
  if (policySource !== undefined) {
    rollouts.usePolicy(policySource.read())
    policySource.onChange(() => { rollouts.usePolicy(policySource.read()) })
  }
  const signer = new ConfigPublisher({ latest, waves: { candidates: track.candidates, rollouts }, announce: async () => await beacons.announce() }, {
    signingKey: options.signingKey,
    now,
    onSigned: envelope => {
      fleet.published(envelope.head.version, envelope.head.issuedAt)
      // A rollback re-signs the released config: its contents are that config's, not the failed build's.
      const contents = resigning ?? controller.lastGoodContent()
      history.record(envelope.head, envelope.body, contents)
      contentsOf.set(envelope.head.version, contents)
      if (contentsOf.size > CONTENTS_KEPT) contentsOf.delete(Math.min(...contentsOf.keys()))
    }
  })
  const controller = new PublisherController({ source, latest, signer, mesh, state }, {
    validate: createFragmentValidator(loadTraefikSchema()),
    log,
    registry: metrics.registry,
    reporters: [logReporter(log), ...options.reporters ?? []],
    allowEmpty: options.allowEmpty
  })
  lastGoodContent = () => controller.lastGoodContent()
  held = () => controller.heldFragments()
  pinned = () => controller.pinned()
  const reconciler = new Reconciler({
    reconcile: async () => {
      await controller.sync()
      options.routeStatus?.poke()
    },
    log
  })
  source.onChange(() => { reconciler.markDirty() })
  latest.onAccepted((_envelope, origin) => {
    // Our own envelopes need no rebuild; a newer one from the mesh (an earlier run,
    // another replica) may need superseding, and may be what a held build waits for.
    if (origin === OWN_ORIGIN || origin === DISK_ORIGIN) return
    controller.learnedFromMesh()
    reconciler.markDirty()
  })
  mesh.onPeerIdentified(() => { if (controller.waitingForMesh()) reconciler.markDirty() })

  const leadership = leadershipTransitions({
    async lead () {
      await controller.beginTerm()
      await mesh.start()
      const saved = await state?.loadRollout()
      if (saved !== undefined) await rollouts.resume(saved)
      await options.onLeadershipChange?.(true)
      reconciler.start()
      beacons.start()
      rollouts.start()
      options.routeStatus?.start(routeStatusView)
    },
    async follow () {
      await options.routeStatus?.stop()
      await rollouts.stop()
      beacons.stop()
      await reconciler.stop()
      await options.onLeadershipChange?.(false)
      await mesh.stop()
    },
    onChange: leading => { leaderGauge.set(leading ? 1 : 0) },
    onLeadFailed: (_err, failures) => {
      // Without election, start() reports the failure and the program exits.
      const pauseMs = backoffDelay(failures, LEAD_RETRY_MIN_MS, LEAD_RETRY_MAX_MS)
      void options.leadership?.stepDown(pauseMs)
    },
    log
  })

  let admin: FastifyInstance | undefined
  let adminUrl: string | undefined

  function routeStatusView (): RouteStatusView {
    const { fragments, pending } = controller.view()
    return { addresses: fleet.publicAddresses(now()), fragments, pending }
  }

  const statusParts: PublisherStatusParts = { mesh: options.mesh, keyId: options.signingKey.keyId, node: mesh, leadership, latest, controller, fleet, source, rollouts }
  const status = (): PublisherStatus => publisherStatus(statusParts, now())
  const notReady = (): string | undefined => notReadyReason(statusParts)

  const publisher: Publisher = {
    mesh,
    latest,
    rolloutTrack: track,
    adminUrl: () => adminUrl,
    status,
    async pin (version) {
      if (!leadership.leading()) throw new NotLeadingError('this replica does not lead: pin on the leader (dime status shows leader: true)')
      const pin = await controller.pinTo(version, history.heldBody(version))
      reconciler.markDirty()
      return pin
    },
    async unpin () {
      if (!leadership.leading()) throw new NotLeadingError('this replica does not lead: unpin on the leader (dime status shows leader: true)')
      const lifted = await controller.unpin()
      reconciler.markDirty()
      return lifted
    },
    async promote (all) {
      if (!leadership.leading()) throw new NotLeadingError('this replica does not lead: promote on the leader (dime status shows leader: true)')
      return await rollouts.promote(all)
    },
    async abort () {
      if (!leadership.leading()) throw new NotLeadingError('this replica does not lead: abort on the leader (dime status shows leader: true)')
      return await rollouts.abort()
    },
    async start () {
      await source.start()
      policySource?.start?.()
      if (options.admin !== undefined) {
        admin = await buildAdminServer({
          registry: metrics.registry,
          status,
          notReadyReason: notReady,
          history,
          pins: { pin: async version => await publisher.pin(version), unpin: async () => await publisher.unpin() },
          rollouts: { promote: async all => await publisher.promote(all), abort: async () => await publisher.abort() },
          token: options.admin.token,
          tls: options.admin.tls
        })
        adminUrl = await admin.listen({ host: options.admin.host, port: options.admin.port })
        log.info({ url: adminUrl }, 'admin endpoint listening')
      }
      if (options.leadership === undefined) {
        await leadership.set(true)
        const failure = leadership.failure()
        if (failure === undefined) return
        await publisher.stop()
        throw failure
      }
      options.leadership.onStartedLeading(() => { void leadership.set(true) })
      options.leadership.onStoppedLeading(() => { void leadership.set(false) })
      options.leadership.start()
    },
    async stop () {
      await options.leadership?.stop()
      await leadership.set(false)
      await latest.close()
      await admin?.close()
      policySource?.stop?.()
      await source.stop()
    }
  }
  return publisher
}
