import type { Connection, Libp2pEvents, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'
import { REDIAL_MAX_MS, REDIAL_MIN_MS } from '../constants.js'
import type { Logger } from '../logger.js'

export interface BootstrapDialerInit {
  addresses: Multiaddr[]
  log: Logger
  minDelayMs?: number
  maxDelayMs?: number
}

export interface BootstrapDialerComponents {
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
}

/** Delay before attempt `n` (0-based): doubling from min, capped at max, with full jitter above half. */
export function redialDelay (attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + random() * ceiling / 2
}

/**
 * Keeps a connection open to every bootstrap address, forever: libp2p's own
 * reconnection gives up after a few tries, and an edge must find its way back
 * after a partition of any length without a restart.
 */
class BootstrapDialer implements Startable {
  readonly [Symbol.toStringTag] = 'dime-bootstrap-dialer'
  private readonly init: Required<BootstrapDialerInit>
  private controller = new AbortController()
  private loops: Array<Promise<void>> = []

  constructor (private readonly components: BootstrapDialerComponents, init: BootstrapDialerInit) {
    this.init = { minDelayMs: REDIAL_MIN_MS, maxDelayMs: REDIAL_MAX_MS, ...init, log: init.log.child({ component: 'bootstrap' }) }
  }

  start (): void {
    this.controller = new AbortController()
    this.loops = this.init.addresses.map(async address => { await this.keepConnected(address, this.controller.signal) })
  }

  async stop (): Promise<void> {
    this.controller.abort()
    await Promise.allSettled(this.loops)
  }

  private async keepConnected (address: Multiaddr, signal: AbortSignal): Promise<void> {
    const log = this.init.log.child({ bootstrap: address.toString() })
    let attempt = 0
    let lastError = ''
    while (!signal.aborted) {
      try {
        const connection = await this.components.connectionManager.openConnection(address, { signal })
        log.info({ peer: connection.remotePeer.toString() }, 'connected to bootstrap peer')
        attempt = 0
        lastError = ''
        await this.closed(connection, signal)
        if (!signal.aborted) log.warn('bootstrap connection lost; redialling')
      } catch (err) {
        if (signal.aborted) return
        const message = (err as Error).message
        if (message !== lastError) log.warn({ err: message }, 'bootstrap peer unreachable; retrying with backoff')
        lastError = message
        attempt++
      }
      await sleep(redialDelay(attempt, this.init.minDelayMs, this.init.maxDelayMs), signal)
    }
  }

  private async closed (connection: Connection, signal: AbortSignal): Promise<void> {
    if (connection.status !== 'open') return
    await new Promise<void>(resolve => {
      const onClose = (event: CustomEvent<Connection>): void => {
        if (event.detail.id === connection.id) done()
      }
      const done = (): void => {
        this.components.events.removeEventListener('connection:close', onClose)
        signal.removeEventListener('abort', done)
        resolve()
      }
      this.components.events.addEventListener('connection:close', onClose)
      signal.addEventListener('abort', done)
    })
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done)
  })
}

export function bootstrapDialer (init: BootstrapDialerInit): (components: BootstrapDialerComponents) => Startable {
  return (components) => new BootstrapDialer(components, init)
}
