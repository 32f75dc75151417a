import test from 'ava'
import type { V1Service } from '@kubernetes/client-node'
import fc from 'fast-check'
import { createFragmentValidator } from '../../cluster-publisher/fragment-schema.js'
import { GATEWAY_CONTROLLER, type Gateway, type HTTPRoute } from '../../cluster-publisher/kubernetes/gateway-api.js'
import { certificatesFromGateway, routeFromHTTPRoute, type GatewayContext } from '../../cluster-publisher/kubernetes/gateway-routes.js'
import { routeFromIngress } from '../../cluster-publisher/kubernetes/ingress-routes.js'
import type { ServiceRoute } from '../../cluster-publisher/kubernetes/service-routes.js'
import { loadTraefikSchema } from '../../cluster-publisher/traefik-schema.js'

const validate = createFragmentValidator(loadTraefikSchema())

function lbService (name: string, addresses = ['192.168.50.10']): V1Service {
  return { metadata: { name, namespace: 'apps' }, spec: { type: 'LoadBalancer', ports: [{ name: 'http', port: 80 }, { name: 'alt', port: 8080 }] }, status: { loadBalancer: { ingress: addresses.map(ip => ({ ip })) } } }
}

const edgeGateway: Gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'edges', namespace: 'apps' },
  spec: {
    gatewayClassName: 'dime-edge',
    listeners: [
      { name: 'web', port: 80, protocol: 'HTTP' },
      { name: 'secure', port: 443, protocol: 'HTTPS', hostname: '*.example.com', tls: { certificateRefs: [{ name: 'wildcard-tls' }] } }
    ]
  }
}

function context (...services: V1Service[]): GatewayContext {
  return {
    gateway: (namespace, name) => namespace === 'apps' && name === 'edges' ? edgeGateway : undefined,
    classes: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'dime-edge' }, spec: { controllerName: GATEWAY_CONTROLLER } }],
    serviceNamed: name => services.find(service => service.metadata?.name === name)
  }
}

function httpRoute (spec: HTTPRoute['spec']): HTTPRoute {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'shop', namespace: 'apps' }, spec: { parentRefs: [{ name: 'edges', sectionName: 'web' }], ...spec } }
}

interface Routes { http: { routers: Record<string, { rule: string, service: string, middlewares?: string[], tls?: object }>, services: Record<string, { loadBalancer?: { servers: Array<{ url: string }> }, weighted?: { services: Array<{ name: string, weight: number }> } }>, middlewares?: Record<string, Record<string, unknown>> } }

function content (route: ServiceRoute | undefined): Routes & { schemaError: unknown } {
  const fragment = route?.fragment
  if (fragment === undefined || !('content' in fragment)) throw new Error(`no content: ${JSON.stringify(route)}`)
  return { ...fragment.content as unknown as Routes, schemaError: validate(fragment.content) }
}

function error (route: ServiceRoute | undefined): string {
  const fragment = route?.fragment
  return fragment !== undefined && 'error' in fragment ? fragment.error : ''
}

test('matches on hostnames, path, headers, query and method become one router each, to a weighted service over the backends', t => {
  const routes = content(routeFromHTTPRoute(httpRoute({
    hostnames: ['shop.example.com'],
    rules: [{
      matches: [{ path: { type: 'PathPrefix', value: '/api' }, headers: [{ name: 'X-Canary', value: 'yes' }], method: 'GET' }, { path: { type: 'Exact', value: '/health' }, queryParams: [{ type: 'RegularExpression', name: 'v', value: '^[0-9]+$' }] }],
      backendRefs: [{ name: 'web', port: 80, weight: 90 }, { name: 'canary', port: 8080, weight: 10 }]
    }]
  }), context(lbService('web'), lbService('canary', ['fd00::9']))))
  t.is(routes.schemaError, undefined)
  t.is(routes.http.routers['httproute-apps-shop-0-0']?.rule, 'Host(`shop.example.com`) && PathPrefix(`/api`) && Header(`X-Canary`, `yes`) && Method(`GET`)')
  t.is(routes.http.routers['httproute-apps-shop-0-1']?.rule, 'Host(`shop.example.com`) && Path(`/health`) && QueryRegexp(`v`, `^[0-9]+$`)')
  t.is(routes.http.routers['httproute-apps-shop-0-0']?.service, 'httproute-apps-shop-0')
  t.deepEqual(routes.http.services['httproute-apps-shop-0']?.weighted?.services, [{ name: 'httproute-apps-shop-0-web-80', weight: 90 }, { name: 'httproute-apps-shop-0-canary-8080', weight: 10 }])
  t.deepEqual(routes.http.services['httproute-apps-shop-0-canary-8080']?.loadBalancer?.servers, [{ url: 'http://[fd00::9]:8080' }])
})

