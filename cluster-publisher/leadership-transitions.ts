import type { Logger } from '../node/logger.js'

/** What only the leader does (pin, unpin) was asked of a replica that does not lead. */
export class NotLeadingError extends Error {
  override readonly name: string = 'NotLeadingError'
}

export interface LeadershipTransitionsInit {
  /** Becomes the publisher: runs when leadership is won (or at start, with no election). */
  lead: () => Promise<void>
  /** Stops publishing: runs when leadership is lost, and at stop. */
  follow: () => Promise<void>
  onChange?: (leading: boolean) => void
  log: Logger
}

export interface LeadershipTransitions {
  leading(): boolean
  /** Queues a change; resolves once it (and every change queued before it) has run. */
  set(leading: boolean): Promise<void>
}

/**
 * Leadership changes one at a time and in order: a loss that arrives while
 * the win is still starting the mesh waits for it, then undoes it. A change
 * to the state already held does nothing.
 */
export function leadershipTransitions (init: LeadershipTransitionsInit): LeadershipTransitions {
  let leading = false
  let queue: Promise<void> = Promise.resolve()
  return {
    leading: () => leading,
    async set (leader) {
      queue = queue.then(async () => {
        if (leader === leading) return
        leading = leader
        init.onChange?.(leader)
        await (leader ? init.lead() : init.follow())
      }).catch((err: unknown) => { init.log.error({ err: (err as Error).message }, 'leadership change failed') })
      await queue
    }
  }
}
