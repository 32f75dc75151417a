import type { Fragment, SkippedObject } from '../fragment-files.js'

/** Everything a source holds at one moment, read in one go. */
export interface SourceSnapshot {
  fragments: Fragment[]
  /** Objects deliberately not turned into fragments (another kind, no label), with why. */
  skipped: SkippedObject[]
  /** Objects that will become fragments once something happens (a Service waiting for its address). */
  pending: SkippedObject[]
}

/** Where fragments come from: a directory of files, or the Kubernetes API. */
export interface FragmentSource {
  /**
   * The whole current view. Throws when there is no complete view to give
   * (a directory that cannot be read, caches not yet synced): a partial view
   * is never returned, so it is never published.
   */
  snapshot(): Promise<SourceSnapshot>
  /** Called whenever something may have changed; the caller takes a new snapshot. */
  onChange(listener: () => void): void
  /** Whether the source holds a whole view yet (a snapshot would not throw for want of one). */
  synced(): boolean
  start(): Promise<void>
  stop(): Promise<void>
}
