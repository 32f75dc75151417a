import test, { type ExecutionContext } from 'ava'
import { ROLLOUT_POLICY_CONFIG_MAP, ROLLOUT_POLICY_KEY } from '../../cluster-publisher/constants.js'
import { createServer, type AddressInfo } from 'node:net'
import { ANNOTATIONS } from '../../cluster-publisher/kubernetes/service-routes.js'
import { INGRESS_CONTROLLER } from '../../cluster-publisher/kubernetes/ingress-routes.js'
import { GATEWAY_CONTROLLER } from '../../cluster-publisher/kubernetes/gateway-api.js'
import { capturedLog } from '../fixtures/captured-log.js'
import type { FakeKubeApi, KubeObject } from '../../simulations/fake-kube-api.js'
import type { Publisher } from '../../cluster-publisher/create-publisher.js'
import { LEADER_LABEL } from '../../cluster-publisher/kubernetes/leader-label.js'
import { fakeKubeApi, fragmentConfigMap, loadBalancerService, NAMESPACE, servedRouters, startKubePublisher } from '../fixtures/kube.js'
import { meshKeys, routeFragment, startEdge, type MeshKeys } from '../fixtures/mesh.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { deadBackend, listeningBackend } from '../../simulations/backends.js'
import { NotLeadingError } from '../../cluster-publisher/leadership-transitions.js'

const SETTLE_MS = 60_000

async function serves (edge: Parameters<typeof servedRouters>[0], routers: string[]): Promise<true | undefined> {
  return JSON.stringify(await servedRouters(edge)) === JSON.stringify(routers) ? true : undefined
}

test('ConfigMaps added, changed and deleted reach the edges; unlabelled ones are ignored', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('whoami', { 'routes.yaml': routeFragment('whoami', 'whoami.example.com') }))
  api.apply('configmaps', fragmentConfigMap('unrelated', { 'x.yaml': routeFragment('nope', 'nope.example.com') }, false))
  const publisher = await startKubePublisher(t, keys, api)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('whoami served', async () => await serves(edge, ['whoami']), SETTLE_MS)

  api.apply('configmaps', fragmentConfigMap('video', { 'routes.yaml': routeFragment('video', 'video.example.com') }))
  await waitFor('video served', async () => await serves(edge, ['video', 'whoami']), SETTLE_MS)
  api.apply('configmaps', fragmentConfigMap('video', { 'routes.yaml': routeFragment('stream', 'video.example.com') }))
  await waitFor('video renamed', async () => await serves(edge, ['stream', 'whoami']), SETTLE_MS)
  api.remove('configmaps', NAMESPACE, 'video')
  await waitFor('video removed', async () => await serves(edge, ['whoami']), SETTLE_MS)
  t.deepEqual(publisher.status().fragments.map(f => f.source), [`${NAMESPACE}/whoami/routes.yaml`])
})

test('conflicting and invalid fragments are left out, reported in /status and as Events on their ConfigMaps', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('a', { 'routes.yaml': routeFragment('shared', 'a.example.com') }))
  api.apply('configmaps', fragmentConfigMap('b', { 'routes.yaml': routeFragment('shared', 'b.example.com') }))
  api.apply('configmaps', fragmentConfigMap('c', { 'routes.yaml': 'http:\n  routers:\n    c: { rule: "Host(`c`)" }\n' }))
  const publisher = await startKubePublisher(t, keys, api)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('a served', async () => await serves(edge, ['shared']), SETTLE_MS)
  t.like(publisher.status().fragments.find(f => f.source === `${NAMESPACE}/b/routes.yaml`),
    { status: 'rejected', problem: 'conflict', reason: `conflicts with ${NAMESPACE}/a/routes.yaml at http.routers.shared.rule` })
  const events = await waitFor('two warning Events', () => {
    const warnings = api.list('events').filter(event => event.type === 'Warning')
    return warnings.length >= 2 ? warnings : undefined
  })
  const byObject = Object.fromEntries(events.map(event => [(event.involvedObject as { name: string }).name, event]))
  t.like(byObject.b, { reason: 'FragmentConflict', involvedObject: { kind: 'ConfigMap', namespace: NAMESPACE } })
  t.like(byObject.c, { reason: 'FragmentInvalid' })
  t.regex(String(byObject.c?.message), /must have required property 'service'/)
})

