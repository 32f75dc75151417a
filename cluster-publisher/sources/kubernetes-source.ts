import { ApiException, CoreV1Api, CustomObjectsApi, makeInformer, NetworkingV1Api, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache, type V1ConfigMap, type V1Ingress, type V1IngressClass, type V1Secret, type V1Service } from '@kubernetes/client-node'
import { backoffDelay } from '../../node/backoff.js'
import type { Logger } from '../../node/logger.js'
import { FRAGMENT_LABEL, RETRY_MAX_MS, RETRY_MIN_MS, ROLLOUT_POLICY_CONFIG_MAP, ROLLOUT_POLICY_KEY } from '../constants.js'
import type { PolicyDocument, RolloutPolicySource } from '../rollout-policy.js'
import { compareNames, fragmentFromText, type Fragment, type SkippedObject } from '../fragment-files.js'
import { GATEWAY_CONTROLLER, type Gateway, type GatewayClass, type HTTPRoute, type ParentRef } from '../kubernetes/gateway-api.js'
import { certificatesFromGateway, edgeParents, isEdgeGateway, routeFromHTTPRoute } from '../kubernetes/gateway-routes.js'
import { isEdgeIngress, routeFromIngress } from '../kubernetes/ingress-routes.js'
import { routeFromService } from '../kubernetes/service-routes.js'
import { resolveSecretReferences, SealCache, type Seal } from '../secret-references.js'
import type { FragmentSource, SourceSnapshot } from './fragment-source.js'

export interface KubernetesSourceInit {
  kubeConfig: KubeConfig
  namespaces: string[]
  log: Logger
  retryMinMs?: number | undefined
  retryMaxMs?: number | undefined
  /** Counts lists and watches that failed, by resource (0 when a watch begins, so every resource has a series). */
  countFailure?: ((resource: string, failures?: number) => void) | undefined
  /** Seals private values from Secrets to the edges' secrets key; without it, references to them are refused. */
  seal?: Seal | undefined
  /** The publisher's own namespace, where the rollout policy's ConfigMap is looked for. */
  ownNamespace: string
}

/** The Kubernetes object a fragment came from, for Events. */
export interface ObjectReference {
  apiVersion: string
  kind: string
  namespace: string
  name: string
  uid?: string
}

export class NotSyncedError extends Error {
  override readonly name: string = 'NotSyncedError'
}

interface Watched<T extends KubernetesObject> {
  resource: string
  namespace: string
  informer: Informer<T> & ObjectCache<T>
  synced: boolean
  failures: number
}

/** What a cluster-scoped informer is filed under, where others name their namespace. */
const CLUSTER = ''
const GATEWAY_GROUP = 'gateway.networking.k8s.io'

interface GatewayApiWatches {
  classes: Watched<GatewayClass & KubernetesObject>
  gateways: Array<Watched<Gateway & KubernetesObject>>
  routes: Array<Watched<HTTPRoute & KubernetesObject>>
}

/**
 * Fragments from the cluster, through `@kubernetes/client-node` informers
 * (list, then watch; relist on 410 Gone): each `data` value of every
 * ConfigMap labelled `traefik-config-fragment=true`, named
 * `namespace/configmap/key`, a route for every annotated LoadBalancer
 * Service, routes for every Ingress of the edges' IngressClass and, when the
 * Gateway API is installed, for every HTTPRoute on the edges' Gateways (and
 * the Gateways' certificates).
 * `secret:NAME/KEY` references in any of them are resolved from the
 * namespace's Secrets, private values sealed (see secret-references.ts). The
 * number of watches depends on the namespaces, never on the edges. Handlers
 * only report "changed"; snapshots read the caches.
 */
