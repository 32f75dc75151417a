import type { V1Service } from '@kubernetes/client-node'
import type { JsonObject } from '../json.js'
import type { RefusalCode } from '../fragment-files.js'
import { backendService, hostMatcher, refusal, type Refusal } from './backend-services.js'
import { GATEWAY_CONTROLLER, type BackendRef, type Gateway, type GatewayClass, type HeaderFilter, type HTTPRoute, type ParentRef, type RouteFilter, type RouteMatch } from './gateway-api.js'
import { certificateFrom, SECRET_NAME, type ServiceRoute } from './service-routes.js'

/** What an HTTPRoute is translated against: the cluster as the informers hold it. */
export interface GatewayContext {
  gateway: (namespace: string, name: string) => Gateway | undefined
  classes: readonly GatewayClass[]
  /** A Service in the route's namespace. */
  serviceNamed: (name: string) => V1Service | undefined
}

/** A value that goes between backticks in a Traefik rule. */
const RULE_VALUE = /^[^`\\]*$/
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_|~-]+$/
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'])

export function gatewaySource (gateway: Gateway): string {
  return `gateway:${gateway.metadata?.namespace ?? 'default'}/${gateway.metadata?.name ?? ''}`
}

export function httpRouteSource (route: HTTPRoute): string {
  return `httproute:${route.metadata?.namespace ?? 'default'}/${route.metadata?.name ?? ''}`
}

/** Whether a Gateway's class is one whose controller is ours. */
export function isEdgeGateway (gateway: Gateway, classes: readonly GatewayClass[]): boolean {
  return classes.some(c => c.spec?.controllerName === GATEWAY_CONTROLLER && c.metadata?.name === gateway.spec?.gatewayClassName)
}

/** A Gateway's certificates: each HTTPS listener's Secrets, served by every edge, their keys sealed (as `tls-secret`). */
export function certificatesFromGateway (gateway: Gateway): ServiceRoute | undefined {
  const source = gatewaySource(gateway)
  const refs = (gateway.spec?.listeners ?? []).filter(listener => listener.protocol === 'HTTPS').flatMap(listener => listener.tls?.certificateRefs ?? [])
  if (refs.length === 0) return undefined
  const foreign = refs.find(ref => (ref.kind ?? 'Secret') !== 'Secret' || (ref.namespace !== undefined && ref.namespace !== gateway.metadata?.namespace) || !SECRET_NAME.test(ref.name))
  if (foreign !== undefined) return { fragment: { source, error: `certificateRefs: "${foreign.name}" is not a Secret of the Gateway's namespace` } }
  const names = [...new Set(refs.map(ref => ref.name))].sort()
  return { fragment: { source, content: { tls: { certificates: names.map(certificateFrom) } } } }
}

interface Attachment { hostnames: Array<string | undefined>, tls: boolean }

/**
 * Turns an HTTPRoute attached to the edges' Gateways into Traefik routers,
 * one per rule and match (hostnames, path, headers, query parameters,
 * method), each to its backend Service, or to a weighted service over
 * several; the core filters become middlewares (RequestHeaderModifier,
 * ResponseHeaderModifier: headers; RequestRedirect: redirectRegex;
 * URLRewrite: replacePath, replacePathRegex, a Host header). A route on an
 * HTTPS listener is served with TLS. Undefined when no parent is one of ours.
 */