test('on an HTTPS listener a route is served with TLS, for the hostnames the listener takes; the Gateway\'s certificates are its own fragment', t => {
  const routes = content(routeFromHTTPRoute(httpRoute({
    parentRefs: [{ name: 'edges' }],
    hostnames: ['shop.example.com', 'shop.example.org'],
    rules: [{ backendRefs: [{ name: 'web', port: 80 }] }]
  }), context(lbService('web'))))
  t.is(routes.schemaError, undefined)
  t.is(routes.http.routers['httproute-apps-shop-0-0']?.rule, '(Host(`shop.example.com`) || Host(`shop.example.org`)) && PathPrefix(`/`)')
  t.is(routes.http.routers['httproute-apps-shop-0-0-tls']?.rule, 'Host(`shop.example.com`) && PathPrefix(`/`)', 'the HTTPS listener takes *.example.com only')
  t.deepEqual(routes.http.routers['httproute-apps-shop-0-0-tls']?.tls, {})
  const certificates = certificatesFromGateway(edgeGateway)?.fragment
  t.deepEqual(certificates !== undefined && 'content' in certificates ? certificates.content : undefined, { tls: { certificates: [{ certFile: 'secret:wildcard-tls/tls.crt', keyFile: 'secret:wildcard-tls/tls.key' }] } })
})

test('the core filters become middlewares in order: headers, a redirect, a rewrite', t => {
  const routes = content(routeFromHTTPRoute(httpRoute({
    rules: [{
      matches: [{ path: { type: 'PathPrefix', value: '/old/' } }],
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Edge', value: 'dime' }], remove: ['X-Debug'] } },
        { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'Cache-Control', value: 'no-store' }] } },
        { type: 'URLRewrite', urlRewrite: { hostname: 'internal.example.com', path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/new' } } }
      ],
      backendRefs: [{ name: 'web', port: 80 }]
    }, {
      matches: [{ path: { type: 'Exact', value: '/moved' } }],
      filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', hostname: 'www.example.com', statusCode: 301 } }],
      backendRefs: [{ name: 'web', port: 80 }]
    }]
  }), context(lbService('web'))))
  t.is(routes.schemaError, undefined)
  t.deepEqual(routes.http.routers['httproute-apps-shop-0-0']?.middlewares, ['httproute-apps-shop-0-0-0', 'httproute-apps-shop-0-0-1', 'httproute-apps-shop-0-0-2-host', 'httproute-apps-shop-0-0-2-path'])
  t.deepEqual(routes.http.middlewares?.['httproute-apps-shop-0-0-0'], { headers: { customRequestHeaders: { 'X-Edge': 'dime', 'X-Debug': '' } } })
  t.deepEqual(routes.http.middlewares?.['httproute-apps-shop-0-0-2-path'], { replacePathRegex: { regex: '^/old(/.*)?$', replacement: '/new$1' } })
  t.deepEqual(routes.http.middlewares?.['httproute-apps-shop-1-0-0'], { redirectRegex: { regex: '^([a-z][a-z0-9+.-]*)://([^/:]+)(:[0-9]+)?(/.*)?$', replacement: 'https://www.example.com${4}', permanent: true } })
})

