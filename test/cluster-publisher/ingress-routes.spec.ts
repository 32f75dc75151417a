import test from 'ava'
import type { V1Ingress, V1IngressClass, V1Service } from '@kubernetes/client-node'
import fc from 'fast-check'
import { createFragmentValidator } from '../../cluster-publisher/fragment-schema.js'
import { DEFAULT_CLASS_ANNOTATION, INGRESS_CONTROLLER, isEdgeIngress, routeFromIngress } from '../../cluster-publisher/kubernetes/ingress-routes.js'
import { loadTraefikSchema } from '../../cluster-publisher/traefik-schema.js'

const validate = createFragmentValidator(loadTraefikSchema())

function lbService (name: string, addresses: string[] = ['192.168.50.10'], type = 'LoadBalancer'): V1Service {
  return {
    metadata: { name, namespace: 'apps' },
    spec: { type, ports: [{ name: 'http', port: 80 }, { name: 'admin', port: 9000 }] },
    status: { loadBalancer: { ingress: addresses.map(ip => ({ ip })) } }
  }
}

function ingress (spec: V1Ingress['spec'], annotations: Record<string, string> = {}): V1Ingress {
  return { metadata: { name: 'shop', namespace: 'apps', annotations }, spec: { ingressClassName: 'dime-edge', ...spec } }
}

const classless: V1Ingress = { metadata: { name: 'shop', namespace: 'apps' }, spec: {} }

const services = (...list: V1Service[]) => (name: string): V1Service | undefined => list.find(s => s.metadata?.name === name)
const backend = (name: string, port: { name?: string, number?: number } = { name: 'http' }) => ({ service: { name, port } })

interface RoutesShape { http: { routers: Record<string, { rule: string, service: string, priority?: number, tls?: object, entryPoints?: string[] }>, services: Record<string, { loadBalancer: { servers: Array<{ url: string }> } }> }, tls?: { certificates: object[] } }

/** The fragment's content, checked against Traefik's schema, read as the shape the tests look at. */
function content (route: ReturnType<typeof routeFromIngress>): RoutesShape & { schemaError: unknown } {
  const fragment = route.fragment
  if (fragment === undefined || !('content' in fragment)) throw new Error(`no content: ${JSON.stringify(route)}`)
  return { ...fragment.content as unknown as RoutesShape, schemaError: validate(fragment.content) }
}

const classes = (defaultClass: boolean): V1IngressClass[] => [
  { metadata: { name: 'dime-edge', annotations: defaultClass ? { [DEFAULT_CLASS_ANNOTATION]: 'true' } : {} }, spec: { controller: INGRESS_CONTROLLER } },
  { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } }
]

test('an Ingress is the edges\' when its class is ours, or when it names none and ours is the default', t => {
  t.true(isEdgeIngress(ingress({}), classes(false)))
  t.false(isEdgeIngress(ingress({ ingressClassName: 'nginx' }), classes(true)))
  t.false(isEdgeIngress(classless, classes(false)))
  t.true(isEdgeIngress(classless, classes(true)))
  t.false(isEdgeIngress(ingress({}), []), 'no IngressClass dime-edge installed')
})

test('rules and paths become routers to the backend Services\' LoadBalancer addresses, TLS hosts get TLS and the Secret\'s certificate', t => {
  const route = routeFromIngress(ingress({
    tls: [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }],
    rules: [
      { host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: backend('web') }, { path: '/admin', pathType: 'Exact', backend: backend('web', { number: 9000 }) }] } },
      { host: '*.shop.example.com', http: { paths: [{ path: '/api', pathType: 'ImplementationSpecific', backend: backend('api') }] } }
    ],
    defaultBackend: backend('web')
  }, { 'cdn-on-a-dime.io/entrypoints': 'websecure' }), services(lbService('web'), lbService('api', ['fd00::7'])))
  const config = content(route)
  t.is(config.schemaError, undefined)
  const routers = config.http.routers
  t.is(routers['ingress-apps-shop-0-0']?.rule, 'Host(`shop.example.com`) && PathPrefix(`/`)')
  t.is(routers['ingress-apps-shop-0-1']?.rule, 'Host(`shop.example.com`) && Path(`/admin`)')
  t.is(routers['ingress-apps-shop-1-0']?.rule, 'HostRegexp(`^[^.]+\\.shop\\.example\\.com$`) && PathPrefix(`/api`)')
  t.deepEqual(routers['ingress-apps-shop-0-0']?.tls, {})
  t.is(routers['ingress-apps-shop-1-0']?.tls, undefined, 'the wildcard host is not in spec.tls')
  t.deepEqual(routers['ingress-apps-shop-0-0']?.entryPoints, ['websecure'])
  t.is(routers['ingress-apps-shop-default']?.priority, 1)
  t.deepEqual(config.http.services['ingress-apps-shop-web-9000']?.loadBalancer.servers, [{ url: 'http://192.168.50.10:9000' }])
  t.deepEqual(config.http.services['ingress-apps-shop-api-80']?.loadBalancer.servers, [{ url: 'http://[fd00::7]:80' }])
  t.deepEqual(config.tls?.certificates, [{ certFile: 'secret:shop-tls/tls.crt', keyFile: 'secret:shop-tls/tls.key' }])
})

