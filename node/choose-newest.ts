import { RollbackError, SameVersionError } from './errors.js'

/** Refuses a version that is not strictly higher than the highest accepted. */
export function assertNewer (version: number, highestAccepted: number): void {
  if (version === highestAccepted) {
    throw new SameVersionError(`version ${version} is already accepted`)
  }
  if (version < highestAccepted) {
    throw new RollbackError(`version ${version} is older than accepted version ${highestAccepted}`)
  }
}

/**
 * The next version a publisher issues: above everything seen in the mesh, and
 * at least the wall clock in milliseconds, so a publisher that restarts with no
 * memory still goes forward; if the clock is behind, the mesh's memory wins.
 */
export function nextVersion (highestKnown: number, nowMs: number): number {
  return Math.max(highestKnown + 1, Math.floor(nowMs))
}
