import type { GossipSub } from '@libp2p/gossipsub'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { serviceDependencies, type Startable } from '@libp2p/interface'
import type { Verdict } from '../latest-envelope.js'
import type { TopicHandler } from './topic-handler.js'

export interface GossipTopicsInit {
  handlers: TopicHandler[]
}

export interface GossipTopicsComponents {
  pubsub: GossipSub
}

const VALIDATOR_RESULT: Record<Verdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject
}

/**
 * Joins the mesh's gossip topics, each with its handler as gossipsub's
 * validator: what a handler does not accept is neither delivered nor
 * forwarded, and a rejection scores its sender down.
 */
class GossipTopics implements Startable {
  readonly [Symbol.toStringTag] = 'dime-gossip-topics'
  readonly [serviceDependencies] = ['@libp2p/pubsub']

  constructor (private readonly components: GossipTopicsComponents, private readonly init: GossipTopicsInit) {}

  start (): void {
    for (const handler of this.init.handlers) {
      this.components.pubsub.topicValidators.set(handler.topic, async (via, message) => VALIDATOR_RESULT[
        await handler.validate(message.data, message.type === 'signed' ? message.from.toString() : undefined, via.toString())])
    }
  }

  /** Gossipsub refuses subscriptions until it has started itself. */
  afterStart (): void {
    for (const handler of this.init.handlers) this.components.pubsub.subscribe(handler.topic)
  }

  beforeStop (): void {
    for (const handler of this.init.handlers) this.components.pubsub.unsubscribe(handler.topic)
  }

  stop (): void {
    for (const handler of this.init.handlers) this.components.pubsub.topicValidators.delete(handler.topic)
  }
}

export function gossipTopics (init: GossipTopicsInit): (components: GossipTopicsComponents) => Startable {
  return (components) => new GossipTopics(components, init)
}
