import { connect } from 'node:net'
import { MAX_NAMED_SERVICES, type AnnouncedHealth } from '../node/peer-announcement.js'
import { isObject } from '../node/signed-frame.js'

/** At most this many backends are probed for one version; the rest are reported as not probed. */
export const MAX_PROBES_PER_VERSION = 16
/** Each probe (a TCP connect, or a GET of the service's healthCheck path) must answer within this long. */
export const PROBE_TIMEOUT_MS = 2_000

/** One server of a service the change added or changed, and how to ask it. */
export interface ProbeTarget {
  readonly service: string
  /** `http://host:port` (HTTP services) or `host:port` (TCP services). */
  readonly server: string
  /** The service's healthCheck path, probed with a GET where given; a TCP connect otherwise. */
  readonly healthPath?: string | undefined
}

/** What an edge found of the backends a version changed, judged against the version it served before. */
export interface BackendHealth {
  readonly version: number
  readonly healthy: boolean
  readonly probed: number
  /** Changed services whose servers did not all answer where they did before the change (or which are new). */
  readonly failing: string[]
  /** Changed services that did not answer before the change either: reported, not held against it. */
  readonly alreadyDown: string[]
  /** Servers left unprobed over MAX_PROBES_PER_VERSION. */
  readonly notProbed: number
  /** Changed services answering 5xx more since the change than before it, by the proxy's metrics (`--proxy-metrics`). */
  readonly errors: string[]
}

type Config = Record<string, unknown>

/** Each service's servers as `{ server, healthPath }`, by protocol-qualified name (`http/web`, `tcp/db`). */
function servicesOf (config: Config | undefined): Map<string, { definition: string, targets: ProbeTarget[] }> {
  const services = new Map<string, { definition: string, targets: ProbeTarget[] }>()
  for (const protocol of ['http', 'tcp'] as const) {
    const section = config?.[protocol]
    const defined = isObject(section) && isObject(section.services) ? section.services : {}
    for (const [name, service] of Object.entries(defined)) {
      const balancer = isObject(service) && isObject(service.loadBalancer) ? service.loadBalancer : undefined
      const servers = Array.isArray(balancer?.servers) ? balancer.servers : []
      const healthPath = isObject(balancer?.healthCheck) && typeof balancer.healthCheck.path === 'string' ? balancer.healthCheck.path : undefined
      const key = `${protocol}/${name}`
      const targets = servers.flatMap(server => {
        const where = isObject(server) ? (protocol === 'http' ? server.url : server.address) : undefined
        return typeof where === 'string' ? [{ service: key, server: where, healthPath: protocol === 'http' ? healthPath : undefined }] : []
      })
      services.set(key, { definition: JSON.stringify(service), targets })
    }
  }
  return services
}

/** The services `next` adds or changes against `previous`, with their servers now and before. */
export function changedServices (previous: Config | undefined, next: Config): Array<{ service: string, after: ProbeTarget[], before: ProbeTarget[] }> {
  const before = servicesOf(previous)
  return [...servicesOf(next)]
    .filter(([name, service]) => before.get(name)?.definition !== service.definition)
    .map(([name, service]) => ({ service: name, after: service.targets, before: before.get(name)?.targets ?? [] }))
    .sort((a, b) => a.service < b.service ? -1 : 1)
}

/** Whether a server answers: its healthCheck path with a status below 400, else a TCP connect. */
export type Probe = (target: ProbeTarget) => Promise<boolean>

export const probeServer: Probe = async (target) => {
  if (target.healthPath !== undefined) {
    try {
      const response = await fetch(new URL(target.healthPath, target.server), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), redirect: 'manual' })
      await response.body?.cancel()
      return response.status < 400
    } catch {
      return false
    }
  }
  const { hostname, port } = new URL(target.server.includes('://') ? target.server : `tcp://${target.server}`)
  const portNumber = Number(port === '' ? (target.server.startsWith('https') ? 443 : 80) : port)
  return await new Promise(resolve => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: portNumber, timeout: PROBE_TIMEOUT_MS })
    const done = (answered: boolean): void => { socket.destroy(); resolve(answered) }
    socket.once('connect', () => { done(true) })
    // An event loop that ran late runs this timer before the I/O that came meanwhile: a connect that came is seen first.
    socket.once('timeout', () => { setImmediate(() => { done(false) }) })
    socket.once('error', () => { done(false) })
  })
}

/**
 * Probes the servers of every service the version added or changed, and,
 * for a changed service whose new servers do not all answer, its servers of
 * before: when those do not answer either, the service was down already and
 * the change is not blamed. At most MAX_PROBES_PER_VERSION probes in all.
 */
export async function checkBackends (version: number, previous: Config | undefined, next: Config, probe: Probe = probeServer): Promise<BackendHealth> {
  let budget = MAX_PROBES_PER_VERSION
  let notProbed = 0
  const answers = async (targets: ProbeTarget[]): Promise<boolean | undefined> => {
    if (targets.length > budget) {
      notProbed += targets.length
      return undefined
    }
    budget -= targets.length
    return (await Promise.all(targets.map(probe))).every(Boolean)
  }
  const failing: string[] = []
  const alreadyDown: string[] = []
  let probed = 0
  for (const change of changedServices(previous, next)) {
    const after = await answers(change.after)
    if (after === undefined) continue
    probed += change.after.length
    if (after) continue
    const before = change.before.length === 0 ? true : await answers(change.before)
    if (before !== undefined && change.before.length > 0) probed += change.before.length
    if (before === false) alreadyDown.push(change.service)
    else failing.push(change.service)
  }
  return { version, healthy: failing.length === 0, probed, failing, alreadyDown, notProbed, errors: [] }
}

/** The report as it travels in an announcement: bounded lists of names. */
export function announcedHealth (health: BackendHealth): AnnouncedHealth {
  const named = (list: string[]): string[] => list.slice(0, MAX_NAMED_SERVICES)
  return {
    version: health.version,
    healthy: health.healthy,
    failing: named(health.failing),
    alreadyDown: named(health.alreadyDown),
    ...(health.errors.length > 0 ? { errors: named(health.errors) } : {})
  }
}
