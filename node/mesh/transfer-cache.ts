import { compressBody } from '../body-codec.js'
import { configDelta } from '../config-delta.js'
import { DELTA_HISTORY, MAX_DELTA_BODY_BYTES } from '../constants.js'
import type { Envelope } from '../envelope.js'
import type { CarriedTransfer, SyncReply } from '../sync-messages.js'

export interface Transfer {
  readonly reply: Exclude<SyncReply, { form: 'none' }>
  readonly payload: Uint8Array
}

/**
 * What a node sends when asked for its config: the compressed body, or a
 * compressed delta against the asker's version when that is at most half its size.
 *
 * Compressing and diffing a large config costs tens of milliseconds, so each
 * is done once in the whole mesh: what a node received is what it relays (the
 * compressed body as it came, or the delta as it came), and only a node that
 * makes deltas (the publisher) diffs, once per version and base. Only the
 * newest version is ever sent, so everything held for older ones is dropped
 * when it changes.
 */
export class TransferCache {
  private current: Envelope | undefined
  private history: Envelope[] = []
  private full: Promise<Uint8Array> | undefined
  private readonly deltas = new Map<number, Promise<Uint8Array | undefined>>()
  private received: { version: number, transfer: Transfer } | undefined

  /** `makeDeltas`: diff against the few versions held before; otherwise only relay deltas received. */
  constructor (private readonly makeDeltas: boolean) {}

  /** Keeps the bytes an envelope arrived as, to relay them once it becomes current. */
  receivedAs (version: number, transfer: Transfer): void {
    this.received = { version, transfer }
  }

  /** Called with each envelope that becomes current. */
  advance (envelope: Envelope): void {
    if (this.makeDeltas && this.current !== undefined && this.current.body.byteLength <= MAX_DELTA_BODY_BYTES) {
      this.history = [...this.history, this.current].slice(-DELTA_HISTORY)
    }
    this.current = envelope
    this.full = undefined
    this.deltas.clear()
    const received = this.received?.version === envelope.head.version ? this.received.transfer : undefined
    this.received = undefined
    if (received?.reply.form === 'full') this.full = Promise.resolve(received.payload)
    if (received?.reply.form === 'delta') this.deltas.set(received.reply.base, Promise.resolve(received.payload))
  }

  /** How to send the current envelope to a peer that holds `base` (undefined: it wants no delta). */
  async transfer (base: number | undefined): Promise<Transfer | undefined> {
    const current = this.current
    if (current === undefined) return undefined
    this.full ??= compressBody(current.body)
    const [fullBytes, deltaBytes] = await Promise.all([this.full, base === undefined ? undefined : this.delta(current, base)])
    // A whole body can be relayed to any peer, a delta only to those holding its base: a delta only when it saves half.
    return deltaBytes !== undefined && base !== undefined && deltaBytes.byteLength <= fullBytes.byteLength / 2
      ? { reply: { form: 'delta', base }, payload: deltaBytes }
      : { reply: { form: 'full' }, payload: fullBytes }
  }

  /** What a beacon carries of the current envelope: as sent to a peer holding the version before it (most do), if at most `maxBytes`. */
  async carried (maxBytes: number): Promise<CarriedTransfer | undefined> {
    const current = this.current
    const transfer = await this.transfer(this.history.at(-1)?.head.version)
    if (current === undefined || current !== this.current || transfer === undefined || transfer.payload.byteLength > maxBytes) return undefined
    return { ...transfer, headBytes: current.headBytes }
  }

  private async delta (current: Envelope, base: number): Promise<Uint8Array | undefined> {
    let made = this.deltas.get(base)
    const from = this.history.find(envelope => envelope.head.version === base)
    if (made === undefined && from !== undefined && current.body.byteLength <= MAX_DELTA_BODY_BYTES) {
      made = (async () => await compressBody(configDelta(from.body, current.body)))().catch(() => undefined)
      this.deltas.set(base, made)
    }
    return await made
  }
}
