import { compressBody } from '../body-codec.js'
import { configDelta } from '../config-delta.js'
import { DELTA_HISTORY, MAX_DELTA_BODY_BYTES } from '../constants.js'
import type { Envelope } from '../envelope.js'
import type { SyncReply } from '../sync-messages.js'

export interface Transfer {
  readonly reply: Exclude<SyncReply, { form: 'none' }>
  readonly payload: Uint8Array
}

/**
 * What a node sends when asked for its config: the compressed body, or a
 * compressed delta against the asker's version when that is smaller. Each is
 * made once per version (and base), however many peers ask. Only the newest
 * version is ever sent, so everything made for older ones is dropped when it
 * changes; a few earlier bodies are kept to make deltas against.
 */
export class TransferCache {
  private current: Envelope | undefined
  private history: Envelope[] = []
  private full: Promise<Uint8Array> | undefined
  private readonly deltas = new Map<number, Promise<Uint8Array | undefined>>()

  /** Called with each envelope that becomes current. */
  advance (envelope: Envelope): void {
    if (this.current !== undefined && this.current.body.byteLength <= MAX_DELTA_BODY_BYTES) {
      this.history = [...this.history, this.current].slice(-DELTA_HISTORY)
    }
    this.current = envelope
    this.full = undefined
    this.deltas.clear()
  }

  /** How to send the current envelope to a peer that holds `base` (undefined: it wants no delta). */
  async transfer (base: number | undefined): Promise<Transfer | undefined> {
    const current = this.current
    if (current === undefined) return undefined
    this.full ??= compressBody(current.body)
    const full = this.full
    const delta = base === undefined ? undefined : this.delta(current, base)
    const [fullBytes, deltaBytes] = await Promise.all([full, delta])
    return deltaBytes !== undefined && base !== undefined && deltaBytes.byteLength < fullBytes.byteLength
      ? { reply: { form: 'delta', base }, payload: deltaBytes }
      : { reply: { form: 'full' }, payload: fullBytes }
  }

  private async delta (current: Envelope, base: number): Promise<Uint8Array | undefined> {
    const from = this.history.find(envelope => envelope.head.version === base)
    if (from === undefined || current.body.byteLength > MAX_DELTA_BODY_BYTES) return undefined
    let made = this.deltas.get(base)
    if (made === undefined) {
      made = (async () => await compressBody(configDelta(from.body, current.body)))().catch(() => undefined)
      this.deltas.set(base, made)
    }
    return await made
  }
}
