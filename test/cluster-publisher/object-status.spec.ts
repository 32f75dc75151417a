import test from 'ava'
import type { V1Service } from '@kubernetes/client-node'
import { buildDesiredConfig } from '../../cluster-publisher/desired-config.js'
import { GATEWAY_CONTROLLER, type Gateway, type HTTPRoute } from '../../cluster-publisher/kubernetes/gateway-api.js'
import { routeFromHTTPRoute } from '../../cluster-publisher/kubernetes/gateway-routes.js'
import { httpRouteStatus, standingOf } from '../../cluster-publisher/kubernetes/object-status.js'
import type { RouteStatusView } from '../../cluster-publisher/route-status.js'

const NOW = '2026-12-06T10:00:00Z'
const gateway: Gateway = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'edges', namespace: 'apps' }, spec: { gatewayClassName: 'dime-edge', listeners: [{ name: 'web', port: 80, protocol: 'HTTP' }] } }
const services: V1Service[] = [
  { metadata: { name: 'web', namespace: 'apps' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] }, status: { loadBalancer: { ingress: [{ ip: '192.168.50.10' }] } } },
  { metadata: { name: 'waiting', namespace: 'apps' }, spec: { type: 'LoadBalancer', ports: [{ port: 80 }] } },
  { metadata: { name: 'inside', namespace: 'apps' }, spec: { type: 'ClusterIP', ports: [{ port: 80 }] } }
]

function route (backendRef: Record<string, unknown>): HTTPRoute {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'shop', namespace: 'apps', generation: 3 }, spec: { parentRefs: [{ name: 'edges' }], rules: [{ backendRefs: [{ name: 'web', port: 80, ...backendRef }] }] } }
}

/** The HTTPRoute's conditions from our controller, as the publisher would write them after building the config. */
function conditions (httpRoute: HTTPRoute): Record<string, string> {
  const translated = routeFromHTTPRoute(httpRoute, {
    gateway: () => gateway,
    classes: [{ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'dime-edge' }, spec: { controllerName: GATEWAY_CONTROLLER } }],
    serviceNamed: name => services.find(service => service.metadata?.name === name)
  })
  const built = buildDesiredConfig(translated?.fragment === undefined ? [] : [translated.fragment], new Map(), () => undefined)
  const view: RouteStatusView = { addresses: [], fragments: built.fragments, pending: translated?.pending === undefined ? [] : [translated.pending] }
  const source = `httproute:apps/shop`
  const status = httpRouteStatus(httpRoute, [{ name: 'edges' }], standingOf(source, view), NOW) as { parents: Array<{ controllerName: string, conditions: Array<{ type: string, status: string, reason: string, observedGeneration?: number }> }> }
  const ours = status.parents.find(parent => parent.controllerName === GATEWAY_CONTROLLER)
  return Object.fromEntries((ours?.conditions ?? []).map(condition => [condition.type, `${condition.status} ${condition.reason} ${condition.observedGeneration ?? '-'}`]))
}

test('a route whose backends resolve is Accepted and ResolvedRefs, at the generation seen', t => {
  t.deepEqual(conditions(route({})), { Accepted: 'True Accepted 3', ResolvedRefs: 'True ResolvedRefs 3' })
})

test('each refusal carries its Gateway API reason from where it was found, not from its wording', t => {
  t.deepEqual(conditions(route({ name: 'gone' })), { Accepted: 'True Accepted 3', ResolvedRefs: 'False BackendNotFound 3' })
  t.deepEqual(conditions(route({ port: 8080 })), { Accepted: 'True Accepted 3', ResolvedRefs: 'False BackendNotFound 3' })
  t.deepEqual(conditions(route({ kind: 'Bucket', group: 'storage.example.com' })), { Accepted: 'True Accepted 3', ResolvedRefs: 'False InvalidKind 3' })
  t.deepEqual(conditions(route({ namespace: 'elsewhere' })), { Accepted: 'True Accepted 3', ResolvedRefs: 'False RefNotPermitted 3' })
  t.deepEqual(conditions(route({ name: 'inside' })), { Accepted: 'False UnsupportedValue 3', ResolvedRefs: 'False UnsupportedValue 3' })
})

test('a route waiting for its Service\'s address is taken and Pending', t => {
  t.deepEqual(conditions(route({ name: 'waiting' })), { Accepted: 'True Accepted 3', ResolvedRefs: 'False Pending 3' })
})