test('an annotated LoadBalancer Service is routed to its addresses once it has them, and pending before', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('base', { 'routes.yaml': routeFragment('base', 'base.example.com') }))
  api.apply('services', loadBalancerService('whoami', { [ANNOTATIONS.hosts]: 'whoami.example.com', [ANNOTATIONS.entryPoints]: 'web' }))
  const publisher = await startKubePublisher(t, keys, api)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('base served', async () => await serves(edge, ['base']), SETTLE_MS)
  t.deepEqual(publisher.status().pending, [{ source: `service:${NAMESPACE}/whoami`, reason: 'no LoadBalancer address yet' }])
  await waitFor('a RoutePending Event', () => api.list('events').some(event => event.reason === 'RoutePending') ? true : undefined)

  api.apply('services', loadBalancerService('whoami', { [ANNOTATIONS.hosts]: 'whoami.example.com', [ANNOTATIONS.entryPoints]: 'web' }, ['192.168.50.240']))
  await waitFor('whoami routed', async () => await serves(edge, ['base', `${NAMESPACE}-whoami`]), SETTLE_MS)
  const config = await (await fetch(`${edge.serveUrl() ?? ''}/config`)).json() as { http: { routers: Record<string, unknown>, services: Record<string, unknown> } }
  t.deepEqual(config.http.routers[`${NAMESPACE}-whoami`], { entryPoints: ['web'], rule: 'Host(`whoami.example.com`)', service: `${NAMESPACE}-whoami` })
  t.deepEqual(config.http.services[`${NAMESPACE}-whoami`], { loadBalancer: { servers: [{ url: 'http://192.168.50.240:80' }] } })

  api.apply('services', loadBalancerService('whoami', { [ANNOTATIONS.hosts]: 'whoami.example.com' }))
  await waitFor('whoami unrouted when it loses its address', async () => await serves(edge, ['base']), SETTLE_MS)
})

test('an Ingress of the edges\' class is routed to its backend Service once the class exists and the Service has an address; others are ignored; a broken one gets an Event', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  const shop = (className: string, service = 'shop'): KubeObject => ({
    metadata: { name: `shop-${className}`, namespace: NAMESPACE },
    spec: { ingressClassName: className, rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }] }
  })
  api.apply('configmaps', fragmentConfigMap('base', { 'routes.yaml': routeFragment('base', 'base.example.com') }))
  api.apply('services', loadBalancerService('shop', {}))
  api.apply('ingresses', shop('dime-edge'))
  api.apply('ingresses', shop('nginx'))
  const publisher = await startKubePublisher(t, keys, api)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('base served', async () => await serves(edge, ['base']), SETTLE_MS)
  t.deepEqual(publisher.status().pending, [], 'no IngressClass dime-edge yet: the Ingress is not the edges\'')

  api.apply('ingressclasses', { metadata: { name: 'dime-edge' }, spec: { controller: INGRESS_CONTROLLER } })
  api.apply('ingressclasses', { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } })
  await waitFor('the Ingress pending on its Service\'s address', () => publisher.status().pending.some(p => p.source === `ingress:${NAMESPACE}/shop-dime-edge`) ? true : undefined, SETTLE_MS)
  api.apply('services', loadBalancerService('shop', {}, ['192.168.50.241']))
  const router = `ingress-${NAMESPACE}-shop-dime-edge-0-0`
  await waitFor('the Ingress routed', async () => await serves(edge, ['base', router]), SETTLE_MS)
  const config = await (await fetch(`${edge.serveUrl() ?? ''}/config`)).json() as { http: { routers: Record<string, { rule: string, service: string }>, services: Record<string, unknown> } }
  t.is(config.http.routers[router]?.rule, 'Host(`shop.example.com`) && PathPrefix(`/`)')
  t.deepEqual(config.http.services[config.http.routers[router]?.service ?? ''], { loadBalancer: { servers: [{ url: 'http://192.168.50.241:80' }] } })

  api.apply('ingresses', shop('dime-edge', 'gone'))
  await waitFor('an Event on the Ingress', () => api.list('events').some(event => (event.involvedObject as { kind?: string } | undefined)?.kind === 'Ingress' && String(event.message).includes('the Service "gone" does not exist')) ? true : undefined, SETTLE_MS)
  t.true(await serves(edge, ['base', router]), 'its last good routes stay published')
})