test('what the edges cannot reach breaks the Ingress with a reason; a Service without an address leaves it pending', t => {
  const error = (spec: V1Ingress['spec'], ...list: V1Service[]): string | undefined => {
    const fragment = routeFromIngress(ingress(spec), services(...list)).fragment
    return fragment !== undefined && 'error' in fragment ? fragment.error : undefined
  }
  const rule = (b: ReturnType<typeof backend> | { resource: { kind: string, name: string } }) => ({ rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: b }] } }] })
  t.regex(error(rule(backend('gone'))) ?? '', /paths\[0\]\.backend: the Service "gone" does not exist/)
  t.regex(error(rule(backend('web')), lbService('web', [], 'ClusterIP')) ?? '', /of type ClusterIP: the edges reach only LoadBalancer addresses/)
  t.regex(error(rule(backend('web', { name: 'grpc' })), lbService('web')) ?? '', /has no port grpc/)
  t.regex(error(rule({ resource: { kind: 'Bucket', name: 'b' } })) ?? '', /only Service backends/)
  t.regex(error({ rules: [{ host: 'not a host', http: { paths: [] } }] }) ?? '', /"not a host" is not a host name/)
  t.regex(error({}) ?? '', /no rules and no default backend/)
  const pending = routeFromIngress(ingress(rule(backend('web'))), services(lbService('web', [])))
  t.is(pending.fragment, undefined)
  t.regex(pending.pending?.reason ?? '', /the Service "web" has no LoadBalancer address yet/)
})

const label = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/)
const arbitraryPath = fc.record({
  path: fc.stringMatching(/^\/[a-z0-9/._-]{0,12}$/),
  pathType: fc.constantFrom('Prefix', 'Exact', 'ImplementationSpecific'),
  backend: fc.record({ service: fc.record({ name: fc.constantFrom('web', 'api'), port: fc.oneof(fc.record({ name: fc.constantFrom('http', 'admin') }), fc.record({ number: fc.constantFrom(80, 9000) })) }) })
})
const arbitraryRule = fc.record({
  host: fc.tuple(fc.boolean(), fc.array(label, { minLength: 1, maxLength: 3 })).map(([wildcard, labels]) => `${wildcard ? '*.' : ''}${labels.join('.')}.example`),
  http: fc.record({ paths: fc.array(arbitraryPath, { minLength: 1, maxLength: 4 }) })
}, { requiredKeys: ['http'] })

test('property: every Ingress accepted gives one router per path, each to a service it defines, valid against Traefik\'s schema', t => {
  fc.assert(fc.property(fc.array(arbitraryRule, { minLength: 1, maxLength: 4 }), fc.boolean(), (rules, withDefault) => {
    const route = routeFromIngress(ingress({ rules, ...(withDefault ? { defaultBackend: backend('web') } : {}) }), services(lbService('web'), lbService('api', ['10.0.0.1', '10.0.0.2'])))
    const config = content(route)
    const routers = Object.values(config.http.routers)
    return config.schemaError === undefined &&
      routers.length === rules.reduce((sum, rule) => sum + rule.http.paths.length, 0) + (withDefault ? 1 : 0) &&
      routers.every(router => config.http.services[router.service] !== undefined)
  }), { numRuns: 200 })
  t.pass()
})
