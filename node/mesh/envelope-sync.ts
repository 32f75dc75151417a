import { serviceCapabilities, type ComponentLogger, type Connection, type Libp2pEvents, type PeerId, type Startable, type Stream, type TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { lpStream } from '@libp2p/utils'
import {
  ED25519_SIGNATURE_LENGTH, MAX_BODY_BYTES, MAX_HEAD_BYTES, MAX_SYNC_REQUEST_BYTES, SYNC_INTERVAL_MS, SYNC_TIMEOUT_MS, syncProtocol
} from '../constants.js'
import type { LatestEnvelope, Verdict } from '../latest-envelope.js'
import type { Logger } from '../logger.js'
import { decodeSyncRequest, encodeSyncRequest } from '../sync-request.js'

/** Room for the largest envelope: framing, head, signature and body. */
const MAX_ENVELOPE_BYTES = 16 + MAX_HEAD_BYTES + ED25519_SIGNATURE_LENGTH + MAX_BODY_BYTES

export interface EnvelopeSyncInit {
  latest: LatestEnvelope
  log: Logger
  intervalMs?: number
  timeoutMs?: number
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
}

/**
 * Request/response pull of the newest envelope, because gossip never re-delivers
 * what was published while a node was away. A request is `{"have": version}`;
 * the answer is the responder's envelope when it is newer, or zero bytes.
 * Runs on every identified peer and, as anti-entropy, against one random
 * connected peer every interval.
 */
class EnvelopeSyncService implements EnvelopeSync, Startable {
  readonly [Symbol.toStringTag] = 'dime-envelope-sync'
  readonly [serviceCapabilities] = ['dime/envelope-sync']
  private readonly protocol: string
  private readonly latest: LatestEnvelope
  private readonly log: Logger
  private readonly intervalMs: number
  private readonly timeoutMs: number
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly components: EnvelopeSyncComponents, init: EnvelopeSyncInit) {
    this.latest = init.latest
    this.protocol = syncProtocol(init.latest.mesh)
    this.log = init.log.child({ component: 'sync' })
    this.intervalMs = init.intervalMs ?? SYNC_INTERVAL_MS
    this.timeoutMs = init.timeoutMs ?? SYNC_TIMEOUT_MS
    this.onIdentify = this.onIdentify.bind(this)
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

  async syncWith (peer: PeerId, signal = AbortSignal.timeout(this.timeoutMs)): Promise<SyncResult> {
    const stream = await this.components.connectionManager.openStream(peer, this.protocol, { signal })
    try {
      const framed = lpStream(stream, { maxDataLength: MAX_ENVELOPE_BYTES })
      await framed.write(encodeSyncRequest(this.latest.current()?.head.version ?? 0), { signal })
      const reply = await framed.read({ signal })
      await stream.close({ signal })
      if (reply.byteLength === 0) return 'nothing-newer'
      return this.latest.offer(reply.subarray(), `sync:${peer.toString()}`)
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  private onIdentify (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void {
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
      const framed = lpStream(stream, { maxDataLength: MAX_SYNC_REQUEST_BYTES })
      const have = decodeSyncRequest((await framed.read({ signal })).subarray())
      const current = this.latest.current()
      await framed.write(current !== undefined && current.head.version > have ? current.bytes : new Uint8Array(0), { signal })
      await stream.close({ signal })
    } catch (err) {
      this.log.debug({ peer: connection.remotePeer.toString(), err: (err as Error).message }, 'sync request dropped')
      stream.abort(err as Error)
    }
  }
}

export function envelopeSync (init: EnvelopeSyncInit): (components: EnvelopeSyncComponents) => EnvelopeSync {
  return (components) => new EnvelopeSyncService(components, init)
}