test('the edges\' public addresses are written into the status of the Ingresses they serve, through a conflict and an outage; an edge gone silent leaves it', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  const addressesOf = (name: string): string[] => ((api.get('ingresses', NAMESPACE, name)?.status as { loadBalancer?: { ingress?: Array<{ ip?: string, hostname?: string }> } } | undefined)
    ?.loadBalancer?.ingress ?? []).map(entry => entry.ip ?? entry.hostname ?? '')
  api.apply('ingressclasses', { metadata: { name: 'dime-edge' }, spec: { controller: INGRESS_CONTROLLER } })
  api.apply('services', loadBalancerService('shop', {}, ['192.168.50.241']))
  const shop = (name: string, service: string): KubeObject => ({
    metadata: { name, namespace: NAMESPACE },
    spec: { ingressClassName: 'dime-edge', rules: [{ host: `${name}.example.com`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] } }] }
  })
  api.apply('ingresses', shop('shop', 'shop'))
  api.apply('ingresses', shop('broken', 'gone'))
  api.fail('ingresses/status', true, 409)
  const publisher = await startKubePublisher(t, keys, api, { missingAfterMs: 3000 })
  await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), publicAddress: '203.0.113.7' })
  const leaving = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), publicAddress: 'edge-2.example.net' })
  await waitFor('a status write refused with 409', () => api.calls.some(call => call.resource === 'ingresses/status') ? true : undefined, SETTLE_MS)
  t.deepEqual(addressesOf('shop'), [])

  api.fail('ingresses/status', false)
  await waitFor('both edges in the status, after the conflict', () => addressesOf('shop').length === 2 ? true : undefined, SETTLE_MS)
  t.deepEqual(addressesOf('shop'), ['203.0.113.7', 'edge-2.example.net'])
  t.deepEqual(addressesOf('broken'), [], 'an Ingress the edges do not serve says nothing')

  api.fail('ingresses/status')
  await leaving.stop()
  const failedCalls = api.calls.length
  await waitFor('a write during the outage', () => api.calls.slice(failedCalls).some(call => call.resource === 'ingresses/status') ? true : undefined, SETTLE_MS)
  api.fail('ingresses/status', false)
  await waitFor('the silent edge gone from the status, after the outage', () => addressesOf('shop').join() === '203.0.113.7' ? true : undefined, SETTLE_MS)
  t.deepEqual(addressesOf('shop'), ['203.0.113.7'])
})

test('an HTTPRoute on a Gateway of the edges\' GatewayClass is routed to its backend Service, weighted; without the Gateway API the rest carries on, said once', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('base', { 'routes.yaml': routeFragment('base', 'base.example.com') }))
  api.apply('services', loadBalancerService('shop', {}, ['192.168.50.241']))
  api.apply('services', loadBalancerService('canary', {}, ['192.168.50.242']))
  api.apply('gatewayclasses', { metadata: { name: 'dime-edge' }, spec: { controllerName: GATEWAY_CONTROLLER } })
  api.apply('gateways', { metadata: { name: 'edges', namespace: NAMESPACE }, spec: { gatewayClassName: 'dime-edge', listeners: [{ name: 'web', port: 80, protocol: 'HTTP' }] } })
  api.apply('httproutes', {
    metadata: { name: 'shop', namespace: NAMESPACE },
    spec: { parentRefs: [{ name: 'edges' }], hostnames: ['shop.example.com'], rules: [{ backendRefs: [{ name: 'shop', port: 80, weight: 9 }, { name: 'canary', port: 80, weight: 1 }] }] }
  })
  const publisher = await startKubePublisher(t, keys, api)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  const router = `httproute-${NAMESPACE}-shop-0-0`
  await waitFor('the HTTPRoute routed', async () => await serves(edge, ['base', router]), SETTLE_MS)
  const config = await (await fetch(`${edge.serveUrl() ?? ''}/config`)).json() as { http: { routers: Record<string, { rule: string, service: string }>, services: Record<string, { weighted?: unknown }> } }
  t.is(config.http.routers[router]?.rule, 'Host(`shop.example.com`) && PathPrefix(`/`)')
  t.deepEqual(config.http.services[config.http.routers[router]?.service ?? '']?.weighted, { services: [{ name: `httproute-${NAMESPACE}-shop-0-shop-80`, weight: 9 }, { name: `httproute-${NAMESPACE}-shop-0-canary-80`, weight: 1 }] })

  const without = await fakeKubeApi(t)
  without.gatewayApiInstalled = false
  without.apply('configmaps', fragmentConfigMap('base', { 'routes.yaml': routeFragment('base', 'base.example.com') }))
  const captured = capturedLog()
  const alone = await startKubePublisher(t, keys, without, { log: captured.log })
  await waitFor('published without the Gateway API', () => alone.status().version !== null ? true : undefined, SETTLE_MS)
  t.deepEqual(alone.status().fragments.map(f => f.source), [`${NAMESPACE}/base/routes.yaml`])
  t.is(captured.lines().filter(line => String(line.msg).includes('the Gateway API is not installed')).length, 1)
})

