import { beaconTopic } from '../constants.js'
import type { Freshness } from '../freshness.js'
import { openBeacon, type HeadBeacon } from '../head-beacon.js'
import type { HopTimer } from '../hop-timer.js'
import { classifyError, type LatestEnvelope } from '../latest-envelope.js'
import type { TopicHandler } from './mesh-node.js'

/** Every way a beacon can end, as counted in metrics. */
export type BeaconOutcome = 'accepted' | 'replayed' | 'too-large' | 'not-fetched' | 'invalid' | 'untrusted-key' | 'wrong-mesh' | 'bad-signature'

export interface BeaconHandlerInit {
  latest: LatestEnvelope
  freshness: Freshness
  /** Fetches the body of an announced version, from the peer that forwarded the beacon first. */
  pull: (version: number, via: string) => Promise<void>
  countBeacon?: (outcome: BeaconOutcome) => void
  /** Times the stages of each new version's hop. */
  hops?: HopTimer
  now?: () => number
}

/**
 * Validates head beacons, the only thing gossip carries about configs.
 * Forged or foreign ones are rejected (and the sender penalised), replays
 * ignored. A beacon naming a newer version is held until its body is fetched
 * and served, and only then forwarded: whoever hears it from this node can
 * fetch the body from this node.
 */
export function beaconHandler (init: BeaconHandlerInit): TopicHandler {
  const now = init.now ?? Date.now
  const count = init.countBeacon ?? (() => {})
  const served = (): number => init.latest.current()?.head.version ?? 0
  return {
    topic: beaconTopic(init.latest.mesh),
    async validate (data, _from, via) {
      const receivedAt = performance.now()
      let beacon: HeadBeacon
      try {
        beacon = openBeacon(data, init.latest.trustPolicy())
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
      const fresh = beacon.version > served()
      if (fresh) {
        init.hops?.mark(beacon.version, 'beacon-received', receivedAt)
        init.hops?.mark(beacon.version, 'beacon-verified')
        init.hops?.mark(beacon.version, 'pull-started')
        await init.pull(beacon.version, via)
      }
      if (beacon.version > served()) {
        count('not-fetched')
        return 'ignore'
      }
      init.freshness.heardBeacon(beacon.version, beacon.announcedAt, now())
      count('accepted')
      if (fresh) init.hops?.mark(beacon.version, 'beacon-forwarded')
      return 'accept'
    }
  }
}
