import type { FastifyInstance } from 'fastify'
import type { Server } from 'node:http'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { STALE_AFTER_MS } from '../node/constants.js'
import { trustPolicy } from '../node/envelope.js'
import { Freshness } from '../node/freshness.js'
import { DISK_ORIGIN, LatestEnvelope } from '../node/latest-envelope.js'
import type { MeshNode } from '../node/mesh/mesh-node.js'
import type { EdgeMesh } from './edge-mesh.js'
import type { EdgeMetrics } from './edge-metrics.js'
import type { PeerAnnouncement } from '../node/peer-announcement.js'
import type { TrustedKey } from '../node/signing-keys.js'
import type { EdgeOptions } from './edge-options.js'
import { listenFirst } from './first-server.js'
import type { ConfigFetch } from './config-answer.js'
import { ServedState } from './served-state.js'
import { announcementOf, edgeStatus, type EdgeStatus } from './edge-status.js'
import { fileEnvelopeStore } from '../node/file-envelope-store.js'
import { EdgeRollouts } from './edge-rollouts.js'
import { ProxyErrors } from './proxy-errors.js'
import type { Envelope } from '../node/envelope.js'

export const ENVELOPE_FILE = 'envelope.bin'


export interface Edge {
  /** The edge's mesh node, made when it starts (reading it before throws). */
  readonly mesh: MeshNode
  /** The edge's peer id once it has joined the mesh. */
  peerId(): string | undefined
  /** The newest released version held: what it serves unless its wave has taken a version in rollout. */
  readonly latest: LatestEnvelope
  /** Called with each envelope it starts serving, released or in rollout (origin DISK_ORIGIN when restored at start). */
  onServing(listener: (envelope: Envelope, origin: string) => void): void
  /** The config endpoint's base URL once listening. */
  serveUrl(): string | undefined
  status(): EdgeStatus
  /** Replaces the trusted keys (SIGHUP); the served config stays served. */
  setTrust(keys: TrustedKey[]): void
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Wires an edge: the persisted envelope is verified and served first, before
 * the mesh is even loaded; then the mesh delivers newer ones through the same
 * checks, beacons tell it how fresh it is, and it announces what it serves.
 */
export async function createEdge (options: EdgeOptions): Promise<Edge> {
  const log = options.log
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const staleAfterMs = options.staleAfterMs ?? STALE_AFTER_MS
  const freshness = new Freshness(Date.now(), staleAfterMs)
  // Made once /config answers (start): restoring from disk counts no offers.
  let metrics: EdgeMetrics | undefined
  const latest = new LatestEnvelope({
    trust: trustPolicy(options.mesh, options.trust),
    store: fileEnvelopeStore(join(options.dataDir, ENVELOPE_FILE)),
    log,
    maxBodyBytes: options.maxBodyBytes,
    countOffer: outcome => { metrics?.envelopeOffers.inc({ outcome }) }
  })

  let mesh: EdgeMesh | undefined
  const served = new ServedState({ secretsKey: options.secretsKey, log })
  const proxyErrors = options.proxyMetrics === undefined ? undefined : new ProxyErrors({ url: options.proxyMetrics, log, intervalMs: options.timing?.proxyScrapeIntervalMs })
  const rollouts = new EdgeRollouts({
    dataDir: options.dataDir,
    trust: latest.trustPolicy(),
    log,
    maxBodyBytes: options.maxBodyBytes,
    countOffer: outcome => { metrics?.envelopeOffers.inc({ outcome }) },
    releasedVersion: () => latest.highestVersion(),
    servedBody: () => served.current()?.body,
    proxyErrors
  })
  rollouts.onHealth(() => { mesh?.announcer.poke() })
  const servingListeners: Array<(envelope: Envelope, origin: string) => void> = []
  let servingVersion = 0
  // At start, the released version and the one taken in a rollout are both restored: only the newer is served.
  let restoring: { newest?: Envelope } | undefined
  const serve = (envelope: Envelope, origin: string): void => {
    if (restoring !== undefined) {
      if (envelope.head.version > (restoring.newest?.head.version ?? 0)) restoring.newest = envelope
      return
    }
    // A version taken in its wave arrives again once released: it is served already.
    if (envelope.head.version <= servingVersion) return
    servingVersion = envelope.head.version
    for (const listener of servingListeners) listener(envelope, origin)
    void served.accepted(envelope, origin)
    if (origin !== DISK_ORIGIN) {
      freshness.heard(Date.now())
      // Across two clocks: a publisher's clock ahead of this one reads as no delay at all.
      metrics?.propagation.observe(Math.max(0, Date.now() - Date.parse(envelope.head.issuedAt)) / 1000)
    }
    log.info({ version: envelope.head.version, sha256: envelope.head.bodySha256, origin }, 'serving config')
    mesh?.announcer.poke()
  }
  latest.onAccepted(serve)
  rollouts.taken.onAccepted(serve)
  const fetched = (fetch: ConfigFetch): void => { if (served.fetched(fetch)) mesh?.announcer.poke() }
  const status = (): EdgeStatus => edgeStatus({ mesh: options.mesh, latest, served, rollouts, freshness, node: mesh?.node, publicAddress: options.publicAddress, name: options.name, labels: options.labels }, Date.now())
  const announcement = (): PeerAnnouncement => announcementOf(status(), Date.now())

  let server: FastifyInstance | undefined
  let listening: { server: Server, url: string } | undefined
  return {
    get mesh () {
      if (mesh === undefined) throw new TypeError('the edge joins the mesh when it starts')
      return mesh.node
    },
    peerId: () => mesh?.node.peerId,
    latest,
    onServing: listener => { servingListeners.push(listener) },
    serveUrl: () => listening?.url,
    status,
    setTrust (keys) {
      latest.setTrust(trustPolicy(options.mesh, keys))
      rollouts.setTrust(trustPolicy(options.mesh, keys))
      mesh?.admitTrusted(keys)
      log.info({ trustedKeyIds: latest.trustedKeyIds() }, 'trusted keys reloaded')
      if (latest.currentKeyTrusted() === false) log.warn({ keyId: latest.current()?.head.keyId }, 'the served config is signed by a key no longer trusted; serving it until a trusted one arrives')
    },
    async start () {
      restoring = {}
      await rollouts.restore()
      const notRestored = await latest.restore()
      const { newest } = restoring
      restoring = undefined
      if (newest !== undefined) serve(newest, DISK_ORIGIN)
      else log.warn({ reason: notRestored }, 'no persisted config to serve; answering 503 until one is verified')
      const doors = { token: options.token, tls: options.tls }
      listening = await listenFirst({ ...options.serve, current: () => served.current(), fetched, ...doors })
      log.info({ url: `${listening.url}/config` }, 'serving Traefik config')
      const { createEdgeMetrics } = await import('./edge-metrics.js')
      metrics = createEdgeMetrics({ latest, freshness, unopened: () => served.unopened().length })
      // Loaded only now, like the mesh below: fastify takes the server over once ready.
      const { buildEdgeServer } = await import('./edge-server.js')
      server = await buildEdgeServer({ registry: metrics.registry, current: () => served.current(), fetched, status, listening: listening.server, ...doors })
      await server.ready()
      // Loaded only now: /config answers before libp2p and gossipsub are even read from disk.
      const { edgeMesh } = await import('./edge-mesh.js')
      // The keys trusted now: a SIGHUP may have changed them since the edge was made.
      mesh = await edgeMesh({ latest, rollouts: rollouts.track, freshness, metrics, announcement }, { ...options, trust: [...latest.trustPolicy().keys.values()] })
      await mesh.node.start()
      rollouts.joined(mesh.node.peerId)
      proxyErrors?.start()
      mesh.announcer.start()
    },
    async stop () {
      proxyErrors?.stop()
      mesh?.announcer.stop()
      await mesh?.node.stop()
      await latest.close()
      await rollouts.close()
      await server?.close()
      await new Promise<void>(resolve => {
        if (listening === undefined) resolve()
        else listening.server.close(() => { resolve() })
      })
    }
  }
}
