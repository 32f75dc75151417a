/** Where a node keeps its newest accepted envelope between restarts. */
export interface EnvelopeStore {
  /** The stored envelope's bytes, or undefined when nothing was stored yet. */
  load(): Promise<Uint8Array | undefined>
  /**
   * Replaces the stored envelope with `parts` one after another (a head and a
   * body fetched apart are never joined in memory); when it resolves, the
   * bytes survive a crash.
   */
  save(parts: readonly Uint8Array[]): Promise<void>
  /** Resolves once what was saved is also at rest where it finally goes (a store that finishes writing after `save`). */
  flush?(): Promise<void>
}

/** How many bytes `save` is given in `parts`. */
export function byteLengthOf (parts: readonly Uint8Array[]): number {
  return parts.reduce((sum, part) => sum + part.byteLength, 0)
}

export function memoryEnvelopeStore (): EnvelopeStore {
  let stored: Uint8Array | undefined
  return {
    async load () { return stored },
    async save (parts) { stored = new Uint8Array(Buffer.concat(parts)) }
  }
}
