import { serviceDependencies, type Connection, type PeerStore, type PrivateKey, type Startable, type Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { canonicalBytes } from '../canonical-json.js'
import { MAX_RELAYED_REPORTS, RELAY_COALESCE_MS, relayedReportsProtocol } from '../constants.js'
import type { Logger } from '../logger.js'
import { MAX_ANNOUNCEMENT_BYTES } from '../peer-announcement.js'
import { isObject, parseMeshJson } from '../signed-frame.js'
import type { TopicHandler } from './topic-handler.js'

/** What an edge signs its relayed status with (its libp2p key, which its peer id names), apart from every other use of that key. */
const REPORT_DOMAIN = new TextEncoder().encode('cdn-on-a-dime/relayed-report/v1\n')
/** A report is forwarded at most this many times: a bound if upstream pointers ever form a loop. */
const MAX_HOPS = 32
const MAX_FRAME_BYTES = Math.ceil(MAX_ANNOUNCEMENT_BYTES * 4 / 3) + 512
const STREAM_TIMEOUT_MS = 10_000

/** A relayed report that is not a signed announcement of its author. */
export class InvalidRelayedReportError extends Error {
  override readonly name: string = 'InvalidRelayedReportError'
}

export type RelayOutcome = 'sent' | 'received' | 'refused' | 'dropped'

export interface ReportRelayInit {
  mesh: string
  /** Checks each announcement as a gossiped one is checked (its author being the signer); 'accept' only for news. */
  status: TopicHandler
  privateKey: PrivateKey
  /** Edges pass what they accept on upstream; the publisher keeps it. */
  forward: boolean
  log: Logger
  countReport?: ((outcome: RelayOutcome, count?: number) => void) | undefined
  /** Told of the bytes of each batch sent upstream. */
  countSentBytes?: ((bytes: number) => void) | undefined
  coalesceMs?: number | undefined
}

export interface ReportRelayComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
  peerStore: PeerStore
}

export interface ReportRelay {
  /** The peer that delivered the newest beacon first: the way toward the publisher. */
  upstreamIs(peerId: string): void
  /** Signs this node's announcement and sends it upstream, with the reports waiting there; resolves with whether the upstream took them. */
  send(announcement: Uint8Array): Promise<boolean>
}

/** One relayed report: an announcement (base64), its author's signature, and how many times it was passed on (outside the signature). */
export interface Frame { announcement: string, signature: string, hops: number }

/**
 * Edges' status reaches the leader without a connection per edge: an edge
 * that is not connected to a publisher signs its announcement and sends it to
 * its upstream peer, the one that delivered it the newest beacon first (so a
 * peer on a short path from the publisher: beacons spread outward from it,
 * and "delivered first" never points back at a node that got the beacon
 * later). Each edge checks what it receives as the publisher would, keeps the
 * newest report of each author, and passes them on upstream together, about a
 * second later. Only the publisher verifies every edge's report; an edge
 * verifies those of the edges below it. A node of an earlier release does not
 * list the protocol and is never sent to: an edge whose upstream is one
 * gossips its status as before.
 */
class ReportRelayService implements ReportRelay, Startable {
  readonly [Symbol.toStringTag] = 'dime-report-relay'
  readonly [serviceDependencies] = ['@libp2p/identify']
  private readonly protocol: string
  private upstream: string | undefined
  private readonly waiting = new Map<string, Frame>()
  private timer: NodeJS.Timeout | undefined
  private readonly count: (outcome: RelayOutcome, count?: number) => void