test('the Gateway API objects say what was taken and why not: the class accepted, the Gateway at the edges\' addresses, each route\'s Accepted and ResolvedRefs', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  interface Conditions { conditions?: Array<{ type: string, status: string, reason: string }> }
  const condition = (status: unknown, type: string): string => {
    const found = (status as Conditions | undefined)?.conditions?.find(c => c.type === type)
    return found === undefined ? 'none' : `${found.status} ${found.reason}`
  }
  const parent = (name: string): unknown => (api.get('httproutes', NAMESPACE, name)?.status as { parents?: Array<{ controllerName: string }> } | undefined)?.parents?.find(p => p.controllerName === GATEWAY_CONTROLLER)
  const route = (name: string, rule: object): KubeObject => ({ metadata: { name, namespace: NAMESPACE }, spec: { parentRefs: [{ name: 'edges' }], hostnames: [`${name}.example.com`], rules: [rule] } })
  api.apply('services', loadBalancerService('shop', {}, ['192.168.50.241']))
  api.apply('gatewayclasses', { metadata: { name: 'dime-edge' }, spec: { controllerName: GATEWAY_CONTROLLER } })
  api.apply('gateways', { metadata: { name: 'edges', namespace: NAMESPACE }, spec: { gatewayClassName: 'dime-edge', listeners: [{ name: 'web', port: 80, protocol: 'HTTP' }] } })
  api.apply('httproutes', route('shop', { backendRefs: [{ name: 'shop', port: 80 }] }))
  api.apply('httproutes', route('mirror', { filters: [{ type: 'RequestMirror' }], backendRefs: [{ name: 'shop', port: 80 }] }))
  const publisher = await startKubePublisher(t, keys, api)
  await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), publicAddress: '203.0.113.7' })

  await waitFor('the Gateway programmed at the edge\'s address', () => condition(api.get('gateways', NAMESPACE, 'edges')?.status, 'Programmed') === 'True Programmed' ? true : undefined, SETTLE_MS)
  t.deepEqual((api.get('gateways', NAMESPACE, 'edges')?.status as { addresses: unknown }).addresses, [{ type: 'IPAddress', value: '203.0.113.7' }])
  t.is(condition(api.get('gatewayclasses', '', 'dime-edge')?.status, 'Accepted'), 'True Accepted')
  await waitFor('the routes\' conditions', () => parent('shop') !== undefined && parent('mirror') !== undefined ? true : undefined, SETTLE_MS)
  t.deepEqual([condition(parent('shop'), 'Accepted'), condition(parent('shop'), 'ResolvedRefs')], ['True Accepted', 'True ResolvedRefs'])
  t.deepEqual([condition(parent('mirror'), 'Accepted'), condition(parent('mirror'), 'ResolvedRefs')], ['False UnsupportedValue', 'False UnsupportedValue'])

  api.apply('httproutes', route('shop', { backendRefs: [{ name: 'gone', port: 80 }] }))
  await waitFor('the broken backend reported, its last good routes still served', () => condition(parent('shop'), 'ResolvedRefs') === 'False BackendNotFound' ? true : undefined, SETTLE_MS)
  t.is(condition(parent('shop'), 'Accepted'), 'True Accepted')

  // Level-triggered, not rewriting: a status that says what it should is left alone (the resync runs every 500 ms here).
  const writes = (): number => api.calls.filter(call => call.resource.endsWith('/status')).length
  const settled = writes()
  await new Promise(resolve => setTimeout(resolve, 2000))
  t.is(writes(), settled)
})

