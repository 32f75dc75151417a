import type { CustomObjectsApi, NetworkingV1Api, V1Ingress } from '@kubernetes/client-node'
import type { RouteStatusView } from '../route-status.js'
import type { KubernetesSource } from '../sources/kubernetes-source.js'
import type { Gateway, GatewayClass, HTTPRoute } from './gateway-api.js'
import { gatewaySource, httpRouteSource } from './gateway-routes.js'
import { ingressSource } from './ingress-routes.js'
import { gatewayClassStatus, gatewayStatus, httpRouteStatus, ingressStatus, standingOf } from './object-status.js'
import type { StatusTarget } from './status-writer.js'

const GROUP = 'gateway.networking.k8s.io'
const VERSION = 'v1'

export interface StatusApis {
  networking: Pick<NetworkingV1Api, 'replaceNamespacedIngressStatus'>
  custom: Pick<CustomObjectsApi, 'replaceClusterCustomObjectStatus' | 'replaceNamespacedCustomObjectStatus'>
}

/** Every object whose status the publisher keeps, with what it should say now. */
export function statusTargets (source: Pick<KubernetesSource, 'edgeIngresses' | 'edgeGatewayApi'>, apis: StatusApis, view: RouteStatusView, now: string): StatusTarget[] {
  const { classes, gateways, routes } = source.edgeGatewayApi()
  return [
    ...source.edgeIngresses().map(ingress => ingressTarget(ingress, apis, view)),
    ...classes.map(gatewayClass => customTarget('GatewayClass', gatewayClass, gatewayClassStatus(gatewayClass, now), apis, 'gatewayclasses')),
    ...gateways.map(gateway => customTarget('Gateway', gateway, gatewayStatus(gateway, gatewayCertificates(gateway, view), view.addresses, now), apis, 'gateways')),
    ...routes.map(({ route, parents }) => customTarget('HTTPRoute', route, httpRouteStatus(route, parents, standingOf(httpRouteSource(route), view), now), apis, 'httproutes'))
  ]
}

function ingressTarget (ingress: V1Ingress, apis: StatusApis, view: RouteStatusView): StatusTarget {
  const { namespace = '', name = '' } = ingress.metadata ?? {}
  const desired = { ...ingress.status, ...ingressStatus(standingOf(ingressSource(ingress), view), view.addresses) }
  return {
    what: `Ingress ${namespace}/${name}`,
    current: ingress.status,
    desired,
    write: async () => await apis.networking.replaceNamespacedIngressStatus({ name, namespace, body: { ...ingress, status: desired } })
  }
}

/** A Gateway without certificates has nothing to refuse: its fragment exists only when it has some. */
function gatewayCertificates (gateway: Gateway, view: RouteStatusView): ReturnType<typeof standingOf> {
  const source = gatewaySource(gateway)
  return view.fragments.some(fragment => fragment.source === source) ? standingOf(source, view) : { served: true, pending: false }
}

function customTarget (kind: string, object: GatewayClass | Gateway | HTTPRoute, desired: object, apis: StatusApis, plural: string): StatusTarget {
  const { namespace, name = '' } = object.metadata ?? {}
  const body = { ...object, status: desired }
  return {
    what: `${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`,
    current: object.status,
    desired,
    write: async (): Promise<unknown> => namespace === undefined
      ? await apis.custom.replaceClusterCustomObjectStatus({ group: GROUP, version: VERSION, plural, name, body })
      : await apis.custom.replaceNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, namespace, plural, name, body })
  }
}
