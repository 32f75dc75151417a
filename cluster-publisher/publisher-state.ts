import { byteLengthOf, type EnvelopeStore } from '../node/envelope-store.js'
import type { JsonObject } from './json.js'
import type { SavedRollout } from './rollouts.js'

/** First bytes of the publisher's state: the envelope, then what each fragment contributed to it (and, since pins, the pin). */
const MAGIC = new TextEncoder().encode('DIMS')
const MAGIC_WITH_PIN = new TextEncoder().encode('DIMP')
const HEADER_BYTES = MAGIC.byteLength + 4

/** The mesh held at an earlier version (`dime pin`): its config is published, whatever the fragments say, until unpinned. */
export interface Pin {
  /** The version whose config is held. */
  version: number
  since: string
}

/** A fragment whose change failed its rollout: its content then (canonical JSON), and before (none: it was new). */
export interface HeldFragment {
  readonly bad: string
  readonly good?: JsonObject
}

/** A pin and its end as everything that reports them says them: the CLI, the log, the Kubernetes Events. */
export function describePin (pin: Pin): string {
  return `pinned to version ${pin.version} since ${pin.since}: its config is published, whatever the fragments say, until dime unpin`
}
export const UNPINNED = 'unpinned: the config is built from the fragments again'

/** The publisher's durable state: the newest envelope, each fragment's last good content as it went into it, the pin, and the rollout. */
export interface PublisherState extends EnvelopeStore {
  /** Each fragment's last good content as saved with the stored envelope; undefined when none was saved (older state, or unreadable). */
  loadLastGood(): Promise<Record<string, JsonObject> | undefined>
  loadPin(): Promise<Pin | undefined>
  /** The rollout in progress or last ended when the envelope was stored (or rewritten since). */
  loadRollout(): Promise<SavedRollout | undefined>
  /** The fragments held back after their change failed its rollout. */
  loadHeld(): Promise<Record<string, HeldFragment> | undefined>
  /** Writes the stored envelope again with what is remembered now (a pin set or lifted without a new version). */
  rewrite(): Promise<void>
}

/** A rollout's version in rollout travels as base64 in the JSON (a ConfigMap compresses the whole). */
type StoredRollout = Omit<SavedRollout, 'candidate'> & { candidate: string }
interface Remembered { lastGood?: Record<string, JsonObject>, pin?: Pin, rollout?: StoredRollout, held?: Record<string, HeldFragment> }

/**
 * Keeps, beside each envelope the publisher stores, what every fragment
 * contributed to the config it last built: after a restart a broken fragment
 * gets back exactly its own content, where the config alone could only say
 * what all the broken ones held together; and the pin, so a restart or a new
 * leader keeps it. One blob, so one atomic write. Whoever loads it checks
 * that the contents rebuild the envelope's body (unless pinned: then the body
 * is the pinned version's).
 */
export interface RememberedNow {
  lastGood: () => ReadonlyMap<string, JsonObject>
  pin?: (() => Pin | undefined) | undefined
  rollout?: (() => SavedRollout | undefined) | undefined
  held?: (() => ReadonlyMap<string, HeldFragment>) | undefined
}

export function publisherState (blobs: EnvelopeStore, now: RememberedNow): PublisherState {
  const split = async (): Promise<{ envelope: Uint8Array, remembered?: Remembered } | undefined> => {
    const blob = await blobs.load()
    if (blob === undefined) return undefined
    const withPin = MAGIC_WITH_PIN.every((byte, i) => blob[i] === byte)
    if (blob.byteLength < HEADER_BYTES || (!withPin && !MAGIC.every((byte, i) => blob[i] === byte))) return { envelope: blob }
    const length = new DataView(blob.buffer, blob.byteOffset + MAGIC.byteLength, 4).getUint32(0)
    const envelope = blob.subarray(HEADER_BYTES, HEADER_BYTES + length)
    try {
      const rest = JSON.parse(new TextDecoder().decode(blob.subarray(HEADER_BYTES + length))) as Record<string, JsonObject> & Remembered
      return { envelope, remembered: withPin ? rest : { lastGood: rest } }
    } catch {
      return { envelope }
    }
  }
  const save = async (envelope: readonly Uint8Array[]): Promise<void> => {
    const pinned = now.pin?.()
    const rollout = now.rollout?.()
    const held = now.held?.()
    const remembered: Remembered = {
      ...(held !== undefined && held.size > 0 ? { held: Object.fromEntries(held) } : {}),
      lastGood: Object.fromEntries(now.lastGood()),
      ...(pinned !== undefined ? { pin: pinned } : {}),
      ...(rollout !== undefined ? { rollout: { ...rollout, candidate: Buffer.from(rollout.candidate).toString('base64') } } : {})
    }
    const memory = new TextEncoder().encode(JSON.stringify(remembered))
    const header = new Uint8Array(HEADER_BYTES)
    header.set(MAGIC_WITH_PIN)
    new DataView(header.buffer).setUint32(MAGIC.byteLength, byteLengthOf(envelope))
    await blobs.save([header, ...envelope, memory])
  }
  return {
    async load () {
      return (await split())?.envelope
    },
    save,
    async loadLastGood () {
      return (await split())?.remembered?.lastGood
    },
    async loadPin () {
      return (await split())?.remembered?.pin
    },
    async loadHeld () {
      return (await split())?.remembered?.held
    },
    async loadRollout () {
      const stored = (await split())?.remembered?.rollout
      return stored === undefined ? undefined : { ...stored, candidate: Buffer.from(stored.candidate, 'base64') }
    },
    async rewrite () {
      const stored = await split()
      if (stored !== undefined) await save([stored.envelope])
    },
    async flush () {
      await blobs.flush?.()
    }
  }
}