export function routeFromHTTPRoute (route: HTTPRoute, context: GatewayContext): ServiceRoute | undefined {
  const source = httpRouteSource(route)
  const namespace = route.metadata?.namespace ?? 'default'
  const attachments = attach(route, namespace, context)
  if (attachments.length === 0) return undefined
  const fail = (error: string, code?: RefusalCode): ServiceRoute => ({ fragment: { source, error, code } })
  const listeners = hostRules(attachments)
  if (typeof listeners === 'string') return fail(listeners)
  const base = `httproute-${namespace}-${route.metadata?.name ?? ''}`
  const routers: JsonObject = {}
  const services: JsonObject = {}
  const middlewares: JsonObject = {}
  const pending: string[] = []

  for (const [i, rule] of (route.spec?.rules ?? []).entries()) {
    const where = `spec.rules[${i}]`
    const service = ruleService(`${base}-${i}`, rule.backendRefs ?? [], context.serviceNamed)
    if ('refused' in service) return fail(`${where}: ${service.message}`, service.refused)
    if ('pending' in service) { pending.push(...service.pending); continue }
    Object.assign(services, service.services)
    // No matches, or an empty list, is the Gateway API's default: a PathPrefix of /.
    const matches = rule.matches !== undefined && rule.matches.length > 0 ? rule.matches : [{}]
    for (const [j, match] of matches.entries()) {
      const matcher = matchRule(match)
      if (matcher.startsWith('!')) return fail(`${where}.matches[${j}]: ${matcher.slice(1)}`)
      const filters = filterMiddlewares(`${base}-${i}-${j}`, rule.filters ?? [], match)
      if (typeof filters === 'string') return fail(`${where}.filters: ${filters}`)
      Object.assign(middlewares, filters)
      for (const { hostRule, tls } of listeners) {
        routers[`${base}-${i}-${j}${tls ? '-tls' : ''}`] = {
          rule: hostRule === undefined ? matcher : `${hostRule} && ${matcher}`,
          service: service.name,
          ...(Object.keys(filters).length > 0 ? { middlewares: Object.keys(filters) } : {}),
          ...(tls ? { tls: {} } : {})
        }
      }
    }
  }
  if (pending.length > 0) return { pending: { source, reason: [...new Set(pending)].join('; ') } }
  if (Object.keys(routers).length === 0) return fail('has no rules')
  return { fragment: { source, content: { http: { routers, services, ...(Object.keys(middlewares).length > 0 ? { middlewares } : {}) } } } }
}

/** The route's parents that are edges' Gateways, with the Gateway each names. */
export function edgeParents (route: HTTPRoute, context: Pick<GatewayContext, 'gateway' | 'classes'>): Array<{ parent: ParentRef, gateway: Gateway }> {
  const namespace = route.metadata?.namespace ?? 'default'
  return (route.spec?.parentRefs ?? []).flatMap(parent => {
    if ((parent.kind ?? 'Gateway') !== 'Gateway') return []
    const gateway = context.gateway(parent.namespace ?? namespace, parent.name)
    return gateway !== undefined && isEdgeGateway(gateway, context.classes) ? [{ parent, gateway }] : []
  })
}

/**
 * The host matcher of the plain and of the TLS listeners the route attaches
 * to (the hostnames of all listeners of a kind together; none when one of
 * them takes any host), or why a hostname cannot be one.
 */
function hostRules (attachments: Attachment[]): Array<{ hostRule: string | undefined, tls: boolean }> | string {
  const rules = []
  for (const tls of [false, true]) {
    const hostnames = attachments.filter(attachment => attachment.tls === tls).flatMap(attachment => attachment.hostnames)
    if (hostnames.length === 0) continue
    if (hostnames.includes(undefined)) { rules.push({ hostRule: undefined, tls }); continue }
    const hosts = [...new Set(hostnames)].map(host => host === undefined ? undefined : hostMatcher(host))
    if (hosts.includes(undefined)) return `a hostname of ${hostnames.join(', ')} is not a host name`
    rules.push({ hostRule: hosts.length === 1 ? hosts[0] : `(${hosts.join(' || ')})`, tls })
  }
  return rules
}

/** The listeners of the edges' Gateways this route attaches to, with the hostnames it takes on each. */
function attach (route: HTTPRoute, namespace: string, context: GatewayContext): Attachment[] {
  const attachments: Attachment[] = []
  for (const { parent, gateway } of edgeParents(route, context)) {
    const gatewayNamespace = gateway.metadata?.namespace ?? namespace
    for (const listener of gateway.spec?.listeners ?? []) {
      if (parent.sectionName !== undefined && listener.name !== parent.sectionName) continue
      if (listener.protocol !== 'HTTP' && listener.protocol !== 'HTTPS') continue
      if (gatewayNamespace !== namespace && listener.allowedRoutes?.namespaces?.from !== 'All') continue
      const hostnames = routeHostnames(route.spec?.hostnames ?? [], listener.hostname)
      if (hostnames.length > 0) attachments.push({ hostnames, tls: listener.protocol === 'HTTPS' })
    }
  }
  return attachments
}

