import type { EnvelopeStore } from '../node/envelope-store.js'
import type { JsonObject } from './json.js'

/** First bytes of the publisher's state: the envelope, then what each fragment contributed to it. */
const MAGIC = new TextEncoder().encode('DIMS')
const HEADER_BYTES = MAGIC.byteLength + 4

/** The publisher's durable state: the newest envelope, and each fragment's last good content as it went into it. */
export interface PublisherState extends EnvelopeStore {
  /** Each fragment's last good content as saved with the stored envelope; undefined when none was saved (older state, or unreadable). */
  loadLastGood(): Promise<Record<string, JsonObject> | undefined>
}

/**
 * Keeps, beside each envelope the publisher stores, what every fragment
 * contributed to the config it last built: after a restart a broken fragment
 * gets back exactly its own content, where the config alone could only say
 * what all the broken ones held together. One blob, so one atomic write.
 * Whoever loads it checks that the contents rebuild the envelope's body.
 */
export function publisherState (blobs: EnvelopeStore, lastGood: () => ReadonlyMap<string, JsonObject>): PublisherState {
  const split = async (): Promise<{ envelope: Uint8Array, rest?: Uint8Array } | undefined> => {
    const blob = await blobs.load()
    if (blob === undefined) return undefined
    if (blob.byteLength < HEADER_BYTES || !MAGIC.every((byte, i) => blob[i] === byte)) return { envelope: blob }
    const length = new DataView(blob.buffer, blob.byteOffset + MAGIC.byteLength, 4).getUint32(0)
    return { envelope: blob.subarray(HEADER_BYTES, HEADER_BYTES + length), rest: blob.subarray(HEADER_BYTES + length) }
  }
  return {
    async load () {
      return (await split())?.envelope
    },
    async save (envelope) {
      const memory = new TextEncoder().encode(JSON.stringify(Object.fromEntries(lastGood())))
      const blob = new Uint8Array(HEADER_BYTES + envelope.byteLength + memory.byteLength)
      blob.set(MAGIC)
      new DataView(blob.buffer).setUint32(MAGIC.byteLength, envelope.byteLength)
      blob.set(envelope, HEADER_BYTES)
      blob.set(memory, HEADER_BYTES + envelope.byteLength)
      await blobs.save(blob)
    },
    async loadLastGood () {
      const rest = (await split())?.rest
      if (rest === undefined) return undefined
      try {
        return JSON.parse(new TextDecoder().decode(rest)) as Record<string, JsonObject>
      } catch {
        return undefined
      }
    }
  }
}