test('nothing is published before every informer has listed; the API server failing leaves the last config standing', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('whoami', { 'routes.yaml': routeFragment('whoami', 'whoami.example.com') }))
  api.fail('services')
  const publisher = await startKubePublisher(t, keys, api)
  const failures = async (resource: string): Promise<number> => await scrapeMetric(publisher.adminUrl() ?? '', 'dime_publisher_kubernetes_failures_total', { resource })
  await waitFor('the Services list failing twice', async () => await failures('services') >= 2 ? true : undefined)
  t.is(publisher.status().version, null, 'a view without Services is partial: not published')
  // The other informers may still be on their first list: wait until only Services are left.
  const readyz = await waitFor('/readyz waiting for Services', async () => {
    const response = await fetch(`${publisher.adminUrl() ?? ''}/readyz`)
    const answer = { ...(await response.json()) as { reason: string }, code: response.status }
    return /waiting for the first list of services/.test(answer.reason) ? answer : undefined
  })
  t.is(readyz.code, 503)

  api.fail('services', false)
  const version = await waitFor('published once services list', () => publisher.status().version ?? undefined, SETTLE_MS)
  const before = await failures('configmaps')
  api.fail('configmaps')
  api.cutWatches()
  await waitFor('the ConfigMaps relist failing twice', async () => await failures('configmaps') >= before + 2 ? true : undefined)
  t.is(publisher.status().version, version, 'the last published config stands')
})

test('an API server restart mid-watch and a 410 Gone are survived: later changes still arrive', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('a', { 'routes.yaml': routeFragment('a', 'a.example.com') }))
  const publisher = await startKubePublisher(t, keys, api)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('a served', async () => await serves(edge, ['a']), SETTLE_MS)

  await api.restart()
  api.apply('configmaps', fragmentConfigMap('b', { 'routes.yaml': routeFragment('b', 'b.example.com') }))
  await waitFor('b served after the restart', async () => await serves(edge, ['a', 'b']), SETTLE_MS)

  // Changes made while the watch is cut and history is compacted: the resumed watch gets 410 and relists.
  api.cutWatches()
  api.remove('configmaps', NAMESPACE, 'a')
  api.apply('configmaps', fragmentConfigMap('c', { 'routes.yaml': routeFragment('c', 'c.example.com') }))
  api.compact()
  await waitFor('the relist shows a gone and c added', async () => await serves(edge, ['b', 'c']), SETTLE_MS)
  t.true(api.calls.filter(call => call.verb === 'list' && call.resource === 'configmaps').length >= 2, 'relisted')
})

test('a burst of 100 ConfigMap edits becomes a few versions, and the watches do not grow with the edges', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('burst', { 'routes.yaml': routeFragment('r0', 'burst.example.com') }))
  const publisher = await startKubePublisher(t, keys, api)
  const edges = await Promise.all([1, 2, 3].map(async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })))
  await waitFor('r0 served', async () => await serves(edges[0]!, ['r0']), SETTLE_MS)
  const before = publisher.status().version ?? 0
  let versions = 0
  const seen = new Set<number>()
  const watcher = setInterval(() => { const v = publisher.status().version; if (v !== null && v !== before && !seen.has(v)) { seen.add(v); versions++ } }, 5)
  for (let i = 1; i <= 100; i++) api.apply('configmaps', fragmentConfigMap('burst', { 'routes.yaml': routeFragment(`r${i}`, 'burst.example.com') }))
  await waitFor('r100 served everywhere', async () => (await Promise.all(edges.map(async edge => await serves(edge, ['r100'])))).every(Boolean) ? true : undefined, SETTLE_MS)
  clearInterval(watcher)
  t.true(versions >= 1 && versions <= 5, `${versions} versions for 100 edits`)
  const watches = api.calls.filter(call => call.verb === 'watch')
  t.is(watches.length, 9, 'one watch each on labelled ConfigMaps, Services, Secrets, Ingresses, IngressClasses, GatewayClasses, Gateways and HTTPRoutes, and the publisher\'s own ConfigMaps (the rollout policy), however many edges')
})