/** The route's hostnames a listener takes (all of them when it names none); [undefined] for any host. */
function routeHostnames (hostnames: string[], listenerHostname: string | undefined): Array<string | undefined> {
  if (hostnames.length === 0) return [listenerHostname]
  if (listenerHostname === undefined) return hostnames
  return hostnames.filter(host => host === listenerHostname || (listenerHostname.startsWith('*.') && host.endsWith(listenerHostname.slice(1)) && !host.slice(0, -listenerHostname.length + 1).includes('.')))
}

/** The Traefik rule for one match, or `!` and why it cannot be one. */
function matchRule (match: RouteMatch): string {
  const parts: string[] = []
  const path = match.path?.value ?? '/'
  if (!RULE_VALUE.test(path)) return `!path "${path}" cannot go into a Traefik rule`
  const pathType = match.path?.type ?? 'PathPrefix'
  if (pathType === 'PathPrefix') parts.push(`PathPrefix(\`${path}\`)`)
  else if (pathType === 'Exact') parts.push(`Path(\`${path}\`)`)
  else if (pathType === 'RegularExpression') parts.push(`PathRegexp(\`${path}\`)`)
  // The cluster may hold a type newer than the types this was built with.
  else return `!path type ${pathType as string} is not supported`
  for (const [kind, list] of [['Header', match.headers ?? []], ['Query', match.queryParams ?? []]] as const) {
    for (const { type = 'Exact', name, value } of list) {
      if (!HEADER_NAME.test(name) || !RULE_VALUE.test(value)) return `!${kind.toLowerCase()} "${name}: ${value}" cannot go into a Traefik rule`
      if (type !== 'Exact' && type !== 'RegularExpression') return `!${kind.toLowerCase()} match type ${type as string} is not supported`
      parts.push(`${kind}${type === 'RegularExpression' ? 'Regexp' : ''}(\`${name}\`, \`${value}\`)`)
    }
  }
  if (match.method !== undefined) {
    if (!METHODS.has(match.method)) return `!method "${match.method}" is not an HTTP method`
    parts.push(`Method(\`${match.method}\`)`)
  }
  return parts.join(' && ')
}

/** A rule's backends as one Traefik service (weighted when several), the services it needs, pending, or why not. */
function ruleService (base: string, refs: BackendRef[], serviceNamed: GatewayContext['serviceNamed']): { name: string, services: JsonObject } | { pending: string[] } | Refusal {
  if (refs.length === 0) return refusal('UnsupportedValue', 'has no backendRefs')
  const services: JsonObject = {}
  const weighted: Array<{ name: string, weight: number }> = []
  const pending: string[] = []
  for (const ref of refs) {
    if ((ref.kind ?? 'Service') !== 'Service' || (ref.group ?? '') !== '') return refusal('InvalidKind', `backend "${ref.name}": only Service backends can be routed to from the edges`)
    if (ref.namespace !== undefined) return refusal('RefNotPermitted', `backend "${ref.name}": Services of other namespaces are not routed to (no ReferenceGrant support)`)
    if (ref.port === undefined) return refusal('UnsupportedValue', `backend "${ref.name}": a port is required`)
    const resolved = backendService(base, ref.name, { number: ref.port }, serviceNamed)
    if ('refused' in resolved) return resolved
    if ('pending' in resolved) { pending.push(resolved.pending); continue }
    services[resolved.name] = resolved.service
    weighted.push({ name: resolved.name, weight: ref.weight ?? 1 })
  }
  if (pending.length > 0) return { pending }
  const [only] = weighted
  if (weighted.length === 1 && only !== undefined) return { name: only.name, services }
  return { name: base, services: { ...services, [base]: { weighted: { services: weighted } } } }
}