export class KubernetesSource implements FragmentSource {
  private readonly configMaps: Array<Watched<V1ConfigMap>>
  private readonly services: Array<Watched<V1Service>>
  private readonly secrets: Array<Watched<V1Secret>>
  private readonly ingresses: Array<Watched<V1Ingress>>
  private readonly ingressClasses: Watched<V1IngressClass>
  /** The publisher's namespace, unfiltered: a few ConfigMaps (its state, the rollout policy), read by name. */
  private readonly ownConfigMaps: Watched<V1ConfigMap>
  /** Unknown until the Gateway API's presence is known: absent (its CRDs are not installed), or watched. */
  private gatewayApi: GatewayApiWatches | 'absent' | undefined
  private gatewayProbeFailures = 0
  private readonly sealCache: SealCache | undefined
  private readonly listeners: Array<() => void> = []
  private readonly timers = new Set<NodeJS.Timeout>()
  private stopped = false

  constructor (private readonly init: KubernetesSourceInit) {
    const core = init.kubeConfig.makeApiClient(CoreV1Api)
    const selector = `${FRAGMENT_LABEL}=true`
    this.configMaps = init.namespaces.map(namespace => this.watch('configmaps', namespace, makeInformer(init.kubeConfig,
      `/api/v1/namespaces/${namespace}/configmaps`, async () => await core.listNamespacedConfigMap({ namespace, labelSelector: selector }), selector)))
    this.services = init.namespaces.map(namespace => this.watch('services', namespace, makeInformer(init.kubeConfig,
      `/api/v1/namespaces/${namespace}/services`, async () => await core.listNamespacedService({ namespace }))))
    this.secrets = init.namespaces.map(namespace => this.watch('secrets', namespace, makeInformer(init.kubeConfig,
      `/api/v1/namespaces/${namespace}/secrets`, async () => await core.listNamespacedSecret({ namespace }))))
    const networking = init.kubeConfig.makeApiClient(NetworkingV1Api)
    this.ingresses = init.namespaces.map(namespace => this.watch('ingresses', namespace, makeInformer(init.kubeConfig,
      `/apis/networking.k8s.io/v1/namespaces/${namespace}/ingresses`, async () => await networking.listNamespacedIngress({ namespace }))))
    this.ingressClasses = this.watch('ingressclasses', CLUSTER, makeInformer(init.kubeConfig,
      '/apis/networking.k8s.io/v1/ingressclasses', async () => await networking.listIngressClass()))
    this.ownConfigMaps = this.watch('configmaps', init.ownNamespace, makeInformer(init.kubeConfig,
      `/api/v1/namespaces/${init.ownNamespace}/configmaps`, async () => await core.listNamespacedConfigMap({ namespace: init.ownNamespace })))
    this.sealCache = init.seal === undefined ? undefined : new SealCache(init.seal)
  }

  /** The rollout policy in the ConfigMap ROLLOUT_POLICY_CONFIG_MAP of the publisher's namespace, under ROLLOUT_POLICY_KEY. */
  rolloutPolicy (): RolloutPolicySource {
    const namespace = this.init.ownNamespace
    const where = `ConfigMap ${namespace}/${ROLLOUT_POLICY_CONFIG_MAP} key ${ROLLOUT_POLICY_KEY}`
    return {
      read: (): PolicyDocument | undefined => {
        const configMap = this.ownConfigMaps.informer.get(ROLLOUT_POLICY_CONFIG_MAP, namespace)
        if (configMap === undefined) return undefined
        const text = configMap.data?.[ROLLOUT_POLICY_KEY]
        return text === undefined ? { where, unreadable: `has no key ${ROLLOUT_POLICY_KEY}` } : { where, text }
      },
      onChange: listener => { this.onChange(listener) }
    }
  }

  private get watched (): Array<Watched<KubernetesObject>> {
    const gatewayApi = typeof this.gatewayApi === 'object' ? [this.gatewayApi.classes, ...this.gatewayApi.gateways, ...this.gatewayApi.routes] : []
    return [...this.configMaps, ...this.services, ...this.secrets, ...this.ingresses, this.ingressClasses, this.ownConfigMaps, ...gatewayApi]
  }

  onChange (listener: () => void): void {
    this.listeners.push(listener)
  }

  async start (): Promise<void> {
    this.stopped = false
    await Promise.all([...this.watched.map(async watched => { await this.startInformer(watched) }), this.probeGatewayApi()])
  }

