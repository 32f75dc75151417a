import type { FragmentFile } from '../fragment-files.js'

/** Where fragments come from: a directory now, the Kubernetes API later. */
export interface FragmentSource {
  /** Everything the source holds now. Throws when it cannot be read at all (nothing partial is returned). */
  snapshot(): Promise<FragmentFile[]>
  /** Called whenever something may have changed; the caller re-reads the whole snapshot. */
  onChange(listener: () => void): void
  start(): Promise<void>
  stop(): Promise<void>
}
