import type { V1Service } from '@kubernetes/client-node'
import { HOST_NAME as HOST } from '../../node/host-names.js'
import type { RefusalCode } from '../fragment-files.js'
import type { JsonObject } from '../json.js'
import { serverAddresses, serverUrl } from './service-routes.js'

const WILDCARD_HOST = /^\*\.(.+)$/

export interface Backend { name: string, service: JsonObject }

/** Why a backend cannot be routed to, and the Gateway API's code for it. */
export interface Refusal { readonly refused: RefusalCode, readonly message: string }

export function refusal (refused: RefusalCode, message: string): Refusal {
  return { refused, message }
}

/** Traefik's matcher for a host of an Ingress or HTTPRoute: `Host` for a name, `HostRegexp` for a `*.` wildcard (one label, as Kubernetes means it). */
export function hostMatcher (host: string): string | undefined {
  const wildcard = WILDCARD_HOST.exec(host)
  if (wildcard === null) return HOST.test(host) ? `Host(\`${host}\`)` : undefined
  const domain = wildcard[1] ?? ''
  return HOST.test(domain) ? `HostRegexp(\`^[^.]+\\.${domain.replaceAll('.', '\\.')}$\`)` : undefined
}

/**
 * A backend Service port as a Traefik service named after the route (its
 * servers: the Service's LoadBalancer addresses, which the edges reach),
 * pending while it has none, or why it cannot be routed to.
 */
export function backendService (base: string, name: string, wanted: { name?: string, number?: number }, serviceNamed: (name: string) => V1Service | undefined): Backend | { pending: string } | Refusal {
  const service = serviceNamed(name)
  if (service === undefined) return refusal('BackendNotFound', `the Service "${name}" does not exist`)
  if (service.spec?.type !== 'LoadBalancer') return refusal('UnsupportedValue', `the Service "${name}" is of type ${service.spec?.type ?? 'ClusterIP'}: the edges reach only LoadBalancer addresses`)
  const port = (service.spec.ports ?? []).find(p => (wanted.name !== undefined && p.name === wanted.name) || (wanted.number !== undefined && p.port === wanted.number))
  if (port === undefined) return refusal('BackendNotFound', `the Service "${name}" has no port ${wanted.name ?? String(wanted.number ?? '(none given)')}`)
  const addresses = serverAddresses(service, service.metadata?.annotations ?? {})
  if (typeof addresses === 'string') return refusal('UnsupportedValue', `the Service "${name}": ${addresses}`)
  if (addresses.length === 0) return { pending: `the Service "${name}" has no LoadBalancer address yet` }
  const servers = addresses.map(address => ({ url: serverUrl('http', address, port.port) }))
  return { name: `${base}-${name}-${port.port}`, service: { loadBalancer: { servers } } }
}
