import type { V1Service } from '@kubernetes/client-node'
import type { Fragment, SkippedObject } from '../fragment-files.js'
import type { JsonObject } from '../json.js'

/** Every route annotation starts with this. */
export const ANNOTATION_PREFIX = 'cdn-on-a-dime.io/'

export const ANNOTATIONS = {
  /** Comma-separated host names; a Service without it is not routed. */
  hosts: `${ANNOTATION_PREFIX}hosts`,
  /** Which Service port to route to, by name or number; needed when there are several. */
  port: `${ANNOTATION_PREFIX}port`,
  /** Only requests under this path (Traefik PathPrefix). */
  pathPrefix: `${ANNOTATION_PREFIX}path-prefix`,
  /** Comma-separated Traefik entry points (default: all). */
  entryPoints: `${ANNOTATION_PREFIX}entrypoints`,
  /** Comma-separated Traefik middlewares, defined in fragments. */
  middlewares: `${ANNOTATION_PREFIX}middlewares`,
  /** "true": terminate TLS on the edge with certificates Traefik already has. */
  tls: `${ANNOTATION_PREFIX}tls`,
  /** A Traefik certificate resolver (ACME) for these hosts; implies TLS. */
  certResolver: `${ANNOTATION_PREFIX}cert-resolver`,
  /** "http" (default) or "https": how the edge talks to the Service. */
  scheme: `${ANNOTATION_PREFIX}scheme`
} as const

const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
const PATH_PREFIX = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/
const NAME = /^[A-Za-z0-9][A-Za-z0-9\-_@.]*$/

export interface ServiceRoute {
  /** The route, or why the annotations cannot be used. */
  fragment?: Fragment
  /** Annotated and valid, but not routable yet (no LoadBalancer address). */
  pending?: SkippedObject
}

/** The fragment name for a Service. */
export function serviceSource (service: V1Service): string {
  return `service:${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`
}

/**
 * Turns an annotated LoadBalancer Service into a router and a load-balancer
 * service whose servers are its `status.loadBalancer.ingress` addresses (the
 * MetalLB addresses the overlay routes), so nobody writes addresses by hand.
 * Returns nothing for a Service without the hosts annotation.
 */
export function routeFromService (service: V1Service): ServiceRoute | undefined {
  const annotations = service.metadata?.annotations ?? {}
  const hostsValue = annotations[ANNOTATIONS.hosts]
  if (hostsValue === undefined) return undefined
  const source = serviceSource(service)
  const fail = (error: string): ServiceRoute => ({ fragment: { source, error } })

  if (service.spec?.type !== 'LoadBalancer') return fail(`has ${ANNOTATIONS.hosts} but is of type ${service.spec?.type ?? 'ClusterIP'}, not LoadBalancer`)
  const hosts = list(hostsValue)
  const badHost = hosts.find(host => !HOST.test(host))
  if (hosts.length === 0 || badHost !== undefined) return fail(`${ANNOTATIONS.hosts}: "${badHost ?? hostsValue}" is not a host name`)
  const pathPrefix = annotations[ANNOTATIONS.pathPrefix]
  if (pathPrefix !== undefined && !PATH_PREFIX.test(pathPrefix)) return fail(`${ANNOTATIONS.pathPrefix}: "${pathPrefix}" is not a path starting with /`)
  const scheme = annotations[ANNOTATIONS.scheme] ?? 'http'
  if (scheme !== 'http' && scheme !== 'https') return fail(`${ANNOTATIONS.scheme}: "${scheme}" is neither http nor https`)
  const names = [...list(annotations[ANNOTATIONS.entryPoints]), ...list(annotations[ANNOTATIONS.middlewares])]
  const badName = names.find(name => !NAME.test(name))
  if (badName !== undefined) return fail(`"${badName}" is not a Traefik entry point or middleware name`)
  const port = servicePort(service, annotations[ANNOTATIONS.port])
  if (typeof port === 'string') return fail(port)

  const addresses = (service.status?.loadBalancer?.ingress ?? []).map(ingress => ingress.ip ?? ingress.hostname).filter((a): a is string => a !== undefined && a !== '')
  if (addresses.length === 0) return { pending: { source, reason: 'no LoadBalancer address yet' } }

  const name = `${service.metadata?.namespace ?? 'default'}-${service.metadata?.name ?? ''}`
  const hostRule = hosts.map(host => `Host(\`${host}\`)`).join(' || ')
  const rule = pathPrefix === undefined ? hostRule : `${hosts.length > 1 ? `(${hostRule})` : hostRule} && PathPrefix(\`${pathPrefix}\`)`
  const router: JsonObject = {
    rule,
    service: name,
    ...(list(annotations[ANNOTATIONS.entryPoints]).length > 0 ? { entryPoints: list(annotations[ANNOTATIONS.entryPoints]) } : {}),
    ...(list(annotations[ANNOTATIONS.middlewares]).length > 0 ? { middlewares: list(annotations[ANNOTATIONS.middlewares]) } : {}),
    ...tlsSettings(annotations)
  }
  const servers = addresses.map(address => ({ url: `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}` }))
  return { fragment: { source, content: { http: { routers: { [name]: router }, services: { [name]: { loadBalancer: { servers } } } } } } }
}

function tlsSettings (annotations: Record<string, string>): JsonObject {
  const resolver = annotations[ANNOTATIONS.certResolver]
  if (resolver !== undefined) return { tls: { certResolver: resolver } }
  return annotations[ANNOTATIONS.tls] === 'true' ? { tls: {} } : {}
}

/** The Service port to route to: the one named or numbered by the annotation, or the only one. */
function servicePort (service: V1Service, wanted: string | undefined): number | string {
  const ports = service.spec?.ports ?? []
  if (wanted === undefined) {
    if (ports.length === 1 && ports[0] !== undefined) return ports[0].port
    return `has ${ports.length} ports; name one with ${ANNOTATIONS.port}`
  }
  const port = ports.find(p => p.name === wanted || String(p.port) === wanted)
  return port?.port ?? `${ANNOTATIONS.port}: the Service has no port "${wanted}"`
}

function list (value: string | undefined): string[] {
  return (value ?? '').split(',').map(item => item.trim()).filter(item => item !== '')
}