test('a config that would drop every router is not published without --allow-empty, and is reported', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('only', { 'routes.yaml': routeFragment('only', 'only.example.com') }))
  const publisher = await startKubePublisher(t, keys, api)
  const version = await waitFor('published', () => publisher.status().version ?? undefined, SETTLE_MS)
  api.remove('configmaps', NAMESPACE, 'only')
  await waitFor('the refusal is reported', () => /--allow-empty/.test(publisher.status().lastError ?? '') ? true : undefined, SETTLE_MS)
  t.is(publisher.status().version, version)
})

test('a replica that does not hold the Lease writes no status', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('leases', { metadata: { name: 'dime-publisher', namespace: NAMESPACE }, spec: { holderIdentity: 'publisher-elsewhere', leaseDurationSeconds: 3600, renewTime: new Date().toISOString() } })
  api.apply('ingressclasses', { metadata: { name: 'dime-edge' }, spec: { controller: INGRESS_CONTROLLER } })
  api.apply('services', loadBalancerService('shop', {}, ['192.168.50.241']))
  api.apply('ingresses', { metadata: { name: 'shop', namespace: NAMESPACE }, spec: { ingressClassName: 'dime-edge', rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }] } })
  const follower = await startKubePublisher(t, keys, api, { podName: 'publisher-b', leaderElect: true })
  await waitFor('the follower has read the Lease and watches the Ingresses', () => api.calls.some(call => call.resource === 'leases') && api.calls.some(call => call.resource === 'ingresses' && call.verb === 'watch') ? true : undefined, SETTLE_MS)
  // The status resyncs every 500 ms in these tests: a leader would have written the Ingress's empty address list by now.
  await new Promise(resolve => setTimeout(resolve, 2000))
  t.false(follower.status().leader)
  t.false(api.calls.some(call => call.resource.endsWith('/status')))
})

/** The fake API server with one fragment, and a first replica (publisher-a) of two that leads and has published. */
async function firstOfTwoReplicas (t: ExecutionContext): Promise<{ api: FakeKubeApi, keys: MeshKeys, first: Publisher, version: number }> {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('whoami', { 'routes.yaml': routeFragment('whoami', 'whoami.example.com') }))
  const first = await startKubePublisher(t, keys, api, { podName: 'publisher-a', leaderElect: true })
  const version = await waitFor('the first replica leads and publishes', () => first.status().leader ? first.status().version ?? undefined : undefined, SETTLE_MS)
  return { api, keys, first, version }
}

test('a pin is an Event on the leader\'s Pod and survives a leader change, through the state ConfigMap', async t => {
  const { api, keys, first, version: v1 } = await firstOfTwoReplicas(t)
  api.apply('configmaps', fragmentConfigMap('video', { 'routes.yaml': routeFragment('video', 'video.example.com') }))
  await waitFor('a second version', () => (first.status().version ?? 0) > v1 ? true : undefined, SETTLE_MS)
  await first.pin(v1)
  const podEvent = (reason: string, pod: string): boolean => api.list('events').some(event => event.reason === reason &&
    (event.involvedObject as { kind?: string, name?: string } | undefined)?.kind === 'Pod' && (event.involvedObject as { name?: string }).name === pod)
  await waitFor('a Pinned Event on the leader\'s Pod', () => podEvent('Pinned', 'publisher-a') ? true : undefined, SETTLE_MS)

  const second = await startKubePublisher(t, keys, api, { podName: 'publisher-b', leaderElect: true })
  await t.throwsAsync(second.pin(v1), { instanceOf: NotLeadingError }, 'only the leader pins')
  await t.throwsAsync(second.promote(false), { instanceOf: NotLeadingError, message: /this replica does not lead: promote on the leader/ }, 'only the leader promotes')
  await t.throwsAsync(second.abort(), { instanceOf: NotLeadingError, message: /this replica does not lead: abort on the leader/ }, 'only the leader aborts')
  await first.stop()
  await waitFor('the second replica leads, still pinned', () => second.status().leader && second.status().pinned?.version === v1 ? true : undefined, SETTLE_MS)
  t.true(await second.unpin())
  await waitFor('an Unpinned Event on the new leader\'s Pod', () => podEvent('Unpinned', 'publisher-b') ? true : undefined, SETTLE_MS)
  t.is(second.status().pinned, null)
})

