import { gossipsub, TopicValidatorResult, type GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { configTopic } from '../constants.js'
import type { Envelope } from '../envelope.js'
import type { LatestEnvelope, Verdict } from '../latest-envelope.js'
import type { Logger } from '../logger.js'
import { bootstrapDialer } from './bootstrap-dialer.js'
import { envelopeSync, type EnvelopeSync } from './envelope-sync.js'

export interface MeshNodeInit {
  latest: LatestEnvelope
  swarmKey: Uint8Array
  listen: string[]
  bootstrap?: Multiaddr[]
  /** A stable identity; a random one is made when absent. */
  privateKey?: PrivateKey
  log: Logger
  syncIntervalMs?: number
}

export interface MeshNode {
  readonly peerId: string
  addresses(): string[]
  peers(): string[]
  /** Sends an accepted envelope to the topic; resolves with how many peers it went to. */
  publish(envelope: Envelope): Promise<number>
  syncWithPeers(): Promise<void>
  start(): Promise<void>
  stop(): Promise<void>
}

const VALIDATOR_RESULT: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject
}

// A type alias, not an interface: libp2p's ServiceMap needs an index signature.
type Services = {
  pubsub: GossipSub
  sync: EnvelopeSync
}

/**
 * A libp2p node of the mesh: TCP, admitted only with the swarm key (pnet),
 * Noise, Yamux, gossipsub for pushing envelopes, and the sync protocol for
 * pulling what gossip missed. Every envelope from the network goes through
 * the same `LatestEnvelope.offer` as the gossipsub topic validator.
 */
export async function createMeshNode (init: MeshNodeInit): Promise<MeshNode> {
  const log = init.log.child({ component: 'mesh' })
  const topic = configTopic(init.latest.mesh)
  const libp2p: Libp2p<Services> = await createLibp2p({
    start: false,
    ...(init.privateKey !== undefined ? { privateKey: init.privateKey } : {}),
    addresses: { listen: init.listen },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: init.swarmKey }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // An overlay link can be slow for a while; a slow ping is no reason to drop a peer.
    connectionMonitor: { abortConnectionOnPingFailure: false },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        // The publisher may be alone for a while; publishing then is not an error.
        allowPublishToZeroTopicPeers: true,
        emitSelf: false
      }),
      sync: envelopeSync({ latest: init.latest, log, ...(init.syncIntervalMs !== undefined ? { intervalMs: init.syncIntervalMs } : {}) }),
      bootstrap: bootstrapDialer({ addresses: init.bootstrap ?? [], log })
    }
  })
  libp2p.services.pubsub.topicValidators.set(topic, (peer, message) =>
    VALIDATOR_RESULT[init.latest.offer(message.data, `gossip:${peer.toString()}`)])

  return {
    peerId: libp2p.peerId.toString(),
    addresses: () => libp2p.getMultiaddrs().map(addr => addr.toString()),
    peers: () => libp2p.getPeers().map(peer => peer.toString()),
    async publish (envelope) {
      const result = await libp2p.services.pubsub.publish(topic, envelope.bytes)
      log.info({ version: envelope.head.version, recipients: result.recipients.length }, 'published envelope')
      return result.recipients.length
    },
    async syncWithPeers () {
      await Promise.allSettled(libp2p.getPeers().map(async peer => await libp2p.services.sync.syncWith(peer)))
    },
    async start () {
      await libp2p.start()
      libp2p.services.pubsub.subscribe(topic)
      log.info({ peerId: libp2p.peerId.toString(), addresses: libp2p.getMultiaddrs().map(String) }, 'mesh node listening')
    },
    async stop () {
      await libp2p.stop()
    }
  }
}