test('a route of no edge Gateway is not ours; what cannot be routed is a broken fragment with the reason; a Service without an address leaves it pending', t => {
  t.is(routeFromHTTPRoute(httpRoute({ parentRefs: [{ name: 'other' }], rules: [] }), context()), undefined)
  const rule = (extra: object) => httpRoute({ rules: [{ backendRefs: [{ name: 'web', port: 80 }], ...extra }] })
  t.regex(error(routeFromHTTPRoute(rule({ filters: [{ type: 'RequestMirror' }] }), context(lbService('web')))), /RequestMirror has no Traefik equivalent/)
  t.regex(error(routeFromHTTPRoute(rule({ matches: [{ method: 'FETCH' }] }), context(lbService('web')))), /method "FETCH"/)
  t.regex(error(routeFromHTTPRoute(rule({ matches: [{ headers: [{ name: 'X', value: 'a`b' }] }] }), context(lbService('web')))), /cannot go into a Traefik rule/)
  t.regex(error(routeFromHTTPRoute(rule({}), context())), /the Service "web" does not exist/)
  t.regex(error(routeFromHTTPRoute(httpRoute({ rules: [{ backendRefs: [{ name: 'web', port: 80, namespace: 'other' }] }] }), context(lbService('web')))), /other namespaces/)
  t.regex(routeFromHTTPRoute(rule({}), context(lbService('web', [])))?.pending?.reason ?? '', /no LoadBalancer address yet/)
})

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/)
const host = fc.array(label, { minLength: 1, maxLength: 3 }).map(labels => `${labels.join('.')}.example`)
const path = fc.record({ value: fc.stringMatching(/^\/[a-z0-9/._-]{0,12}$/), exact: fc.boolean() })

test('property: an Ingress and the HTTPRoute that says the same give the same routing, valid against Traefik\'s schema', t => {
  fc.assert(fc.property(fc.array(fc.record({ host, paths: fc.array(path, { minLength: 1, maxLength: 3 }) }), { minLength: 1, maxLength: 3 }), rules => {
    const services = context(lbService('web', ['10.0.0.1', '10.0.0.2']))
    const ingress = routeFromIngress({
      metadata: { name: 'shop', namespace: 'apps' },
      spec: { ingressClassName: 'dime-edge', rules: rules.map(rule => ({ host: rule.host, http: { paths: rule.paths.map(p => ({ path: p.value, pathType: p.exact ? 'Exact' : 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } })) } })) }
    }, services.serviceNamed)
    const routes = rules.map((rule, i) => routeFromHTTPRoute({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
      metadata: { name: `shop-${i}`, namespace: 'apps' },
      spec: { parentRefs: [{ name: 'edges', sectionName: 'web' }], hostnames: [rule.host], rules: [{ matches: rule.paths.map(p => ({ path: { type: p.exact ? 'Exact' : 'PathPrefix', value: p.value } })), backendRefs: [{ name: 'web', port: 80 }] }] }
    }, services))
    const routing = (config: Routes & { schemaError: unknown }): string[] => {
      if (config.schemaError !== undefined) throw new Error(JSON.stringify(config.schemaError))
      return Object.values(config.http.routers).map(router => `${router.rule} → ${JSON.stringify(config.http.services[router.service]?.loadBalancer?.servers)}`)
    }
    return JSON.stringify(routing(content(ingress)).sort()) === JSON.stringify(routes.flatMap(route => routing(content(route))).sort())
  }), { numRuns: 200 })
  t.pass()
})