test('two replicas: only the Lease holder publishes and carries the leader label; a handover continues the versions', async t => {
  const { api, keys, first, version: leaderVersion } = await firstOfTwoReplicas(t)
  const second = await startKubePublisher(t, keys, api, { podName: 'publisher-b', leaderElect: true })
  const edge = await startEdge(t, keys, { bootstrap: [first.mesh.addresses()[0] ?? ''] })
  await waitFor('the edge serves', () => edge.status().version === leaderVersion ? true : undefined, SETTLE_MS)
  await waitFor('the leader carries the label', () => api.get('pods', NAMESPACE, 'publisher-a')?.metadata.labels?.[LEADER_LABEL] === 'true' ? true : undefined)
  t.false(second.status().leader)
  t.is(api.get('pods', NAMESPACE, 'publisher-b')?.metadata.labels?.[LEADER_LABEL], undefined)

  // The second replica joins the mesh through the edge once it leads.
  second.mesh.learnPeer(edge.mesh.peerId, edge.mesh.addresses())
  await first.stop()
  await waitFor('the second replica takes over and carries the label', () =>
    second.status().leader && api.get('pods', NAMESPACE, 'publisher-b')?.metadata.labels?.[LEADER_LABEL] === 'true' ? true : undefined, SETTLE_MS)
  api.apply('configmaps', fragmentConfigMap('video', { 'routes.yaml': routeFragment('video', 'video.example.com') }))
  await waitFor('the edge gets the new leader\'s config', async () => await serves(edge, ['video', 'whoami']), SETTLE_MS)
  t.true((edge.status().version ?? 0) > leaderVersion, 'versions went forward across the handover')
  const lease = api.get('leases', NAMESPACE, 'dime-publisher') as unknown as { spec: { holderIdentity: string, leaseTransitions: number } }
  t.is(lease.spec.holderIdentity, 'publisher-b')
})

/** A loopback port another listener holds until the test ends. */
async function takenPort (t: ExecutionContext): Promise<number> {
  const holder = createServer()
  await new Promise<void>(resolve => holder.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { holder.close() })
  return (holder.address() as AddressInfo).port
}

test('two replicas: one whose mesh cannot start gives the Lease up and says why; the other takes over and publishes', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('whoami', { 'routes.yaml': routeFragment('whoami', 'whoami.example.com') }))
  const port = await takenPort(t)
  const broken = await startKubePublisher(t, keys, api, { podName: 'publisher-a', leaderElect: true, listen: `/ip4/127.0.0.1/tcp/${port}` })
  const cause = await waitFor('the broken replica says why it does not publish', () => broken.status().leadFailure ?? undefined, SETTLE_MS)
  t.is(cause, `could not become the publisher: cannot listen on /ip4/127.0.0.1/tcp/${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}`)
  t.false(broken.status().leader)
  const readyz = await fetch(`${broken.adminUrl() ?? ''}/readyz`)
  t.is(readyz.status, 503)
  t.is(((await readyz.json()) as { reason: string }).reason, cause, '/readyz names the cause')

  const healthy = await startKubePublisher(t, keys, api, { podName: 'publisher-b', leaderElect: true })
  await waitFor('the healthy replica takes over and publishes', () => healthy.status().leader && healthy.status().version !== null ? true : undefined, SETTLE_MS)
  const holder = (): string | undefined => (api.get('leases', NAMESPACE, 'dime-publisher') as unknown as { spec: { holderIdentity?: string } }).spec.holderIdentity
  t.is(holder(), 'publisher-b')
  // The broken replica campaigns again after its pause (2 s at first) and finds the Lease held.
  await new Promise(resolve => setTimeout(resolve, 3000))
  t.is(holder(), 'publisher-b')
  t.false(broken.status().leader)
  t.true(healthy.status().leader)
})

