import type { V1Ingress, V1IngressBackend, V1IngressClass, V1Service } from '@kubernetes/client-node'
import type { JsonObject } from '../json.js'
import { backendService, hostMatcher } from './backend-services.js'
import { ANNOTATIONS, certificateFrom, list, NAME, SECRET_NAME, type ServiceRoute } from './service-routes.js'

/** The IngressClass controller the publisher takes Ingresses for (the manifests ship the class dime-edge). */
export const INGRESS_CONTROLLER = 'cdn-on-a-dime.io/edge'
/** Kubernetes' annotation marking the IngressClass that Ingresses without a class get. */
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class'

const PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/

/** The fragment name for an Ingress. */
export function ingressSource (ingress: V1Ingress): string {
  return `ingress:${ingress.metadata?.namespace ?? 'default'}/${ingress.metadata?.name ?? ''}`
}

/**
 * Whether an Ingress is the edges' to serve: its class is one whose
 * controller is ours, or it names no class and one of ours is the default.
 */
export function isEdgeIngress (ingress: V1Ingress, classes: readonly V1IngressClass[]): boolean {
  const ours = classes.filter(ingressClass => ingressClass.spec?.controller === INGRESS_CONTROLLER)
  const className = ingress.spec?.ingressClassName
  if (className !== undefined) return ours.some(ingressClass => ingressClass.metadata?.name === className)
  return ours.some(ingressClass => ingressClass.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true')
}

/**
 * Turns an Ingress into Traefik routers, one per rule and path, as Traefik's
 * own Kubernetes Ingress provider reads them (`Prefix` and
 * `ImplementationSpecific` paths are PathPrefix, `Exact` is Path, the
 * default backend catches the rest at the lowest priority), whose services
 * are the backend Services' LoadBalancer addresses (or ExternalDNS names, as
 * for an annotated Service): what the edges can reach. `spec.tls` Secrets
 * become certificates, as `tls-secret` does. Entry points and middlewares
 * come from the same annotations as a Service's. One fragment per Ingress:
 * any backend that cannot be routed breaks it, with the reason; a backend
 * Service without an address yet leaves it pending.
 */
export function routeFromIngress (ingress: V1Ingress, serviceNamed: (name: string) => V1Service | undefined): ServiceRoute {
  const source = ingressSource(ingress)
  const fail = (error: string): ServiceRoute => ({ fragment: { source, error } })
  const annotations = ingress.metadata?.annotations ?? {}
  const entryPoints = list(annotations[ANNOTATIONS.entryPoints])
  const middlewares = list(annotations[ANNOTATIONS.middlewares])
  const badName = [...entryPoints, ...middlewares].find(name => !NAME.test(name))
  if (badName !== undefined) return fail(`"${badName}" is not a Traefik entry point or middleware name`)
  const rules = ingress.spec?.rules ?? []
  const fallback = ingress.spec?.defaultBackend
  if (rules.length === 0 && fallback === undefined) return fail('has no rules and no default backend')
  const tls = ingress.spec?.tls ?? []
  const badSecret = tls.find(entry => entry.secretName !== undefined && !SECRET_NAME.test(entry.secretName))
  if (badSecret !== undefined) return fail(`spec.tls: "${badSecret.secretName ?? ''}" is not a Secret name`)
  const tlsHosts = new Set(tls.flatMap(entry => entry.hosts ?? []))

  const base = `ingress-${ingress.metadata?.namespace ?? 'default'}-${ingress.metadata?.name ?? ''}`
  const routers: JsonObject = {}
  const services: JsonObject = {}
  const pending: string[] = []
  const routeTo = (routerName: string, backend: V1IngressBackend, rule: string, host: string | undefined, priority?: number): string | undefined => {
    if (backend.service === undefined) return 'only Service backends can be routed to from the edges'
    const resolved = backendService(base, backend.service.name, backend.service.port ?? {}, serviceNamed)
    if ('refused' in resolved) return resolved.message
    if ('pending' in resolved) { pending.push(resolved.pending); return undefined }
    services[resolved.name] = resolved.service
    routers[routerName] = {
      rule,
      service: resolved.name,
      ...(priority !== undefined ? { priority } : {}),
      ...(entryPoints.length > 0 ? { entryPoints: [...entryPoints] } : {}),
      ...(middlewares.length > 0 ? { middlewares: [...middlewares] } : {}),
      ...(host !== undefined && tlsHosts.has(host) ? { tls: {} } : {})
    }
    return undefined
  }

  for (const [i, ingressRule] of rules.entries()) {
    const host = ingressRule.host
    const hostMatch = host === undefined ? undefined : hostMatcher(host)
    if (hostMatch === undefined && host !== undefined) return fail(`spec.rules[${i}].host: "${host}" is not a host name`)
    const paths = ingressRule.http?.paths
    if (paths === undefined) {
      // A host with no paths sends everything to the default backend.
      if (fallback === undefined) return fail(`spec.rules[${i}] has neither paths nor a default backend to send ${host ?? 'its requests'} to`)
      const problem = routeTo(`${base}-${i}`, fallback, hostMatch ?? 'PathPrefix(`/`)', host)
      if (problem !== undefined) return fail(`spec.defaultBackend: ${problem}`)
      continue
    }
    for (const [j, path] of paths.entries()) {
      const value = path.path ?? '/'
      if (!PATH.test(value)) return fail(`spec.rules[${i}].http.paths[${j}].path: "${value}" is not a path starting with /`)
      const pathMatch = path.pathType === 'Exact' ? `Path(\`${value}\`)` : `PathPrefix(\`${value}\`)`
      const problem = routeTo(`${base}-${i}-${j}`, path.backend, hostMatch === undefined ? pathMatch : `${hostMatch} && ${pathMatch}`, host)
      if (problem !== undefined) return fail(`spec.rules[${i}].http.paths[${j}].backend: ${problem}`)
    }
  }
  if (fallback !== undefined) {
    // Lowest priority: every other router, of every source, wins over it.
    const problem = routeTo(`${base}-default`, fallback, 'PathPrefix(`/`)', undefined, 1)
    if (problem !== undefined) return fail(`spec.defaultBackend: ${problem}`)
  }
  if (pending.length > 0) return { pending: { source, reason: [...new Set(pending)].join('; ') } }

  const certificates = tls.flatMap(entry => entry.secretName === undefined ? [] : [certificateFrom(entry.secretName)])
  return { fragment: { source, content: { http: { routers, services }, ...(certificates.length > 0 ? { tls: { certificates } } : {}) } } }
}
