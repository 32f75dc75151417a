import type { V1Service } from '@kubernetes/client-node'
import type { Fragment, SkippedObject } from '../fragment-files.js'
import { HOST_NAME as HOST } from '../../node/host-names.js'
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
  scheme: `${ANNOTATION_PREFIX}scheme`,
  /** A kubernetes.io/tls Secret (cert-manager's, say) whose certificate every edge serves for these hosts; its key travels sealed. */
  tlsSecret: `${ANNOTATION_PREFIX}tls-secret`,
  /** A Secret whose `ca.crt` signs the Service's certificate: the edge speaks HTTPS to it and checks it. */
  originCaSecret: `${ANNOTATION_PREFIX}origin-ca-secret`,
  /** The name the Service's certificate is checked against (default: the first host). */
  originServerName: `${ANNOTATION_PREFIX}origin-server-name`,
  /** A kubernetes.io/tls Secret the edge presents to the Service (mTLS); its key travels sealed. */
  originClientCertSecret: `${ANNOTATION_PREFIX}origin-client-cert-secret`,
  /** A Secret whose `users` holds htpasswd lines (hashes only): basic authentication at the edge, each line sealed. */
  basicAuthSecret: `${ANNOTATION_PREFIX}basic-auth-secret`,
  /** An auth service the edge asks before each request (Traefik forwardAuth). */
  forwardAuthUrl: `${ANNOTATION_PREFIX}forward-auth-url`,
  /** Comma-separated CIDRs: only clients from these ranges (Traefik ipAllowList). */
  ipAllowList: `${ANNOTATION_PREFIX}ip-allow-list`,
  /** "hostname": address the Service by its ExternalDNS name rather than its LoadBalancer address. */
  addressFrom: `${ANNOTATION_PREFIX}address-from`
} as const

/** ExternalDNS's annotation: the DNS name it publishes for the Service. */
export const EXTERNAL_DNS_HOSTNAME = 'external-dns.alpha.kubernetes.io/hostname'

const PATH_PREFIX = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/
export const NAME = /^[A-Za-z0-9][A-Za-z0-9\-_@.]*$/
export const SECRET_NAME = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/
const CIDR = /^(\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?|[0-9a-fA-F:]+:[0-9a-fA-F:]*(\/\d{1,3})?)$/

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
 * MetalLB addresses the overlay routes), or its ExternalDNS name, so nobody
 * writes addresses by hand; with the annotations' certificates, HTTPS to the
 * origin and authentication middlewares. Values from Secrets are left as
 * `secret:NAME/KEY` references for the source to resolve (and seal).
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
  const origin = originTls(annotations, hosts[0] ?? '')
  const scheme = annotations[ANNOTATIONS.scheme] ?? (origin === undefined ? 'http' : 'https')
  if (scheme !== 'http' && scheme !== 'https') return fail(`${ANNOTATIONS.scheme}: "${scheme}" is neither http nor https`)
  if (origin !== undefined && scheme !== 'https') return fail(`${ANNOTATIONS.originCaSecret} and ${ANNOTATIONS.originClientCertSecret} need ${ANNOTATIONS.scheme}: https`)
  const names = [...list(annotations[ANNOTATIONS.entryPoints]), ...list(annotations[ANNOTATIONS.middlewares])]
  const badName = names.find(name => !NAME.test(name))
  if (badName !== undefined) return fail(`"${badName}" is not a Traefik entry point or middleware name`)
  const badSecret = [ANNOTATIONS.tlsSecret, ANNOTATIONS.originCaSecret, ANNOTATIONS.originClientCertSecret, ANNOTATIONS.basicAuthSecret]
    .find(annotation => annotations[annotation] !== undefined && !SECRET_NAME.test(annotations[annotation] ?? ''))
  if (badSecret !== undefined) return fail(`${badSecret}: "${annotations[badSecret] ?? ''}" is not a Secret name`)
  const allowed = list(annotations[ANNOTATIONS.ipAllowList])
  const badRange = allowed.find(range => !CIDR.test(range))
  if (badRange !== undefined || (annotations[ANNOTATIONS.ipAllowList] !== undefined && allowed.length === 0)) {
    return fail(`${ANNOTATIONS.ipAllowList}: "${badRange ?? ''}" is not an address or CIDR range`)
  }
  const forwardAuth = annotations[ANNOTATIONS.forwardAuthUrl]
  if (forwardAuth !== undefined && !/^https?:\/\/\S+$/.test(forwardAuth)) return fail(`${ANNOTATIONS.forwardAuthUrl}: "${forwardAuth}" is not an http(s) URL`)
  const port = servicePort(service, annotations[ANNOTATIONS.port])
  if (typeof port === 'string') return fail(port)

  const addresses = serverAddresses(service, annotations)
  if (typeof addresses === 'string') return fail(addresses)
  if (addresses.length === 0) return { pending: { source, reason: 'no LoadBalancer address yet' } }

  const name = `${service.metadata?.namespace ?? 'default'}-${service.metadata?.name ?? ''}`
  const middlewares = authMiddlewares(name, annotations)
  const hostRule = hosts.map(host => `Host(\`${host}\`)`).join(' || ')
  const rule = pathPrefix === undefined ? hostRule : `${hosts.length > 1 ? `(${hostRule})` : hostRule} && PathPrefix(\`${pathPrefix}\`)`
  const routerMiddlewares = [...Object.keys(middlewares), ...list(annotations[ANNOTATIONS.middlewares])]
  const router: JsonObject = {
    rule,
    service: name,
    ...(list(annotations[ANNOTATIONS.entryPoints]).length > 0 ? { entryPoints: list(annotations[ANNOTATIONS.entryPoints]) } : {}),
    ...(routerMiddlewares.length > 0 ? { middlewares: routerMiddlewares } : {}),
    ...tlsSettings(annotations)
  }
  const servers = addresses.map(address => ({ url: serverUrl(scheme, address, port) }))
  const http: JsonObject = {
    routers: { [name]: router },
    services: { [name]: { loadBalancer: { servers, ...(origin !== undefined ? { serversTransport: name } : {}) } } },
    ...(Object.keys(middlewares).length > 0 ? { middlewares } : {}),
    ...(origin !== undefined ? { serversTransports: { [name]: origin } } : {})
  }
  const tlsSecret = annotations[ANNOTATIONS.tlsSecret]
  return { fragment: { source, content: { http, ...(tlsSecret !== undefined ? { tls: { certificates: [certificateFrom(tlsSecret)] } } : {}) } } }
}

