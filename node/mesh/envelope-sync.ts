import { serviceCapabilities, type ComponentLogger, type Connection, type Libp2pEvents, type PeerId, type Startable, type Stream, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { decompressBody } from '../body-codec.js'
import { applyConfigDelta } from '../config-delta.js'
import { ED25519_SIGNATURE_LENGTH, MAX_CARRIED_BYTES, MAX_HEAD_BYTES, MAX_SYNC_MESSAGE_BYTES, SYNC_INTERVAL_MS, SYNC_TIMEOUT_MS, syncProtocol } from '../constants.js'
import { sha256Hex, type Envelope, type EnvelopeHead } from '../envelope.js'
import type { LatestEnvelope, Verdict } from '../latest-envelope.js'
import type { HopTimer } from '../hop-timer.js'
import type { Logger } from '../logger.js'
import { decodeCarriedTransfer, decodeSyncReply, decodeSyncRequest, encodeCarriedTransfer, encodeSyncReply, encodeSyncRequest } from '../sync-messages.js'
import { TransferCache, type Transfer } from './transfer-cache.js'

/** A signed head: framing, head and signature. */
const MAX_SIGNED_HEAD_BYTES = 16 + MAX_HEAD_BYTES + ED25519_SIGNATURE_LENGTH
/** Brotli can grow incompressible bytes slightly; a delta may be larger than the body it replaces before it is refused. */
const PAYLOAD_SLACK_BYTES = 64 * 1024

export interface EnvelopeSyncInit {
  latest: LatestEnvelope
  /** The protocol it speaks: the released versions' sync protocol when absent (versions in rollout have their own). */
  protocol?: string | undefined
  log: Logger
  /** Ask for deltas against the version held (true unless a benchmark compares). */
  deltas?: boolean | undefined
  /** Make deltas against earlier versions (the publisher); other nodes relay the deltas they received. */
  makeDeltas?: boolean | undefined
  intervalMs?: number | undefined
  timeoutMs?: number | undefined
  /** Told of every body received: its form and its bytes on the wire. */
  countTransfer?: ((form: 'full' | 'delta', bytes: number) => void) | undefined
  /** Times the stages of each new version's hop. */
  hops?: HopTimer | undefined
}

export interface EnvelopeSyncComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export type SyncResult = Verdict | 'nothing-newer'

export interface EnvelopeSync {
  /** Asks one peer for an envelope newer than ours and offers it to the latest envelope. */
  syncWith(peer: PeerId, signal?: AbortSignal): Promise<SyncResult>
  /**
   * Fetches `version` (or newer), announced by `from`: from what its beacon
   * carried, then from `from`, then from other connected peers. Resolves once
   * it is verified (it is served once persisted, and handed to peers that ask
   * meanwhile then) or every try failed; however many announce it, one fetch
   * at a time serves them all.
   */
  pull(version: number, from: PeerId, carried?: Uint8Array): Promise<void>
  /** The current envelope as the beacon announcing it carries it: undefined when too large to carry. */
  carried(): Promise<Uint8Array | undefined>
}

/**
 * Request/response pull of the newest envelope. Gossip carries only heads, so
 * this is how bodies travel: after a head beacon, on every identified peer,
 * and, as anti-entropy, against one random connected peer every interval.
 *
 * A request is `{"have": v, "deltaBase"?: b}`. The answer is a reply header;
 * unless it is `none`, the signed head follows, then the body compressed, or
 * a compressed delta against `b` (node/config-delta.ts). The asker checks the head before it
 * reads the body, and the body against the signed hash before it is served;
 * a delta that fails is asked for again in full.
 */
class EnvelopeSyncService implements EnvelopeSync, Startable {
  readonly [Symbol.toStringTag] = 'dime-envelope-sync'
  readonly [serviceCapabilities] = ['dime/envelope-sync']
  private readonly protocol: string
  private readonly latest: LatestEnvelope
  private readonly log: Logger
  private readonly deltas: boolean
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private readonly countTransfer: (form: 'full' | 'delta', bytes: number) => void
  private readonly cache: TransferCache
  private readonly hops: HopTimer | undefined
  /** Bodies being fetched, by version: a second answer with the same head waits for the first. */
  private readonly fetching = new Map<number, Promise<unknown>>()
  private wanted = 0
  private sources: PeerId[] = []
  private pulling: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly components: EnvelopeSyncComponents, init: EnvelopeSyncInit) {
    this.latest = init.latest
    this.protocol = init.protocol ?? syncProtocol(init.latest.mesh)
    this.log = init.log.child({ component: 'sync' })
    this.deltas = init.deltas ?? true
    this.intervalMs = init.intervalMs ?? SYNC_INTERVAL_MS
    this.timeoutMs = init.timeoutMs ?? SYNC_TIMEOUT_MS
    this.countTransfer = init.countTransfer ?? (() => {})
    this.cache = new TransferCache(init.makeDeltas ?? false)
    this.hops = init.hops
    // The cache holds what is served now (restored before this node was made, perhaps) and each envelope after it.
    const current = this.latest.current()
    if (current !== undefined) this.cache.advance(current)
    this.latest.onAccepted(envelope => { this.cache.advance(envelope) })
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, async (stream, connection) => { await this.answer(stream, connection) })
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { this.syncWithRandomPeer() }, this.intervalMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    await this.components.registrar.unhandle(this.protocol)
  }

  async pull (version: number, from: PeerId, carried?: Uint8Array): Promise<void> {
    if (this.latest.highestVersion() >= version) return
    if (carried !== undefined) await this.landCarried(version, carried, from)
    if (this.latest.highestVersion() >= version) return
    if (version > this.wanted) {
      this.wanted = version
      this.sources = [from]
    } else if (version === this.wanted && !this.sources.some(peer => peer.equals(from))) {
      this.sources.push(from)
    }
    this.pulling ??= this.pullWanted().finally(() => { this.pulling = undefined })
    await this.pulling
  }

  async syncWith (peer: PeerId, signal = AbortSignal.timeout(this.timeoutMs)): Promise<SyncResult> {
    return await this.exchange(peer, this.deltas, signal)
  }

  async carried (): Promise<Uint8Array | undefined> {
    const carried = await this.cache.carried(MAX_CARRIED_BYTES)
    return carried === undefined ? undefined : encodeCarriedTransfer(carried)
  }

  /** The announcers first, then each other connected peer once, until the wanted version is verified. */
  private async pullWanted (): Promise<void> {
    const tried = new Set<string>()
    while (this.latest.highestVersion() < this.wanted) {
      const peer = this.sources.shift() ?? this.components.connectionManager.getConnections()
        .map(connection => connection.remotePeer).find(candidate => !tried.has(candidate.toString()))
      if (peer === undefined) return
      tried.add(peer.toString())
      try {
        await this.syncWith(peer)
      } catch (err) {
        this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'pull failed')
      }
    }
  }

  private async exchange (peer: PeerId, deltas: boolean, signal: AbortSignal): Promise<SyncResult> {
    const stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
    const origin = `sync:${peer.toString()}`
    try {
      const framed = lpStream(stream, { maxDataLength: this.latest.maxBodyBytes + PAYLOAD_SLACK_BYTES })
      const base = this.latest.current()
      const have = Math.max(this.latest.highestVersion(), ...this.fetching.keys())
      await framed.write(encodeSyncRequest({ have, ...(deltas && base !== undefined ? { deltaBase: base.head.version } : {}) }), { signal })
      const reply = decodeSyncReply(await readAtMost(framed, MAX_SYNC_MESSAGE_BYTES, 'sync reply', signal))
      if (reply.form === 'none') {
        await stream.close({ signal })
        return 'nothing-newer'
      }
      const headBytes = await readAtMost(framed, MAX_SIGNED_HEAD_BYTES, 'signed head', signal)
      const { verdict, head } = this.latest.offerHead(headBytes, origin)
      if (head === undefined) {
        stream.abort(new Error(`head refused (${verdict})`))
        return verdict
      }
      this.hops?.mark(head.version, 'head-checked')
      const already = this.fetching.get(head.version)
      if (already !== undefined) {
        stream.abort(new Error('already fetching this version'))
        await already
        return this.latest.highestVersion() >= head.version ? 'accept' : 'ignore'
      }
      let offered: Verdict | undefined
      try {
        offered = await this.fetch(head.version, async () => await this.land(reply, (await framed.read({ signal })).subarray(), head, headBytes, base, origin))
      } catch (err) {
        // A body that does not inflate, or inflates past its signed size, is an offence like a bad signature.
        stream.abort(err as Error)
        return this.latest.refuse(err, origin)
      }
      await stream.close({ signal })
      return offered ?? await this.exchange(peer, false, signal)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** Lands one body of a version at a time: whoever brings the same version meanwhile waits for this one. */
  private async fetch (version: number, land: () => Promise<Verdict | undefined>): Promise<Verdict | undefined> {
    const landing = land()
    this.fetching.set(version, landing.catch(() => {}))
    try {
      return await landing
    } finally {
      this.fetching.delete(version)
    }
  }

  /** Lands what a beacon of `version` carried; anything amiss leaves the version to be pulled. */
  private async landCarried (version: number, carried: Uint8Array, from: PeerId): Promise<void> {
    const origin = `beacon:${from.toString()}`
    let transfer
    try {
      transfer = decodeCarriedTransfer(carried)
    } catch (err) {
      this.log.debug({ version, err: (err as Error).message }, 'carried body unreadable; pulling it')
      return
    }
    const { reply, headBytes, payload } = transfer
    const base = this.latest.current()
    // A delta against another version than the one held: the whole body is pulled.
    if (reply.form === 'delta' && reply.base !== base?.head.version) return
    const { head } = this.latest.offerHead(headBytes, origin)
    if (head?.version !== version) return
    const already = this.fetching.get(version)
    if (already !== undefined) {
      await already
      return
    }
    try {
      await this.fetch(version, async () => await this.land(reply, payload, head, headBytes, base, origin))
    } catch (err) {
      this.latest.refuse(err, origin)
    }
  }

  /**
   * Keeps the bytes a body came as (to relay them) and offers the envelope.
   * Undefined when a delta did not give the signed body (ask again in full).
   */
  private async land (reply: Transfer['reply'], payload: Uint8Array, head: EnvelopeHead, headBytes: Uint8Array, base: Envelope | undefined, origin: string): Promise<Verdict | undefined> {
    this.countTransfer(reply.form, payload.byteLength)
    const body = await this.bodyOf(reply, payload, head, base)
    if (body === undefined) return undefined
    this.hops?.mark(head.version, 'body-received')
    this.cache.receivedAs(head.version, { reply, payload })
    const offered = this.latest.offerFetched(headBytes, body, origin)
    if (offered === 'accept') this.hops?.mark(head.version, 'body-verified')
    return offered
  }

  /** The body a payload gives, or undefined when a delta did not give the signed body (ask again in full). */
  private async bodyOf (reply: Transfer['reply'], payload: Uint8Array, head: EnvelopeHead, base: Envelope | undefined): Promise<Uint8Array | undefined> {
    if (reply.form === 'full') return await decompressBody(payload, head.bodySize, head.bodySize)
    try {
      if (base?.head.version !== reply.base) throw new Error(`delta against ${reply.base}, but version ${base?.head.version ?? 'none'} is held`)
      // A delta holds the target's text, at most twice over once JSON escapes its quotes, and ranges of the base: bounded by both.
      const deltaBound = Math.min(this.latest.maxBodyBytes, base.body.byteLength + 2 * head.bodySize + PAYLOAD_SLACK_BYTES)
      const body = applyConfigDelta(base.body, await decompressBody(payload, deltaBound), head.bodySize)
      if (body.byteLength !== head.bodySize || sha256Hex(body) !== head.bodySha256) throw new Error('delta result does not match the signed hash')
      return body
    } catch (err) {
      this.log.info({ version: head.version, base: reply.base, err: (err as Error).message }, 'delta refused; fetching the whole body')
      return undefined
    }
  }

  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (event.detail.protocols.includes(this.protocol)) {
      this.syncQuietly(event.detail.peerId)
    }
  }

  private syncWithRandomPeer (): void {
    const connections = this.components.connectionManager.getConnections()
    const connection = connections[Math.floor(Math.random() * connections.length)]
    if (connection !== undefined) this.syncQuietly(connection.remotePeer)
  }

  private syncQuietly (peer: PeerId): void {
    this.syncWith(peer).then(
      result => { this.log.debug({ peer: peer.toString(), result }, 'synced') },
      err => { this.log.debug({ peer: peer.toString(), err: (err as Error).message }, 'sync failed') }
    )
  }

  private async answer (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.timeout(this.timeoutMs)
    try {
      const framed = lpStream(stream, { maxDataLength: MAX_SYNC_MESSAGE_BYTES })
      const request = decodeSyncRequest((await framed.read({ signal })).subarray())
      // A beacon may be forwarded before its version is persisted (a large body is written asynchronously): whoever heard it here gets it once it is.
      if (this.latest.highestVersion() > request.have) await this.latest.settled()
      const current = this.latest.current()
      const transfer = current !== undefined && current.head.version > request.have ? await this.cache.transfer(request.deltaBase) : undefined
      if (current === undefined || transfer === undefined) {
        await framed.write(encodeSyncReply({ form: 'none' }), { signal })
      } else {
        await framed.writeV([encodeSyncReply(transfer.reply), current.headBytes, transfer.payload], { signal })
      }
      await stream.close({ signal })
    } catch (err) {
      this.log.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'sync request dropped')
      stream.abort(err as Error)
    }
  }
}

/** One frame of a stream whose frames may be as large as a body, when this one must be small. */
async function readAtMost (framed: LengthPrefixedStream<Stream>, maxBytes: number, what: string, signal: AbortSignal): Promise<Uint8Array> {
  const bytes = (await framed.read({ signal })).subarray()
  if (bytes.byteLength > maxBytes) throw new Error(`${what} of ${bytes.byteLength} bytes (at most ${maxBytes})`)
  return bytes
}

export function envelopeSync (init: EnvelopeSyncInit): (components: EnvelopeSyncComponents) => EnvelopeSync {
  return (components) => new EnvelopeSyncService(components, init)
}