test('the rollout policy ConfigMap: in force once created, a broken edit refused with the last good kept, gone once deleted', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  api.apply('configmaps', fragmentConfigMap('whoami', { 'routes.yaml': routeFragment('whoami', 'whoami.example.com') }))
  const publisher = await startKubePublisher(t, keys, api)
  await waitFor('published', () => publisher.status().version ?? undefined, SETTLE_MS)
  t.deepEqual(publisher.status().rolloutPolicy, { where: null, waves: [], error: null }, 'no ConfigMap: no policy')
  const where = `ConfigMap ${NAMESPACE}/${ROLLOUT_POLICY_CONFIG_MAP} key ${ROLLOUT_POLICY_KEY}`
  const policy = (text: string): KubeObject => ({ metadata: { name: ROLLOUT_POLICY_CONFIG_MAP, namespace: NAMESPACE }, data: { [ROLLOUT_POLICY_KEY]: text } })
  api.apply('configmaps', policy('waves:\n  - {name: canary, edges: {tier: canary}, bake: 30s}\n  - {name: everyone}\n'))
  await waitFor('the policy in force', () => publisher.status().rolloutPolicy.waves.length === 2 ? true : undefined, SETTLE_MS)
  t.deepEqual(publisher.status().rolloutPolicy, { where, waves: ['canary', 'everyone'], error: null })
  api.apply('configmaps', policy('waves:\n  - {name: canary, bake: -5s}\n'))
  await waitFor('the broken edit refused', () => publisher.status().rolloutPolicy.error ?? undefined, SETTLE_MS)
  t.deepEqual(publisher.status().rolloutPolicy, {
    where,
    waves: ['canary', 'everyone'],
    error: `${where}: waves[0] ("canary"): bake "-5s" is not a duration such as 10s, 5m or 1h30m (not negative); the last good policy (${where}) stays in force`
  })
  api.remove('configmaps', NAMESPACE, ROLLOUT_POLICY_CONFIG_MAP)
  await waitFor('no policy once deleted', () => publisher.status().rolloutPolicy.where === null ? true : undefined, SETTLE_MS)
  t.deepEqual(publisher.status().rolloutPolicy, { where: null, waves: [], error: null })
})

test('a rollout that fails its gate records a Warning Event on the ConfigMap that changed and on the publisher\'s Pod', async t => {
  const api = await fakeKubeApi(t)
  const keys = meshKeys()
  // The backend answers before the change (10.0.0.1 may answer or not, depending on the machine).
  const live = await listeningBackend()
  t.teardown(live.close)
  api.apply('configmaps', fragmentConfigMap('whoami', { 'routes.yaml': routeFragment('whoami', 'whoami.example.com', live.url) }))
  api.apply('configmaps', fragmentConfigMap('steady', { 'routes.yaml': routeFragment('steady', 'steady.example.com') }))
  api.apply('configmaps', { metadata: { name: ROLLOUT_POLICY_CONFIG_MAP, namespace: NAMESPACE }, data: { [ROLLOUT_POLICY_KEY]: 'waves:\n  - {name: canary, edges: {tier: canary}, bake: 1s}\n  - {name: everyone}\n' } })
  const publisher = await startKubePublisher(t, keys, api, { missingAfterMs: 2000 })
  const bootstrap = publisher.mesh.addresses()
  await startEdge(t, keys, { bootstrap, labels: { tier: 'canary' } })
  await startEdge(t, keys, { bootstrap })
  await waitFor('both edges report the first version', () => publisher.status().edges.filter(edge => edge.version !== null && edge.version === publisher.status().version).length === 2 ? true : undefined, SETTLE_MS)
  api.apply('configmaps', fragmentConfigMap('whoami', { 'routes.yaml': routeFragment('whoami', 'whoami.example.com', await deadBackend()) }))
  const events = await waitFor('RolloutRolledBack Events', () => {
    const found = api.list('events').filter(event => event.reason === 'RolloutRolledBack')
    return found.length >= 2 ? found : undefined
  }, SETTLE_MS)
  t.deepEqual(events.map(event => (event.involvedObject as { kind: string, name: string })).map(object => `${object.kind} ${object.name}`).sort(), ['ConfigMap whoami', 'Pod publisher-0'])
  t.true(events.every(event => event.type === 'Warning'))
  t.regex(String(events[0]?.message), /rolled back: wave "canary" failed its health gate: .*http\/whoami.*held back until the fragments change/)
})