/** The middlewares of a rule's filters for one of its matches, named after it, in order; or why a filter cannot be one. */
function filterMiddlewares (base: string, filters: RouteFilter[], match: RouteMatch): JsonObject | string {
  const middlewares: JsonObject = {}
  for (const [k, filter] of filters.entries()) {
    const name = `${base}-${k}`
    if (filter.type === 'RequestHeaderModifier' && filter.requestHeaderModifier !== undefined) {
      middlewares[name] = { headers: { customRequestHeaders: headerChanges(filter.requestHeaderModifier) } }
    } else if (filter.type === 'ResponseHeaderModifier' && filter.responseHeaderModifier !== undefined) {
      middlewares[name] = { headers: { customResponseHeaders: headerChanges(filter.responseHeaderModifier) } }
    } else if (filter.type === 'RequestRedirect' && filter.requestRedirect !== undefined) {
      const redirect = redirectMiddleware(filter.requestRedirect)
      if (typeof redirect === 'string') return redirect
      middlewares[name] = redirect
    } else if (filter.type === 'URLRewrite' && filter.urlRewrite !== undefined) {
      const rewrite = rewriteMiddlewares(name, filter.urlRewrite, match)
      if (typeof rewrite === 'string') return rewrite
      Object.assign(middlewares, rewrite)
    } else {
      return `${filter.type} has no Traefik equivalent on the edges`
    }
  }
  return middlewares
}

/** Set and add become the header's value (Traefik replaces), remove an empty one (Traefik deletes). */
function headerChanges (filter: HeaderFilter): JsonObject {
  return Object.fromEntries<string>([
    ...(filter.set ?? []).map(({ name, value }) => [name, value] as const),
    ...(filter.add ?? []).map(({ name, value }) => [name, value] as const),
    ...(filter.remove ?? []).map(name => [name, ''] as const)
  ])
}

const URL_PARTS = '^([a-z][a-z0-9+.-]*)://([^/:]+)(:[0-9]+)?(/.*)?$'

function redirectMiddleware (redirect: NonNullable<RouteFilter['requestRedirect']>): JsonObject | string {
  const path = redirect.path === undefined ? '${4}' : redirect.path.type === 'ReplaceFullPath' ? redirect.path.replaceFullPath ?? '/' : undefined
  if (path === undefined) return `RequestRedirect: path type ${redirect.path?.type ?? ''} is not supported`
  const port = redirect.port !== undefined ? `:${redirect.port}` : redirect.scheme !== undefined ? '' : '${3}'
  return {
    redirectRegex: {
      regex: URL_PARTS,
      replacement: `${redirect.scheme ?? '${1}'}://${redirect.hostname ?? '${2}'}${port}${path}`,
      permanent: redirect.statusCode === 301
    }
  }
}

function rewriteMiddlewares (name: string, rewrite: NonNullable<RouteFilter['urlRewrite']>, match: RouteMatch): JsonObject | string {
  const middlewares: JsonObject = {}
  if (rewrite.hostname !== undefined) middlewares[`${name}-host`] = { headers: { customRequestHeaders: { Host: rewrite.hostname } } }
  if (rewrite.path?.type === 'ReplaceFullPath') middlewares[`${name}-path`] = { replacePath: { path: rewrite.path.replaceFullPath ?? '/' } }
  else if (rewrite.path?.type === 'ReplacePrefixMatch') {
    const prefix = match.path?.value ?? '/'
    if ((match.path?.type ?? 'PathPrefix') !== 'PathPrefix') return 'URLRewrite: ReplacePrefixMatch needs a PathPrefix match'
    const replacement = (rewrite.path.replacePrefixMatch ?? '/').replace(/\/$/, '')
    middlewares[`${name}-path`] = { replacePathRegex: { regex: `^${escapeRegExp(prefix.replace(/\/$/, ''))}(/.*)?$`, replacement: `${replacement}$1` } }
  } else if (rewrite.path !== undefined) return `URLRewrite: path type ${rewrite.path.type} is not supported`
  return middlewares
}

function escapeRegExp (value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
