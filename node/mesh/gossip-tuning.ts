import { createTopicScoreParams, type PeerScoreParams } from '@libp2p/gossipsub/score'

/**
 * Gossipsub scoring for this mesh. The defaults are tuned for busy public
 * networks; here the topics are quiet (a config every few minutes) and
 * membership is closed (the swarm key), so:
 */
export function meshScoreParams (topics: string[]): Partial<PeerScoreParams> {
  return {
    // Strangers cannot join at all, so there are no Sybils to spot by shared IP;
    // edges behind one NAT, or sharing an overlay address, must not be cut off.
    IPColocationFactorWeight: 0,
    topics: Object.fromEntries(topics.map(topic => [topic, createTopicScoreParams({
      topicWeight: 1,
      // P3/P3b expect a steady delivery rate from mesh peers; on a quiet topic
      // they would score down every honest peer.
      meshMessageDeliveriesWeight: 0,
      meshFailurePenaltyWeight: 0,
      // P4: one rejected message (bad signature, untrusted key, another mesh,
      // garbage) takes the sender below the graylist threshold (-80); it decays
      // back over a few tens of seconds, and repeats add up quadratically.
      invalidMessageDeliveriesWeight: -100,
      invalidMessageDeliveriesDecay: 0.99
    })]))
  }
}