  constructor (private readonly components: ReportRelayComponents, private readonly init: ReportRelayInit) {
    this.protocol = relayedReportsProtocol(init.mesh)
    this.count = init.countReport ?? (() => {})
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, async (stream, connection) => { await this.receive(stream, connection) })
  }

  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.components.registrar.unhandle(this.protocol)
  }

  upstreamIs (peerId: string): void {
    this.upstream = peerId
  }

  async send (announcement: Uint8Array): Promise<boolean> {
    this.hold(peerIdFromPrivateKey(this.init.privateKey).toString(), await signedReport(this.init.privateKey, announcement))
    return await this.flush()
  }

  private hold (author: string, frame: Frame): void {
    this.waiting.delete(author)
    this.waiting.set(author, frame)
    // The oldest waiting report goes first when the bound is reached.
    for (const oldest of this.waiting.keys()) {
      if (this.waiting.size <= MAX_RELAYED_REPORTS) break
      this.waiting.delete(oldest)
      this.count('dropped')
    }
  }

  /** Sends every waiting report upstream in one stream; they stay waiting when it fails. */
  private async flush (): Promise<boolean> {
    clearTimeout(this.timer)
    this.timer = undefined
    const upstream = this.upstream
    if (upstream === undefined || this.waiting.size === 0 || !await this.speaksRelay(upstream)) return false
    const frames = [...this.waiting.entries()]
    this.waiting.clear()
    try {
      const stream = await this.components.connectionManager.openStream(peerIdFromString(upstream), this.protocol, { signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) })
      const framed = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      let bytes = 0
      for (const [, frame] of frames) {
        const encoded = encodeFrame(frame)
        bytes += encoded.byteLength
        await framed.write(encoded, { signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) })
      }
      await stream.close()
      this.count('sent', frames.length)
      this.init.countSentBytes?.(bytes)
      return true
    } catch (err) {
      for (const [author, frame] of frames) if (!this.waiting.has(author)) this.hold(author, frame)
      this.init.log.debug({ upstream, err: (err as Error).message }, 'relayed reports not sent')
      return false
    }
  }

  private async speaksRelay (peerId: string): Promise<boolean> {
    if (!this.components.connectionManager.getConnections(peerIdFromString(peerId)).some(connection => connection.status === 'open')) return false
    const peer = await this.components.peerStore.get(peerIdFromString(peerId)).catch(() => undefined)
    return peer?.protocols.includes(this.protocol) === true
  }

  private async receive (stream: Stream, connection: Connection): Promise<void> {
    const via = connection.remotePeer.toString()
    const framed = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    try {
      for (let read = 0; read < MAX_RELAYED_REPORTS; read++) {
        const bytes = await framed.read({ signal: AbortSignal.timeout(STREAM_TIMEOUT_MS) }).catch((err: Error) => {
          if (err.name === 'UnexpectedEOFError') return undefined
          throw err
        })
        if (bytes === undefined) break
        await this.take(decodeFrame(bytes.subarray()), via)
      }
      await stream.close()
    } catch (err) {
      this.count('refused')
      this.init.log.debug({ peer: via, err: (err as Error).message }, 'relayed reports dropped')
      stream.abort(err as Error)
    }
  }

  private async take (frame: Frame, via: string): Promise<void> {
    const announcement = Buffer.from(frame.announcement, 'base64')
    const author = authorOf(announcement)
    const signed = await peerIdFromString(author).publicKey?.verify(concat(REPORT_DOMAIN, announcement), Buffer.from(frame.signature, 'base64'))
    if (signed !== true) throw new InvalidRelayedReportError(`report about ${author} not signed by it`)
    this.count('received')
    const verdict = await this.init.status.validate(announcement, author, via)
    if (verdict === 'reject') throw new InvalidRelayedReportError(`report about ${author} refused`)
    if (verdict !== 'accept' || !this.init.forward || frame.hops >= MAX_HOPS) return
    this.hold(author, { ...frame, hops: frame.hops + 1 })
    this.timer ??= setTimeout(() => { void this.flush() }, this.init.coalesceMs ?? RELAY_COALESCE_MS)
  }
}

/** A node's own announcement as it leaves it: signed with its peer key, not yet forwarded. */
export async function signedReport (privateKey: PrivateKey, announcement: Uint8Array): Promise<Frame> {
  const signature = await privateKey.sign(concat(REPORT_DOMAIN, announcement))
  return { announcement: Buffer.from(announcement).toString('base64'), signature: Buffer.from(signature).toString('base64'), hops: 0 }
}

export function encodeFrame (frame: Frame): Uint8Array {
  return canonicalBytes({ ...frame })
}

function concat (a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.byteLength + b.byteLength)
  joined.set(a)
  joined.set(b, a.byteLength)
  return joined
}

/** The peer an announcement describes: its only possible signer. */
function authorOf (announcement: Uint8Array): string {
  const value = parseMeshJson(announcement, () => new InvalidRelayedReportError('relayed announcement is not JSON'))
  if (!isObject(value) || typeof value.peerId !== 'string' || value.peerId.length > 128) throw new InvalidRelayedReportError('relayed announcement names no peer')
  try {
    peerIdFromString(value.peerId)
  } catch {
    throw new InvalidRelayedReportError('relayed announcement names no valid peer')
  }
  return value.peerId
}

function decodeFrame (bytes: Uint8Array): Frame {
  const value = parseMeshJson(bytes, () => new InvalidRelayedReportError('relayed report is not JSON'))
  if (!isObject(value) || typeof value.announcement !== 'string' || typeof value.signature !== 'string' || !Number.isInteger(value.hops) || (value.hops as number) < 0) {
    throw new InvalidRelayedReportError('relayed report is not {announcement, signature, hops}')
  }
  return { announcement: value.announcement, signature: value.signature, hops: value.hops as number }
}

export function reportRelay (init: ReportRelayInit): (components: ReportRelayComponents) => ReportRelay {
  return (components) => new ReportRelayService(components, init)
}
