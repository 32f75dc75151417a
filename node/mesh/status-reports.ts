import type { Connection, Startable, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { reportProtocol } from '../constants.js'
import type { Logger } from '../logger.js'
import { MAX_ANNOUNCEMENT_BYTES } from '../peer-announcement.js'
import type { TopicHandler } from './topic-handler.js'

const REPORT_TIMEOUT_MS = 5_000

export interface StatusReportsInit {
  mesh: string
  /** Checks a report as a gossiped announcement is checked, its author being the peer at the other end. */
  status: TopicHandler
  log: Logger
}

export interface StatusReportsComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
}

export interface StatusReports {
  /** Sends an announcement straight to those of these peers that are connected; resolves with how many got it. */
  send(peerIds: string[], announcement: Uint8Array): Promise<number>
}

/**
 * Edges' status sent straight to the publishers they are connected to after a
 * change (gossiping it would cost every node a verification), and received
 * there through the status topic's own checks.
 */
class StatusReportsService implements StatusReports, Startable {
  readonly [Symbol.toStringTag] = 'dime-status-reports'
  private readonly protocol: string
  private readonly log: Logger

  constructor (private readonly components: StatusReportsComponents, private readonly init: StatusReportsInit) {
    this.protocol = reportProtocol(init.mesh)
    this.log = init.log
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, async (stream, connection) => { await this.receive(stream, connection) })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.protocol)
  }

  async send (peerIds: string[], announcement: Uint8Array): Promise<number> {
    const connected = new Set(this.components.connectionManager.getConnections().map(connection => connection.remotePeer.toString()))
    const sent = await Promise.allSettled(peerIds.filter(id => connected.has(id)).map(async id => {
      const stream = await this.components.connectionManager.openStream(peerIdFromString(id), this.protocol, { signal: AbortSignal.timeout(REPORT_TIMEOUT_MS) })
      await lpStream(stream).write(announcement)
      await stream.close()
    }))
    return sent.filter(result => result.status === 'fulfilled').length
  }

  private async receive (stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    try {
      const report = await lpStream(stream, { maxDataLength: MAX_ANNOUNCEMENT_BYTES }).read({ signal: AbortSignal.timeout(REPORT_TIMEOUT_MS) })
      await this.init.status.validate(report.subarray(), from, from)
      await stream.close()
    } catch (err) {
      this.log.debug({ peer: from, err: (err as Error).message }, 'status report dropped')
      stream.abort(err as Error)
    }
  }
}

export function statusReports (init: StatusReportsInit): (components: StatusReportsComponents) => StatusReports {
  return (components) => new StatusReportsService(components, init)
}
