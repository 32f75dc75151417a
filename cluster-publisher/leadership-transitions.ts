import type { Logger } from '../node/logger.js'

/** What only the leader does (pin, unpin) was asked of a replica that does not lead. */
export class NotLeadingError extends Error {
  override readonly name: string = 'NotLeadingError'
}

/** This replica won leadership but could not become the publisher (its mesh did not start, …); `cause` says why. */
export class LeadFailedError extends Error {
  override readonly name: string = 'LeadFailedError'
  constructor (cause: unknown) {
    super(`could not become the publisher: ${(cause as Error).message}`, { cause })
  }
}

export interface LeadershipTransitionsInit {
  /** Becomes the publisher: runs when leadership is won (or at start, with no election). */
  lead: () => Promise<void>
  /** Stops publishing: runs when leadership is lost, at stop, and to undo a `lead` that failed halfway. */
  follow: () => Promise<void>
  /** Told once a change has taken effect: after `lead` succeeded, or as `follow` begins. */
  onChange?: ((leading: boolean) => void) | undefined
  /**
   * A win whose `lead` failed, already undone: this replica must not hold
   * leadership while publishing nothing (release the Lease, or exit).
   * `failures` counts the failed wins in a row.
   */
  onLeadFailed: (err: LeadFailedError, failures: number) => void
  log: Logger
}

export interface LeadershipTransitions {
  /** True only once `lead` has succeeded, until the next loss. */
  leading(): boolean
  /** Why the last win failed, until a win succeeds. */
  failure(): LeadFailedError | undefined
  /** Queues a change; resolves once it (and every change queued before it) has run. */
  set(leading: boolean): Promise<void>
}

/**
 * Leadership changes one at a time and in order: a loss that arrives while
 * the win is still starting the mesh waits for it, then undoes it. A change
 * to the state already held does nothing. Leading is claimed only once the
 * work that earns it succeeded; a failed win is undone and handed back.
 */
export function leadershipTransitions (init: LeadershipTransitionsInit): LeadershipTransitions {
  let leading = false
  let failure: LeadFailedError | undefined
  let failures = 0
  let queue: Promise<void> = Promise.resolve()

  async function win (): Promise<void> {
    try {
      await init.lead()
    } catch (err) {
      failures++
      failure = new LeadFailedError(err)
      init.log.error({ err: failure.message, failures }, 'could not become the publisher; stepping down')
      await init.follow().catch((undoErr: unknown) => { init.log.warn({ err: (undoErr as Error).message }, 'undoing a failed start failed') })
      init.onLeadFailed(failure, failures)
      return
    }
    leading = true
    failure = undefined
    failures = 0
    init.onChange?.(true)
  }

  async function lose (): Promise<void> {
    leading = false
    init.onChange?.(false)
    await init.follow().catch((err: unknown) => { init.log.error({ err: (err as Error).message }, 'stepping down did not finish cleanly') })
  }

  return {
    leading: () => leading,
    failure: () => failure,
    async set (leader) {
      queue = queue.then(async () => {
        if (leader !== leading) await (leader ? win() : lose())
      })
      await queue
    }
  }
}
