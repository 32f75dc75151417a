import type { RPC } from '@libp2p/gossipsub/message'
import { createTopicScoreParams, type PeerScoreParams } from '@libp2p/gossipsub/score'
import { createHash } from 'node:crypto'

/**
 * Gossipsub scoring for this mesh. The defaults are tuned for busy public
 * networks; here the topics are quiet (a config every few minutes, a beacon
 * every few seconds) and membership is closed (the swarm key). Per topic:
 */
export function meshScoreParams (topics: string[]): Partial<PeerScoreParams> {
  return {
    // Strangers cannot join at all, so there are no Sybils to spot by shared IP;
    // edges behind one NAT, or sharing an overlay address, must not be cut off.
    IPColocationFactorWeight: 0,
    topics: Object.fromEntries(topics.map(topic => [topic, createTopicScoreParams({
      topicWeight: 1,
      // P1 and P2 reward time in the mesh and first deliveries. The defaults
      // (a point per millisecond in the mesh) reach thousands and would drown
      // any penalty before the overall cap of +10 applies, so they are kept
      // to a few points: at most +3 for five minutes in the mesh, +2 for deliveries.
      timeInMeshQuantum: 1000,
      timeInMeshCap: 300,
      timeInMeshWeight: 0.01,
      firstMessageDeliveriesCap: 20,
      firstMessageDeliveriesWeight: 0.1,
      // P3 and P3b expect a steady delivery rate from mesh peers; on a quiet
      // topic they would score down every honest peer.
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      // P4: one rejected message (bad signature, untrusted key, another mesh,
      // garbage) outweighs everything positive and takes the sender below the
      // graylist threshold (-80) for about half a minute; repeats add up
      // quadratically. Honest peers validate before forwarding, so they never
      // relay a message that would be rejected.
      invalidMessageDeliveriesWeight: -150,
      invalidMessageDeliveriesDecay: 0.99
    })]))
  }
}

/**
 * A local id for every copy of a message, so that a copy already seen is
 * dropped before its signature is checked: without one, gossipsub verifies
 * the signature of every copy (each message comes from several mesh peers)
 * and only then finds it a duplicate. A hash of the signer, the sequence
 * number, the topic and the data, each with its length; a forgery under
 * another message's id fails verification and is never remembered, so it
 * cannot shadow the real one.
 */
export function fastMessageId (message: RPC.Message): string {
  const hash = createHash('sha256')
  for (const part of [message.from, message.seqno, Buffer.from(message.topic), message.data]) {
    const bytes = part ?? EMPTY
    LENGTH.writeUInt32BE(bytes.byteLength)
    hash.update(LENGTH).update(bytes)
  }
  return hash.digest('base64')
}

const EMPTY = new Uint8Array(0)
const LENGTH = Buffer.alloc(4)
