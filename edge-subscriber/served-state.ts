import { DISK_ORIGIN } from '../node/latest-envelope.js'
import type { Envelope } from '../node/envelope.js'
import type { Logger } from '../node/logger.js'
import type { SecretsPrivateKey } from '../node/sealed-secret.js'
import type { ConfigFetch } from './config-answer.js'
import { plainServedConfig, unsealedServedConfig, type ServedConfig } from './served-config.js'

export interface ServedStateInit {
  /** Opens the secrets sealed into a config; without it they are left out of what Traefik gets. */
  secretsKey?: SecretsPrivateKey | undefined
  log: Logger
  now?: (() => number) | undefined
  /** How a config holding sealed values is opened (asynchronously: it may finish after a newer plain one). */
  unseal?: ((envelope: Envelope, key: SecretsPrivateKey | undefined) => Promise<ServedConfig>) | undefined
}

/**
 * What the edge serves and when it got it. Every accepted envelope becomes
 * the config served: at once when it holds no sealed values, once opened
 * when it does. Opening takes a while, so an older envelope may finish after
 * a newer one; it is then dropped: what is served only moves forward.
 */
export class ServedState {
  private served: ServedConfig | undefined
  private receivedAt: string | null = null
  private fetch: ConfigFetch | undefined
  private readonly now: () => number
  private readonly unseal: (envelope: Envelope, key: SecretsPrivateKey | undefined) => Promise<ServedConfig>

  constructor (private readonly init: ServedStateInit) {
    this.now = init.now ?? Date.now
    this.unseal = init.unseal ?? unsealedServedConfig
  }

  /** The config /config answers with; undefined before the first. */
  current (): ServedConfig | undefined {
    return this.served
  }

  /** When this process accepted the newest config from the mesh; null when it was restored from disk. */
  lastReceivedAt (): string | null {
    return this.receivedAt
  }

  /** The proxy's last fetch of the config served (Traefik polls every few seconds), if any since start. */
  lastFetch (): ConfigFetch | undefined {
    return this.fetch
  }

  /** Records a fetch; true when it is the first of its version (worth telling the publishers). */
  fetched (fetch: ConfigFetch): boolean {
    const first = this.fetch?.version !== fetch.version
    this.fetch = fetch
    return first
  }

  /** Sealed values left out of what is served. */
  unopened (): string[] {
    return this.served?.unopened ?? []
  }

  /** An envelope the latest envelope accepted (`origin` as it reports it); resolves once it is served or dropped. */
  async accepted (envelope: Envelope, origin: string): Promise<void> {
    this.receivedAt = origin === DISK_ORIGIN ? null : new Date(this.now()).toISOString()
    const plain = plainServedConfig(envelope)
    if (plain !== undefined) {
      this.serve(plain)
      return
    }
    try {
      this.serve(await this.unseal(envelope, this.init.secretsKey))
    } catch (err) {
      this.init.log.error({ version: envelope.head.version, err: (err as Error).message }, 'could not prepare the config to serve')
    }
  }

  private serve (view: ServedConfig): void {
    if (this.served !== undefined && this.served.head.version > view.head.version) return
    this.served = view
    if (view.unopened.length > 0) {
      this.init.log.warn({ version: view.head.version, unopened: view.unopened, reason: this.init.secretsKey === undefined ? 'no --secrets-key' : 'sealed for another secrets key' },
        'sealed values left out of the served config (certificates, users)')
    }
  }
}