  /**
   * Whether the Gateway API's CRDs are installed: if so, its objects are
   * watched like the rest; if not, that is said once and the rest carries on
   * (a restart picks them up once installed). Until it is known, no snapshot
   * is given, so routes already published from HTTPRoutes are never dropped
   * for want of an answer.
   */
  private async probeGatewayApi (): Promise<void> {
    const custom = this.init.kubeConfig.makeApiClient(CustomObjectsApi)
    try {
      await custom.listClusterCustomObject({ group: GATEWAY_GROUP, version: 'v1', plural: 'gatewayclasses', limit: 1 })
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) {
        this.gatewayApi = 'absent'
        this.init.log.info('the Gateway API is not installed (no gatewayclasses.gateway.networking.k8s.io): HTTPRoutes are not watched')
        for (const listener of this.listeners) listener()
        return
      }
      this.gatewayProbeFailures++
      this.init.countFailure?.('gatewayclasses')
      const retryMs = this.retryLater(this.gatewayProbeFailures, () => { void this.probeGatewayApi() })
      this.init.log.warn({ err: describe(err), retryMs }, 'could not learn whether the Gateway API is installed; asking again')
      return
    }
    // The custom objects API lists untyped objects; these are the kinds gateway-routes.ts reads.
    const list = (plural: string, namespace?: string) => async () => (namespace === undefined
      ? await custom.listClusterCustomObject({ group: GATEWAY_GROUP, version: 'v1', plural })
      : await custom.listNamespacedCustomObject({ group: GATEWAY_GROUP, version: 'v1', namespace, plural })) as never
    const api = `/apis/${GATEWAY_GROUP}/v1`
    this.gatewayApi = {
      classes: this.watch('gatewayclasses', CLUSTER, makeInformer(this.init.kubeConfig, `${api}/gatewayclasses`, list('gatewayclasses'))),
      gateways: this.init.namespaces.map(namespace => this.watch('gateways', namespace, makeInformer(this.init.kubeConfig, `${api}/namespaces/${namespace}/gateways`, list('gateways', namespace)))),
      routes: this.init.namespaces.map(namespace => this.watch('httproutes', namespace, makeInformer(this.init.kubeConfig, `${api}/namespaces/${namespace}/httproutes`, list('httproutes', namespace))))
    }
    const watches: Array<Watched<KubernetesObject>> = [this.gatewayApi.classes, ...this.gatewayApi.gateways, ...this.gatewayApi.routes]
    await Promise.all(watches.map(async watched => { await this.startInformer(watched) }))
  }

  async stop (): Promise<void> {
    this.stopped = true
    for (const timer of this.timers) clearTimeout(timer)
    await Promise.all(this.watched.map(async watched => { await watched.informer.stop() }))
  }

  /** Whether every informer has listed at least once, so the caches hold a whole view. */
  synced (): boolean {
    return this.gatewayApi !== undefined && this.watched.every(watched => watched.synced)
  }

  async snapshot (): Promise<SourceSnapshot> {
    if (this.gatewayApi === undefined) throw new NotSyncedError('waiting to learn whether the Gateway API is installed')
    const waiting = this.watched.filter(watched => !watched.synced)
    if (waiting.length > 0) {
      throw new NotSyncedError(`waiting for the first list of ${waiting.map(w => `${w.resource} in ${w.namespace === CLUSTER ? 'the cluster' : w.namespace}`).join(', ')}`)
    }
    const found: Array<{ namespace: string, fragment: Fragment }> = []
    const pending: SkippedObject[] = []
    for (const { namespace, informer } of this.configMaps) {
      for (const configMap of informer.list(namespace)) {
        for (const [key, text] of Object.entries(configMap.data ?? {}).sort(([a], [b]) => compareNames(a, b))) {
          found.push({ namespace, fragment: fragmentFromText(`${namespace}/${configMap.metadata?.name ?? ''}/${key}`, text) })
        }
      }
    }
    for (const { namespace, informer } of this.services) {
      for (const service of informer.list(namespace)) {
        const route = routeFromService(service)
        if (route?.fragment !== undefined) found.push({ namespace, fragment: route.fragment })
        if (route?.pending !== undefined) pending.push(route.pending)
      }
    }
    for (const ingress of this.edgeIngresses()) {
      const namespace = ingress.metadata?.namespace ?? ''
      const services = this.services.find(watched => watched.namespace === namespace)?.informer
      const route = routeFromIngress(ingress, name => services?.get(name, namespace))
      if (route.fragment !== undefined) found.push({ namespace, fragment: route.fragment })
      if (route.pending !== undefined) pending.push(route.pending)
    }
    this.gatewayRoutes(found, pending)
    const fragments = await Promise.all(found.map(async ({ namespace, fragment }) => await this.withSecrets(namespace, fragment)))
    this.sealCache?.sweep()
    return { fragments, skipped: [], pending }
  }

  /** The Gateways' certificates and the HTTPRoutes on the edges' Gateways, as fragments, or pending. */
  private gatewayRoutes (found: Array<{ namespace: string, fragment: Fragment }>, pending: SkippedObject[]): void {
    const { classes, gateways, routes, gateway } = this.edgeGatewayApi()
    for (const edgeGateway of gateways) {
      const certificates = certificatesFromGateway(edgeGateway)
      if (certificates?.fragment !== undefined) found.push({ namespace: edgeGateway.metadata?.namespace ?? '', fragment: certificates.fragment })
    }
    for (const { route } of routes) {
      const namespace = route.metadata?.namespace ?? ''
      const services = this.services.find(watched => watched.namespace === namespace)?.informer
      const routed = routeFromHTTPRoute(route, { gateway, classes, serviceNamed: name => services?.get(name, namespace) })
      if (routed?.fragment !== undefined) found.push({ namespace, fragment: routed.fragment })
      if (routed?.pending !== undefined) pending.push(routed.pending)
    }
  }

  /**
   * The edges' GatewayClasses and Gateways and the HTTPRoutes on them, with
   * the parents that are edges' Gateways and a lookup of Gateways, as the
   * informers hold them; none without the Gateway API.
   */
  edgeGatewayApi (): { classes: GatewayClass[], gateways: Gateway[], routes: Array<{ route: HTTPRoute, parents: ParentRef[] }>, gateway: (namespace: string, name: string) => Gateway | undefined } {
    if (typeof this.gatewayApi !== 'object') return { classes: [], gateways: [], routes: [], gateway: () => undefined }
    const watches = this.gatewayApi
    const classes = watches.classes.informer.list().filter(c => c.spec?.controllerName === GATEWAY_CONTROLLER)
    const gateway = (namespace: string, name: string): Gateway | undefined => watches.gateways.find(w => w.namespace === namespace)?.informer.get(name, namespace)
    return {
      classes,
      gateways: watches.gateways.flatMap(({ namespace, informer }) => informer.list(namespace).filter(g => isEdgeGateway(g, classes))),
      routes: watches.routes.flatMap(({ namespace, informer }) => informer.list(namespace).map(route => ({ route, parents: edgeParents(route, { gateway, classes }).map(({ parent }) => parent) })))
        .filter(({ parents }) => parents.length > 0),
      gateway
    }
  }

  /** The Ingresses of the edges' IngressClass, in every watched namespace, as the informers hold them. */
  edgeIngresses (): V1Ingress[] {
    const classes = this.ingressClasses.informer.list()
    return this.ingresses.flatMap(({ namespace, informer }) => informer.list(namespace).filter(ingress => isEdgeIngress(ingress, classes)))
  }

  /** The fragment with its `secret:` references resolved from the namespace's Secrets, or why they cannot be. */
  private async withSecrets (namespace: string, fragment: Fragment): Promise<Fragment> {
    if (!('content' in fragment)) return fragment
    const secrets = this.secrets.find(watched => watched.namespace === namespace)?.informer
    const lookup = (name: string): Record<string, string> | undefined => {
      const secret = secrets?.get(name, namespace)
      return secret === undefined ? undefined : Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, Buffer.from(value, 'base64').toString('utf8')]))
    }
    const resolved = await resolveSecretReferences(fragment.content, lookup, this.sealCache?.seal)
    return 'error' in resolved ? { source: fragment.source, error: resolved.error } : { source: fragment.source, content: resolved.content }
  }

  /** The object behind a fragment or pending route, for Events. */
  objectOf (source: string): ObjectReference | undefined {
    const routed = /^(service|ingress|gateway|httproute):([^/]+)\/(.+)$/.exec(source)
    if (routed !== null) {
      const [, kind, namespace = '', name = ''] = routed
      const gatewayApi = typeof this.gatewayApi === 'object' ? this.gatewayApi : { gateways: [], routes: [] }
      if (kind === 'service') return this.reference('v1', 'Service', this.services, namespace, name)
      if (kind === 'ingress') return this.reference('networking.k8s.io/v1', 'Ingress', this.ingresses, namespace, name)
      if (kind === 'gateway') return this.reference(`${GATEWAY_GROUP}/v1`, 'Gateway', gatewayApi.gateways, namespace, name)
      return this.reference(`${GATEWAY_GROUP}/v1`, 'HTTPRoute', gatewayApi.routes, namespace, name)
    }
    const [namespace = '', name = ''] = source.split('/')
    return this.reference('v1', 'ConfigMap', this.configMaps, namespace, name)
  }

  private reference (apiVersion: string, kind: string, watched: Array<Watched<KubernetesObject>>, namespace: string, name: string): ObjectReference | undefined {
    const object = watched.find(w => w.namespace === namespace)?.informer.get(name, namespace)
    if (object === undefined) return undefined
    return { apiVersion, kind, namespace, name, ...(object.metadata?.uid !== undefined ? { uid: object.metadata.uid } : {}) }
  }

  private watch<T extends KubernetesObject> (resource: string, namespace: string, informer: Informer<T> & ObjectCache<T>): Watched<T> {
    const watched: Watched<T> = { resource, namespace, informer, synced: false, failures: 0 }
    this.init.countFailure?.(resource, 0)
    const changed = (): void => { for (const listener of this.listeners) listener() }
    informer.on('add', changed)
    informer.on('update', changed)
    informer.on('delete', changed)
    informer.on('error', (err: unknown) => { this.failed(watched, err) })
    return watched
  }

  private async startInformer<T extends KubernetesObject> (watched: Watched<T>): Promise<void> {
    const failuresBefore = watched.failures
    await watched.informer.start()
    // start() resolves even when the list failed; the error handler has counted that.
    if (watched.failures === failuresBefore && !watched.synced) {
      watched.synced = true
      this.init.log.info(where(watched), 'watching')
      for (const listener of this.listeners) listener()
    }
    if (watched.failures === failuresBefore) watched.failures = 0
  }

  /** The informer stopped on an error: restart it with backoff; its cache stays as it was. */
  private failed<T extends KubernetesObject> (watched: Watched<T>, err: unknown): void {
    // Stopping aborts the watches; that is not a failure.
    if (this.stopped) return
    watched.failures++
    this.init.countFailure?.(watched.resource)
    const retryMs = this.retryLater(watched.failures, () => { void this.startInformer(watched) })
    this.init.log.warn({ ...where(watched), err: describe(err), retryMs }, 'list or watch failed; the caches and the last published config stand')
  }

  /** Runs `again` after an exponential backoff for this many failures in a row, unless stopped by then; returns the delay. */
  private retryLater (failures: number, again: () => void): number {
    const delay = backoffDelay(failures, this.init.retryMinMs ?? RETRY_MIN_MS, this.init.retryMaxMs ?? RETRY_MAX_MS)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      if (!this.stopped) again()
    }, delay)
    this.timers.add(timer)
    return delay
  }
}

/** A watch's resource, and its namespace but for cluster-scoped ones, for the logs. */
function where (watched: Watched<KubernetesObject>): { resource: string, namespace?: string } {
  return { resource: watched.resource, ...(watched.namespace !== CLUSTER ? { namespace: watched.namespace } : {}) }
}

function describe (err: unknown): string {
  const e = err as { message?: string, code?: number | string, statusCode?: number }
  return [e.statusCode ?? e.code, e.message].filter(part => part !== undefined).join(' ')
}

