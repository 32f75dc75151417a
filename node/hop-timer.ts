import type { Logger } from './logger.js'

/** The stages of one version's hop through a node, in order. */
export type HopStage =
  | 'beacon-received' | 'beacon-verified' | 'pull-started' | 'head-checked'
  | 'body-received' | 'body-verified' | 'beacon-forwarded' | 'served'

/** Versions followed at once: a burst of beacons must not grow this without bound. */
const MAX_TRACKED = 16

/**
 * Times each stage of a version's hop (beacon heard, verified, body pulled
 * or carried, checked, beacon forwarded, body persisted and served): a debug line per stage
 * with the milliseconds since the previous stage and since the beacon came.
 * Stages of a version whose beacon this node never heard (a pull started by
 * anti-entropy, a restore) are timed from their first stage.
 */
export class HopTimer {
  private readonly hops = new Map<number, { start: number, last: number }>()

  constructor (private readonly log: Logger, private readonly now: () => number = () => performance.now()) {}

  mark (version: number, stage: HopStage, at = this.now()): void {
    let hop = this.hops.get(version)
    if (hop === undefined) {
      hop = { start: at, last: at }
      this.hops.set(version, hop)
      if (this.hops.size > MAX_TRACKED) this.hops.delete(this.hops.keys().next().value as number)
    }
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ version, stage, stageMs: round(at - hop.last), sinceBeaconMs: round(at - hop.start) }, 'hop stage')
    }
    hop.last = at
  }
}

function round (ms: number): number {
  return Math.round(ms * 100) / 100
}
