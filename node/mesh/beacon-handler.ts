import { beaconTopic } from '../constants.js'
import type { Freshness } from '../freshness.js'
import { openBeacon, type HeadBeacon } from '../head-beacon.js'
import { classifyError, type LatestEnvelope, type OfferOutcome } from '../latest-envelope.js'
import type { TopicHandler } from './mesh-node.js'

export interface BeaconHandlerInit {
  latest: LatestEnvelope
  freshness: Freshness
  /** A verified beacon names a version newer than ours: pull it from the peer that forwarded it. */
  onNewer: (via: string, beacon: HeadBeacon) => void
  countBeacon?: (outcome: OfferOutcome) => void
  now?: () => number
}

/**
 * Validates head beacons: forged or foreign ones are rejected (and the
 * sender penalised), replays ignored; a fresh one marks the node as having
 * heard from the publisher, and triggers a pull when it names a newer version.
 */
export function beaconHandler (init: BeaconHandlerInit): TopicHandler {
  const now = init.now ?? Date.now
  const count = init.countBeacon ?? (() => {})
  return {
    topic: beaconTopic(init.latest.mesh),
    validate (data, _from, via) {
      let beacon: HeadBeacon
      try {
        beacon = openBeacon(data, init.latest.trustPolicy())
      } catch (err) {
        const known = classifyError(err)
        if (known === undefined) throw err
        count(known.outcome)
        return known.verdict
      }
      if (!init.freshness.heardBeacon(beacon.announcedAt, now())) {
        count('same-version')
        return 'ignore'
      }
      count('accepted')
      if (beacon.version > init.latest.highestVersion()) init.onNewer(via, beacon)
      return 'accept'
    }
  }
}