const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/)
const safeValue = fc.stringMatching(/^[A-Za-z0-9 ._:/=-]{0,20}$/)
const arbitraryMatch = fc.record({
  path: fc.record({ type: fc.constantFrom('PathPrefix', 'Exact', 'RegularExpression'), value: fc.stringMatching(/^\/[a-z0-9/._-]{0,12}$/) }),
  headers: fc.array(fc.record({ type: fc.constantFrom('Exact', 'RegularExpression'), name: headerName, value: safeValue }), { maxLength: 2 }),
  queryParams: fc.array(fc.record({ type: fc.constantFrom('Exact', 'RegularExpression'), name: headerName, value: safeValue }), { maxLength: 2 }),
  method: fc.constantFrom('GET', 'POST', 'DELETE')
}, { requiredKeys: [] })
const headerChange = fc.record({ set: fc.array(fc.record({ name: headerName, value: safeValue }), { maxLength: 2 }), remove: fc.array(headerName, { maxLength: 2 }) }, { requiredKeys: [] })
const arbitraryFilter = fc.oneof(
  headerChange.map(change => ({ type: 'RequestHeaderModifier', requestHeaderModifier: change })),
  headerChange.map(change => ({ type: 'ResponseHeaderModifier', responseHeaderModifier: change })),
  fc.record({ scheme: fc.constantFrom('http', 'https'), hostname: host, statusCode: fc.constantFrom(301, 302) }, { requiredKeys: [] }).map(redirect => ({ type: 'RequestRedirect', requestRedirect: redirect })),
  fc.record({ hostname: host, path: fc.record({ type: fc.constant('ReplaceFullPath'), replaceFullPath: fc.stringMatching(/^\/[a-z0-9/]{0,10}$/) }) }, { requiredKeys: [] }).map(rewrite => ({ type: 'URLRewrite', urlRewrite: rewrite }))
)
const arbitraryRule = fc.record({
  matches: fc.array(arbitraryMatch, { maxLength: 3 }),
  filters: fc.array(arbitraryFilter, { maxLength: 3 }),
  backendRefs: fc.array(fc.record({ name: fc.constantFrom('web', 'api'), port: fc.constantFrom(80, 8080), weight: fc.integer({ min: 0, max: 100 }) }), { minLength: 1, maxLength: 3 })
}, { requiredKeys: ['backendRefs'] })

test('property: every HTTPRoute taken gives routers to services it defines, with middlewares it defines, valid against Traefik\'s schema', t => {
  fc.assert(fc.property(fc.array(host, { maxLength: 3 }), fc.array(arbitraryRule, { minLength: 1, maxLength: 3 }), (hostnames, rules) => {
    const route = routeFromHTTPRoute(httpRoute({ parentRefs: [{ name: 'edges' }], hostnames, rules }), context(lbService('web'), lbService('api')))
    if (route?.fragment !== undefined && 'error' in route.fragment) return /URLRewrite|RequestRedirect/.test(route.fragment.error)
    const config = content(route)
    const routers = Object.values(config.http.routers)
    return config.schemaError === undefined && routers.length > 0 &&
      routers.every(router => config.http.services[router.service] !== undefined && (router.middlewares ?? []).every(name => config.http.middlewares?.[name] !== undefined))
  }), { numRuns: 300 })
  t.pass()
})

test('a route on several plain listeners gets one router taking the hostnames of them all', t => {
  const twoListeners: Gateway = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'edges', namespace: 'apps' }, spec: { gatewayClassName: 'dime-edge', listeners: [{ name: 'a', port: 80, protocol: 'HTTP', hostname: 'a.example.com' }, { name: 'b', port: 8080, protocol: 'HTTP', hostname: 'b.example.com' }] } }
  const routes = content(routeFromHTTPRoute(httpRoute({
    parentRefs: [{ name: 'edges', sectionName: 'a' }, { name: 'edges', sectionName: 'b' }],
    hostnames: ['a.example.com', 'b.example.com'],
    rules: [{ backendRefs: [{ name: 'web', port: 80 }] }]
  }), { ...context(lbService('web')), gateway: () => twoListeners }))
  t.deepEqual(Object.keys(routes.http.routers), ['httproute-apps-shop-0-0'])
  t.is(routes.http.routers['httproute-apps-shop-0-0']?.rule, '(Host(`a.example.com`) || Host(`b.example.com`)) && PathPrefix(`/`)')
})
