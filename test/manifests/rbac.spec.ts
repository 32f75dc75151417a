import test from 'ava'
import { readFileSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { STATE_CONFIG_MAP } from '../../cluster-publisher/kubernetes/kubernetes-parts.js'
import { ANNOTATIONS } from '../../cluster-publisher/kubernetes/service-routes.js'
import type { ApiCall } from '../../simulations/fake-kube-api.js'
import { fakeKubeApi, fragmentConfigMap, loadBalancerService, NAMESPACE, startKubePublisher } from '../fixtures/kube.js'
import { meshKeys, routeFragment, startEdge } from '../fixtures/mesh.js'
import { INGRESS_CONTROLLER } from '../../cluster-publisher/kubernetes/ingress-routes.js'
import { GATEWAY_CONTROLLER } from '../../cluster-publisher/kubernetes/gateway-api.js'
import { waitFor } from '../../simulations/wait-for.js'

interface Rule { apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[] }
interface Role { kind: string, metadata: { name: string, namespace: string }, rules: Rule[] }

const manifests = parseAllDocuments(readFileSync(new URL('../../manifests/publisher/rbac.yaml', import.meta.url), 'utf8'))
  .map(document => document.toJS() as Role)
const roles = manifests.filter(object => object.kind === 'Role')
const clusterRoles = manifests.filter(object => object.kind === 'ClusterRole')

function permissions (rules: Rule[]): Set<string> {
  return new Set(rules.flatMap(rule => rule.apiGroups.flatMap(group => rule.resources.flatMap(resource => rule.verbs.map(verb => `${group}/${resource}/${verb}`)))))
}

function key (call: ApiCall): string {
  return `${call.group}/${call.resource}/${call.verb}`
}

test('the Roles and the ClusterRole grant exactly the API calls the publisher makes, no more, no less', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('good', { 'routes.yaml': routeFragment('good', 'good.example.com') }))
  api.apply('services', loadBalancerService('waiting', { [ANNOTATIONS.hosts]: 'waiting.example.com' }))
  api.apply('services', loadBalancerService('shop', {}, ['192.168.50.241']))
  api.apply('ingressclasses', { metadata: { name: 'dime-edge' }, spec: { controller: INGRESS_CONTROLLER } })
  api.apply('ingresses', {
    metadata: { name: 'shop', namespace: NAMESPACE },
    spec: { ingressClassName: 'dime-edge', rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }] }
  })
  api.apply('gatewayclasses', { metadata: { name: 'dime-edge' }, spec: { controllerName: GATEWAY_CONTROLLER } })
  api.apply('gateways', { metadata: { name: 'edges', namespace: NAMESPACE }, spec: { gatewayClassName: 'dime-edge', listeners: [{ name: 'web', port: 80, protocol: 'HTTP' }] } })
  api.apply('httproutes', { metadata: { name: 'shop', namespace: NAMESPACE }, spec: { parentRefs: [{ name: 'edges' }], rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] } })
  const publisher = await startKubePublisher(t, keys, api, { leaderElect: true })
  await waitFor('leading and published', () => publisher.status().leader && publisher.status().version !== null ? true : undefined)
  await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), publicAddress: '203.0.113.7' })
  await waitFor('the status of the Ingress, the GatewayClass, the Gateway and the HTTPRoute written', () =>
    [api.get('ingresses', NAMESPACE, 'shop'), api.get('gatewayclasses', '', 'dime-edge'), api.get('gateways', NAMESPACE, 'edges'), api.get('httproutes', NAMESPACE, 'shop')]
      .every(object => object?.status !== undefined) ? true : undefined)
  const first = publisher.status().version
  api.apply('configmaps', fragmentConfigMap('broken', { 'routes.yaml': 'http: [' }))
  api.apply('configmaps', fragmentConfigMap('other', { 'routes.yaml': routeFragment('other', 'other.example.com') }))
  await waitFor('a second version (the state ConfigMap is updated)', () => publisher.status().version !== first ? true : undefined)
  await waitFor('Events recorded', () => api.list('events').length >= 2 ? true : undefined)
  await publisher.stop()

  // Cluster-scoped calls (IngressClasses) are the ClusterRole's; the rest, the Roles'.
  const namespaced = api.calls.filter(call => call.namespace !== '')
  t.deepEqual([...new Set(api.calls.filter(call => call.namespace === '').map(key))].sort(), [...permissions(clusterRoles.flatMap(role => role.rules))].sort())
  const made = new Set(namespaced.map(key))
  const home = roles.find(role => role.metadata.namespace === NAMESPACE)
  t.truthy(home)
  t.deepEqual([...made].sort(), [...permissions(home?.rules ?? [])].sort())
  // Rules narrowed to names cover every call to one object that they grant.
  for (const rule of home?.rules.filter(rule => rule.resourceNames !== undefined) ?? []) {
    const named = api.calls.filter(call => rule.resources.includes(call.resource) && rule.verbs.includes(call.verb))
    t.true(named.length > 0 && named.every(call => rule.resourceNames?.includes(call.name ?? '')), `${rule.resources.join()} ${rule.verbs.join()} only on ${rule.resourceNames?.join() ?? ''}`)
  }

  // Other watched namespaces need only what a namespace of routes uses: no Lease, no Pod, no state.
  const isState = (call: ApiCall): boolean => call.resource === 'configmaps' && (call.name === STATE_CONFIG_MAP || call.verb === 'create')
  const routesOnly = new Set(namespaced.filter(call => call.resource !== 'leases' && call.resource !== 'pods' && !isState(call)).map(key))
  for (const role of roles.filter(role => role.metadata.namespace !== NAMESPACE)) {
    t.deepEqual([...permissions(role.rules)].sort(), [...routesOnly].sort(), `Role ${role.metadata.namespace}/${role.metadata.name}`)
  }
})