/** A server's URL; an IPv6 address in brackets. */
export function serverUrl (scheme: string, address: string, port: number): string {
  return `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}`
}

/** A certificate entry from a kubernetes.io/tls Secret, as references the source resolves (the key sealed). */
export function certificateFrom (secret: string): JsonObject {
  return { certFile: `secret:${secret}/tls.crt`, keyFile: `secret:${secret}/tls.key` }
}

/** The serversTransport for HTTPS to the Service, when it has a CA to check or a client certificate to present. */
function originTls (annotations: Record<string, string>, firstHost: string): JsonObject | undefined {
  const ca = annotations[ANNOTATIONS.originCaSecret]
  const client = annotations[ANNOTATIONS.originClientCertSecret]
  if (ca === undefined && client === undefined) return undefined
  return {
    serverName: annotations[ANNOTATIONS.originServerName] ?? firstHost,
    ...(ca !== undefined ? { rootCAs: [`secret:${ca}/ca.crt`] } : {}),
    ...(client !== undefined ? { certificates: [certificateFrom(client)] } : {})
  }
}

/** The middlewares the annotations ask for, named after the route, in the order they run. */
function authMiddlewares (name: string, annotations: Record<string, string>): JsonObject {
  const allowed = list(annotations[ANNOTATIONS.ipAllowList])
  const forwardAuth = annotations[ANNOTATIONS.forwardAuthUrl]
  const basicAuth = annotations[ANNOTATIONS.basicAuthSecret]
  return {
    ...(allowed.length > 0 ? { [`${name}-ip-allow-list`]: { ipAllowList: { sourceRange: allowed } } } : {}),
    ...(basicAuth !== undefined ? { [`${name}-basic-auth`]: { basicAuth: { users: [`secret:${basicAuth}/users`] } } } : {}),
    ...(forwardAuth !== undefined ? { [`${name}-forward-auth`]: { forwardAuth: { address: forwardAuth } } } : {})
  }
}

/** The LoadBalancer's addresses, or the ExternalDNS name when the Service asks to be addressed by it. */
export function serverAddresses (service: V1Service, annotations: Record<string, string>): string[] | string {
  const from = annotations[ANNOTATIONS.addressFrom]
  if (from === 'hostname') {
    const name = list(annotations[EXTERNAL_DNS_HOSTNAME])[0]
    if (name === undefined) return `${ANNOTATIONS.addressFrom}: hostname, but the Service has no ${EXTERNAL_DNS_HOSTNAME}`
    if (!HOST.test(name)) return `${EXTERNAL_DNS_HOSTNAME}: "${name}" is not a host name`
    return [name]
  }
  if (from !== undefined && from !== 'address') return `${ANNOTATIONS.addressFrom}: "${from}" is neither address nor hostname`
  return (service.status?.loadBalancer?.ingress ?? []).map(ingress => ingress.ip ?? ingress.hostname).filter((a): a is string => a !== undefined && a !== '')
}

function tlsSettings (annotations: Record<string, string>): JsonObject {
  const resolver = annotations[ANNOTATIONS.certResolver]
  if (resolver !== undefined) return { tls: { certResolver: resolver } }
  // A certificate from a Secret is served by SNI from Traefik's store: the router needs only TLS on.
  return annotations[ANNOTATIONS.tls] === 'true' || annotations[ANNOTATIONS.tlsSecret] !== undefined ? { tls: {} } : {}
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

export function list (value: string | undefined): string[] {
  return (value ?? '').split(',').map(item => item.trim()).filter(item => item !== '')
}
