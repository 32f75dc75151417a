import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, IdentifyResult, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { noise } from '@libp2p/noise'
import { ping, type Ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { beaconTopic, candidateSyncProtocol, IDENTIFY_TIMEOUT_MS, JOIN_HEADROOM, rolloutTopic, STALE_AFTER_MS, TARGET_PEERS, TCP_CONNECT_TIMEOUT_MS } from '../constants.js'
import { Freshness } from '../freshness.js'
import { HopTimer } from '../hop-timer.js'
import { DISK_ORIGIN, type LatestEnvelope } from '../latest-envelope.js'
import type { Logger } from '../logger.js'
import { MeshListenError } from '../errors.js'
import type { MeshMetrics } from '../metrics.js'
import './bounded-pnet-cipher.js'
import { allowListGater } from './admission.js'
import { beaconHandler } from './beacon-handler.js'
import { connectionCap, type ConnectionCap } from './connection-cap.js'
import { envelopeSync, type EnvelopeSync, type SyncResult } from './envelope-sync.js'
import { gossipLinks } from './gossip-links.js'
import { gossipTopics } from './gossip-topics.js'
import { fastMessageId, meshScoreParams } from './gossip-tuning.js'
import { memoryPeerBookStore, PeerBook, type PeerBookStore } from './peer-book.js'
import { peerExchange, type PeerExchange, type PeerExchangeComponents } from './peer-exchange.js'
import { peerKeeper } from './peer-keeper.js'
import { reportRelay, type ReportRelay } from './report-relay.js'
import { rolloutSync, type RolloutSync } from './rollout-sync.js'
import { RolloutTrack } from '../rollout-track.js'
import { memoryEnvelopeStore } from '../envelope-store.js'
import { statusHandler } from './status-handler.js'
import { statusReports, type StatusReports } from './status-reports.js'
import type { TopicHandler } from './topic-handler.js'
import type { PeerAnnouncement } from '../peer-announcement.js'

export interface MeshTiming {
  syncIntervalMs?: number | undefined
  peerCheckIntervalMs?: number | undefined
  /** How long a connection over the cap is kept before it is closed. */
  joinGraceMs?: number | undefined
}

export interface MeshNodeInit {
  latest: LatestEnvelope
  /** The versions in rollout and their heads, relayed apart from the released ones; held in memory when absent. */
  rollouts?: RolloutTrack | undefined
  swarmKey: Uint8Array
  listen: string[]
  bootstrap?: Multiaddr[] | undefined
  /** A stable identity; a random one is made when absent. */
  privateKey?: PrivateKey | undefined
  /** Where learned peers are kept across restarts; in memory when absent. */
  peerBookStore?: PeerBookStore | undefined
  /** Only these peer ids may connect (`--allow-peer`); anyone with the swarm key when absent. */
  allowPeers?: ReadonlySet<string> | undefined
  /** Further admission rules (the simulations cut links with one). */
  connectionGater?: ConnectionGater | undefined
  topics?: TopicHandler[] | undefined
  /** Told of each beacon whose version this node serves (an edge reports staleness from it). */
  freshness?: Freshness | undefined
  /** Ask peers for deltas against the version held (on unless a benchmark compares). */
  deltas?: boolean | undefined
  /** Diff each new version against earlier ones (the publisher); other nodes relay the deltas they receive. */
  makeDeltas?: boolean | undefined
  /** The connections this node keeps (the publisher's fan-in, an edge's links); newcomers over it are let in briefly, then closed. */
  maxConnections: number
  /** Pass edges' relayed status on toward the publisher (edges); the publisher keeps what reaches it. */
  forwardReports: boolean
  /** Where the mesh's counters go; a throwaway registry when absent. */
  metrics?: MeshMetrics | undefined
  /** Called with every verified status announcement (peers' addresses are learned from them first). */
  onAnnouncement?: ((announcement: PeerAnnouncement) => void) | undefined
  timing?: MeshTiming | undefined
  log: Logger
}

export interface MeshNode {
  readonly peerId: string
  addresses(): string[]
  peers(): string[]
  /** How many peers this node knows where to dial (its peer book). */
  knownPeers(): number
  publish(topic: string, data: Uint8Array): Promise<number>
  /** The current envelope as the beacon announcing it carries it: undefined when too large to carry. */
  carried(): Promise<Uint8Array | undefined>
  /** The newest version in rollout held, as a rollout head carries it: undefined when too large to carry. */
  carriedCandidate(): Promise<Uint8Array | undefined>
  /** Sends a status announcement straight to those of these peers that are connected; resolves with how many got it. */
  report(peerIds: string[], announcement: Uint8Array): Promise<number>
  /** Signs a status announcement and sends it toward the publisher through the peer that delivers beacons first; resolves with whether it took it. */
  relayReport(announcement: Uint8Array): Promise<boolean>
  /** Remembers where a peer can be dialled (from its announcement). */
  learnPeer(peerId: string, addresses: string[]): void
  syncWith(peerId: string): Promise<SyncResult>
  /** One sync round with every connected peer; resolves with how many answered with a config or "nothing newer" (failures are ignored). */
  syncWithPeers(): Promise<number>
  /** Called whenever a peer has connected and identified itself. */
  onPeerIdentified(listener: (peerId: string) => void): () => void
  /** Closes every connection to a peer (it may come back, unless admission refuses it). */
  hangUp(peerId: string): Promise<void>
  /** The peer's gossipsub score: below -80 its messages are ignored. */
  score(peerId: string): number
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * libp2p reports every address it could not listen on in one message, each
 * with a stack trace: keep the address and the first line of its reason.
 */
function listenFailure (err: Error): Error {
  const reasons = [...err.message.matchAll(/^ {2}(\/\S+): (?:\w*Error: )?(.+)$/gm)].map(([, address, reason]) => `${address ?? ''}: ${reason ?? ''}`)
  return reasons.length === 0 ? err : new MeshListenError(`cannot listen on ${reasons.join('; ')}`, { cause: err })
}

function countConnections (libp2p: Libp2p, maxConnections: number, metrics: MeshMetrics | undefined): void {
  if (metrics === undefined) return
  metrics.connectionLimit.set(maxConnections)
  const count = (): void => { metrics.connections.set(libp2p.getConnections().length) }
  libp2p.addEventListener('connection:open', count)
  libp2p.addEventListener('connection:close', count)
}

// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
type Services = {
  pubsub: GossipSub
  sync: EnvelopeSync
  candidateSync: EnvelopeSync
  rollouts: RolloutSync
  ping: Ping
  reports: StatusReports
  relay: ReportRelay
  cap: ConnectionCap
  peers: PeerExchange
}

/**
 * A libp2p node of the mesh: TCP, admitted only with the swarm key (pnet)
 * and, optionally, an allow list; Noise, Yamux; gossipsub for signed head
 * beacons and status announcements; the sync protocol, over which bodies are
 * pulled (each goes through `LatestEnvelope.offer` before it is served); the
 * report protocol for edges' status after a change; a keeper that holds
 * connections to bootstrap and known peers.
 */
export async function createMeshNode (init: MeshNodeInit): Promise<MeshNode> {
  const log = init.log.child({ component: 'mesh' })
  const privateKey = init.privateKey ?? await generateKeyPair('Ed25519')
  const book = new PeerBook(peerIdFromPrivateKey(privateKey).toString(), init.peerBookStore ?? memoryPeerBookStore(), log)
  await book.load()
  const hops = new HopTimer(log)
  init.latest.onAccepted((envelope, origin) => { if (origin !== DISK_ORIGIN) hops.mark(envelope.head.version, 'served') })
  const status = statusHandler({
    mesh: init.latest.mesh,
    onAnnouncement: announcement => {
      book.learn(announcement.peerId, announcement.addresses)
      init.onAnnouncement?.(announcement)
    }
  })
  const topicNames = [beaconTopic(init.latest.mesh), rolloutTopic(init.latest.mesh), status.topic, ...(init.topics ?? []).map(handler => handler.topic)]
  const timing = init.timing ?? {}
  const rollouts = init.rollouts ?? new RolloutTrack({ trust: init.latest.trustPolicy(), candidateStore: memoryEnvelopeStore(), headStore: memoryEnvelopeStore(), log, maxBodyBytes: init.latest.maxBodyBytes })

  const atCapacity = new Set<string>()
  const libp2p: Libp2p<Services> = await createLibp2p({
    start: false,
    privateKey,
    addresses: { listen: init.listen },
    // net.connect's own timeout ends only the TCP connect (the transport passes these options through).
    transports: [tcp({ dialOpts: { timeout: TCP_CONNECT_TIMEOUT_MS } as TCPSocketOptions })],
    connectionProtector: preSharedKey({ psk: init.swarmKey }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: allowListGater(init.allowPeers, init.connectionGater),
    // libp2p accepts 5 new connections a second from one host (10 pending); a fleet of
    // edges restarting behind one NAT or overlay gateway would be turned away for
    // minutes. Strangers fail at the swarm key, before the costly Noise handshake,
    // so a higher bound is cheap.
    // Past maxConnections, libp2p refuses a newcomer at once; a few more are admitted so it can learn
    // other peers first, and the cap closes the newest over the limit after their grace period.
    connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 100, maxConnections: init.maxConnections + JOIN_HEADROOM },
    // libp2p's connection monitor pings every connection from both ends every 10 s;
    // told not to hang up on a slow overlay link, it only measured, for a third of
    // an idle edge's CPU. The peer keeper pings what needs it: bootstrap
    // connections, from the dialling end, hung up when they stop answering.
    connectionMonitor: { enabled: false },
    services: {
      identify: identify({ timeout: IDENTIFY_TIMEOUT_MS }),
      ping: ping(),
      pubsub: gossipsub({
        // The publisher may be alone for a while; publishing then is not an error.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        // IDONTWANT only for messages over gossipsub's default 512 bytes: beacons that
        // carry a body. Below that, sending it to every mesh peer costs as much as
        // the duplicates it spares (an idle beacon is about 450 bytes).
        scoreParams: meshScoreParams(topicNames),
        fastMsgIdFn: fastMessageId
      }),
      sync: envelopeSync({
        latest: init.latest,
        log,
        deltas: init.deltas,
        makeDeltas: init.makeDeltas,
        countTransfer: (form, bytes) => { init.metrics?.bodyBytes.inc({ form }, bytes) },
        hops,
        intervalMs: timing.syncIntervalMs
      }),
      candidateSync: envelopeSync({
        latest: rollouts.candidates,
        protocol: candidateSyncProtocol(init.latest.mesh),
        log: log.child({ track: 'rollout' }),
        deltas: init.deltas,
        makeDeltas: init.makeDeltas,
        countTransfer: (form, bytes) => { init.metrics?.bodyBytes.inc({ form }, bytes) },
        intervalMs: timing.syncIntervalMs
      }),
      rollouts: rolloutSync({ track: rollouts, log }),
      reports: statusReports({ mesh: init.latest.mesh, status, log }),
      relay: reportRelay({
        mesh: init.latest.mesh,
        status,
        privateKey,
        forward: init.forwardReports,
        log,
        countReport: (outcome, count = 1) => { init.metrics?.relayedReports.inc({ outcome }, count) },
        countSentBytes: bytes => { init.metrics?.relayedReportBytes.inc(bytes) }
      }),
      topics: (components) => gossipTopics({
        handlers: [
          beaconHandler({
            latest: init.latest,
            freshness: init.freshness ?? new Freshness(Date.now(), STALE_AFTER_MS),
            pull: async (version, via, carried) => { await components.sync.pull(version, peerIdFromString(via), carried) },
            onAccepted: via => { components.relay.upstreamIs(via) },
            countBeacon: outcome => { init.metrics?.beacons.inc({ outcome }) },
            hops
          }),
          components.rollouts.topic,
          status,
          ...(init.topics ?? [])
        ]
      })(components),
      gossipLinks: gossipLinks({ topic: beaconTopic(init.latest.mesh), log, checkIntervalMs: timing.peerCheckIntervalMs, countReset: () => { init.metrics?.gossipLinksReset.inc() } }),
      cap: connectionCap({ maxConnections: init.maxConnections, log, graceMs: timing.joinGraceMs, checkIntervalMs: timing.peerCheckIntervalMs, countShed: () => { init.metrics?.connectionsShed.inc() } }),
      peers: (components: PeerExchangeComponents & { cap: ConnectionCap }) => peerExchange({
        mesh: init.latest.mesh,
        book,
        log,
        full: () => components.cap.full(),
        atCapacity,
        countExchange: outcome => { init.metrics?.peerExchanges.inc({ outcome }) }
      })(components),
      keeper: peerKeeper({
        bootstrap: init.bootstrap ?? [],
        book,
        log,
        // A publisher capped below the target would dial peers only to close them again.
        targetPeers: Math.min(TARGET_PEERS, init.maxConnections),
        atCapacity,
        askForPeers: async () => await libp2p.services.peers.askAnyone(),
        countDial: (target, outcome) => { init.metrics?.dials.inc({ target, outcome }) },
        checkIntervalMs: timing.peerCheckIntervalMs
      })
    }
  })
  countConnections(libp2p, init.maxConnections, init.metrics)
  const publish = async (topic: string, data: Uint8Array): Promise<number> =>
    (await libp2p.services.pubsub.publish(topic, data)).recipients.length

  return {
    peerId: libp2p.peerId.toString(),
    addresses: () => libp2p.getMultiaddrs().map(String),
    peers: () => libp2p.getPeers().map(String),
    knownPeers: () => book.list().length,
    publish,
    carried: async () => await libp2p.services.sync.carried(),
    carriedCandidate: async () => await libp2p.services.candidateSync.carried(),
    report: async (peerIds, announcement) => await libp2p.services.reports.send(peerIds, announcement),
    relayReport: async (announcement) => await libp2p.services.relay.send(announcement),
    learnPeer: (peerId, addresses) => { book.learn(peerId, addresses) },
    syncWith: async (peerId) => await libp2p.services.sync.syncWith(peerIdFromString(peerId)),
    async syncWithPeers () {
      const answers = await Promise.allSettled(libp2p.getPeers().map(async peer => await libp2p.services.sync.syncWith(peer)))
      // A refused answer (a bad signature, another mesh) tells nothing of what the mesh holds.
      return answers.filter(answer => answer.status === 'fulfilled' && answer.value !== 'reject').length
    },
    onPeerIdentified (listener) {
      const onIdentify = (event: CustomEvent<IdentifyResult>): void => { listener(event.detail.peerId.toString()) }
      libp2p.addEventListener('peer:identify', onIdentify)
      return () => { libp2p.removeEventListener('peer:identify', onIdentify) }
    },
    hangUp: async (peerId) => { await libp2p.hangUp(peerIdFromString(peerId)) },
    // The class has getScore; the exported interface does not declare it.
    score: (peerId) => (libp2p.services.pubsub as unknown as { getScore: (id: string) => number }).getScore(peerId),
    async start () {
      try {
        await libp2p.start()
      } catch (err) {
        throw listenFailure(err as Error)
      }
      log.info({ peerId: libp2p.peerId.toString(), addresses: libp2p.getMultiaddrs().map(String) }, 'mesh node listening')
    },
    async stop () {
      await libp2p.stop()
      await book.flush()
    }
  }
}
