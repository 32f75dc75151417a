import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import type { Logger } from '../node/logger.js'

/** How often Traefik's metrics are read (`--proxy-metrics`). */
export const PROXY_SCRAPE_INTERVAL_MS = 10_000
/** "Before the change" is at most this long before it. */
export const BEFORE_WINDOW_MS = 5 * 60_000
/** Fewer requests than this to the changed services since the change say nothing either way. */
export const MIN_REQUESTS = 20
/** The 5xx share since the change is worse when above twice the share before and 5 points more. */
const WORSE_FACTOR = 2
const WORSE_MARGIN = 0.05

/** Requests and 5xx answers of one Traefik service, as counted since Traefik started. */
export interface Counts { readonly requests: number, readonly errors: number }

/** Traefik's `traefik_service_requests_total` by service (`app@http`), summed over codes, methods and protocols. */
export function serviceCounts (text: string): Map<string, Counts> {
  const counts = new Map<string, Counts>()
  const family = parsePrometheusTextFormat(text).find(metric => metric.name === 'traefik_service_requests_total')
  for (const series of family?.metrics ?? []) {
    const service = series.labels?.service
    const value = Number(series.value)
    if (service === undefined || !Number.isFinite(value)) continue
    const before = counts.get(service) ?? { requests: 0, errors: 0 }
    counts.set(service, { requests: before.requests + value, errors: before.errors + (/^5\d\d$/.test(series.labels?.code ?? '') ? value : 0) })
  }
  return counts
}

/** The name Traefik gives a service of the config an edge serves (its HTTP provider): `http/app` is `app@http`. */
export function traefikServiceName (service: string): string | undefined {
  const match = /^http\/(.+)$/.exec(service)
  return match === null ? undefined : `${match[1] ?? ''}@http`
}

function since (now: Counts, then: Counts | undefined): Counts {
  return { requests: now.requests - (then?.requests ?? 0), errors: now.errors - (then?.errors ?? 0) }
}

const share = (counts: Counts): number => counts.requests === 0 ? 0 : counts.errors / counts.requests
const percent = (value: number): string => `${Math.round(value * 100)}%`

/** Whether a service answers 5xx more since the change than before it; a sentence saying so, or undefined. */
export function worseThanBefore (service: string, before: Counts, after: Counts): string | undefined {
  if (after.requests < MIN_REQUESTS) return undefined
  if (share(after) <= Math.max(share(before) * WORSE_FACTOR, share(before) + WORSE_MARGIN)) return undefined
  return `${service}: ${percent(share(after))} 5xx of ${after.requests} requests since the change, ${percent(share(before))} before`
}

interface Scrape { at: number, counts: Map<string, Counts> }

export interface ProxyErrorsInit {
  url: string
  log: Logger
  intervalMs?: number | undefined
  now?: (() => number) | undefined
}

/**
 * Reads Traefik's Prometheus endpoint every interval and, for the services
 * a version in rollout changed, compares their 5xx share since the version
 * was served with the share in the window before it (or, when that window
 * saw too few requests, since Traefik started): the same proxy, the same
 * services, before and after.
 */
export class ProxyErrors {
  private readonly scrapes: Scrape[] = []
  private watched: { version: number, services: string[], baseline: Scrape | undefined, before: Scrape | undefined } | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly listeners = new Set<() => void>()
  private readonly now: () => number

  constructor (private readonly init: ProxyErrorsInit) {
    this.now = init.now ?? Date.now
  }

  start (): void {
    void this.scrape()
    this.timer = setInterval(() => { void this.scrape() }, this.init.intervalMs ?? PROXY_SCRAPE_INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Told after each scrape while a version is watched. */
  onScrape (listener: () => void): void {
    this.listeners.add(listener)
  }

  /** From now on, compares these services (`http/app`) since now against before now. */
  watch (version: number, services: string[]): void {
    const baseline = this.scrapes.at(-1)
    this.watched = { version, services, baseline, before: this.scrapes.find(scrape => scrape.at >= (baseline?.at ?? 0) - BEFORE_WINDOW_MS) }
  }

  /** The changed services answering 5xx more than before, for the version watched; empty while too few requests say so. */
  worse (version: number): string[] {
    const watched = this.watched
    const latest = this.scrapes.at(-1)
    if (watched?.version !== version || latest === undefined || latest === watched.baseline) return []
    return watched.services.flatMap(service => {
      const name = traefikServiceName(service)
      const now = name === undefined ? undefined : latest.counts.get(name)
      if (name === undefined || now === undefined) return []
      const atChange = watched.baseline?.counts.get(name) ?? { requests: 0, errors: 0 }
      // The window before the change; when it saw too few requests to say, all of them since Traefik started.
      const window = since(atChange, watched.before?.counts.get(name))
      return worseThanBefore(service, window.requests >= MIN_REQUESTS ? window : atChange, since(now, atChange)) ?? []
    })
  }

  private async scrape (): Promise<void> {
    try {
      const response = await fetch(this.init.url, { signal: AbortSignal.timeout(5000) })
      if (!response.ok) throw new Error(`HTTP ${response.status}`)
      const at = this.now()
      this.scrapes.push({ at, counts: serviceCounts(await response.text()) })
      // The watched version keeps its own baseline and window start.
      while ((this.scrapes[0]?.at ?? Infinity) < at - BEFORE_WINDOW_MS) this.scrapes.shift()
    } catch (err) {
      this.init.log.warn({ url: this.init.url, err: (err as Error).message }, 'could not read the proxy\'s metrics (--proxy-metrics)')
      return
    }
    if (this.watched !== undefined) for (const listener of this.listeners) listener()
  }
}
