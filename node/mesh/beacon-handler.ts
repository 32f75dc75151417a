import { beaconTopic } from '../constants.js'
import type { Freshness } from '../freshness.js'
import { openBeacon, type HeadBeacon } from '../head-beacon.js'
import type { HopTimer } from '../hop-timer.js'
import { classifyError, type LatestEnvelope } from '../latest-envelope.js'
import type { TopicHandler } from './topic-handler.js'

/** Every way a beacon can end, as counted in metrics. */
export type BeaconOutcome = 'accepted' | 'replayed' | 'too-large' | 'not-fetched' | 'invalid' | 'untrusted-key' | 'wrong-mesh' | 'bad-signature'

export interface BeaconHandlerInit {
  latest: LatestEnvelope
  freshness: Freshness
  /** Told of the peer that delivered each accepted beacon first: the way toward the publisher. */
  onAccepted?: ((via: string) => void) | undefined
  /** Fetches the body of an announced version: from what the beacon carried, else from the peer that forwarded it first. */
  pull: (version: number, via: string, carried: Uint8Array | undefined) => Promise<void>
  countBeacon?: ((outcome: BeaconOutcome) => void) | undefined
  /** Times the stages of each new version's hop. */
  hops?: HopTimer | undefined
  now?: (() => number) | undefined
}

/**
 * Validates head beacons, the only thing gossip carries about configs.
 * Forged or foreign ones are rejected (and the sender penalised), replays
 * ignored. A beacon naming a newer version is held until its body is here
 * and verified, and only then forwarded: whoever hears it from this node can
 * fetch the body from this node. A small body is persisted and served by
 * then (one fdatasync: waiting for the event loop's next turn to write it
 * after the beacon had gone cost more, BENCHMARKS.md).
 */
export function beaconHandler (init: BeaconHandlerInit): TopicHandler {
  const now = init.now ?? Date.now
  const count = init.countBeacon ?? (() => {})
  const verified = (): number => init.latest.highestVersion()
  return {
    topic: beaconTopic(init.latest.mesh),
    async validate (data, _from, via) {
      const receivedAt = performance.now()
      let beacon: HeadBeacon
      let carried: Uint8Array | undefined
      try {
        ({ beacon, carried } = openBeacon(data, init.latest.trustPolicy()))
      } catch (err) {
        const known = classifyError(err)
        if (known === undefined) throw err
        count(known.outcome as BeaconOutcome)
        return known.verdict
      }
      if (init.freshness.isReplay(beacon.version, beacon.announcedAt)) {
        count('replayed')
        return 'ignore'
      }
      if (beacon.bodySize > init.latest.maxBodyBytes) {
        count('too-large')
        return 'ignore'
      }
      const fresh = beacon.version > verified()
      if (fresh) {
        init.hops?.mark(beacon.version, 'beacon-received', receivedAt)
        init.hops?.mark(beacon.version, 'beacon-verified')
        init.hops?.mark(beacon.version, 'pull-started')
        await init.pull(beacon.version, via, carried)
      }
      if (beacon.version > verified()) {
        count('not-fetched')
        return 'ignore'
      }
      init.freshness.heardBeacon(beacon.version, beacon.announcedAt, now())
      init.onAccepted?.(via)
      count('accepted')
      if (fresh) init.hops?.mark(beacon.version, 'beacon-forwarded')
      return 'accept'
    }
  }
}
