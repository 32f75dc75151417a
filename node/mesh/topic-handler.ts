import type { Verdict } from '../latest-envelope.js'

/** A gossip topic this node joins: its validator decides delivery, forwarding and scoring. */
export interface TopicHandler {
  readonly topic: string
  /**
   * `from` is the authenticated author (gossipsub signs messages with peer
   * keys); `via` is the peer that forwarded it. The message is forwarded only
   * once this resolves to accept.
   */
  validate(data: Uint8Array, from: string | undefined, via: string): Verdict | Promise<Verdict>
}
