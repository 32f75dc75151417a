import type { V1IngressLoadBalancerIngress } from '@kubernetes/client-node'
import { isIP } from 'node:net'
import type { RefusalCode } from '../fragment-files.js'
import type { RouteStatusView } from '../route-status.js'
import { GATEWAY_CONTROLLER, type Condition, type Gateway, type GatewayClass, type HTTPRoute, type ParentRef } from './gateway-api.js'

/**
 * Where the fragment of an object stands: served (accepted, or at its last
 * good content), pending (waiting for a Service's address), and what is
 * wrong with it now, if anything.
 */
export interface Standing { served: boolean, pending: boolean, problem?: string, code?: RefusalCode | undefined }

export function standingOf (source: string, view: RouteStatusView): Standing {
  const pending = view.pending.find(object => object.source === source)
  if (pending !== undefined) return { served: false, pending: true, problem: pending.reason }
  const report = view.fragments.find(fragment => fragment.source === source)
  if (report === undefined) return { served: false, pending: false, problem: 'not routed' }
  if (report.status === 'accepted') return { served: true, pending: false }
  const problem = report.reason ?? 'broken'
  return { served: report.status === 'kept-last-good', pending: false, problem: report.status === 'kept-last-good' ? `${problem} (its last good routes are still served)` : problem, code: report.code }
}

/** An Ingress's `status.loadBalancer`: the edges' addresses while it is served, none otherwise. */
export function ingressStatus (standing: Standing, addresses: string[]): { loadBalancer: { ingress: V1IngressLoadBalancerIngress[] } } {
  return { loadBalancer: { ingress: standing.served ? addresses.map(address => isIP(address) !== 0 ? { ip: address } : { hostname: address }) : [] } }
}

/** Conditions, keeping each one's lastTransitionTime while its status stays the same. */
function conditions (metadata: { generation?: number } | undefined, previous: Condition[] | undefined, now: string, wanted: Array<Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>>): Condition[] {
  return wanted.map(condition => {
    const before = previous?.find(c => c.type === condition.type)
    return {
      ...condition,
      ...(metadata?.generation !== undefined ? { observedGeneration: metadata.generation } : {}),
      lastTransitionTime: before !== undefined && before.status === condition.status ? before.lastTransitionTime : now
    }
  })
}

export function gatewayClassStatus (gatewayClass: GatewayClass, now: string): { conditions: Condition[] } {
  return {
    conditions: conditions(gatewayClass.metadata, gatewayClass.status?.conditions, now, [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Gateways of this class are served by the cdn-on-a-dime edges' }
    ])
  }
}

/**
 * A Gateway's status: the edges' public addresses, Accepted, and Programmed
 * while some edge with a public address serves it and its certificates
 * could be taken.
 */
export function gatewayStatus (gateway: Gateway, certificates: Standing, addresses: string[], now: string): object {
  const programmed = !certificates.served
    ? { status: 'False' as const, reason: certificates.pending ? 'Pending' : 'Invalid', message: certificates.problem ?? '' }
    : addresses.length === 0
      ? { status: 'False' as const, reason: 'AddressNotAssigned', message: 'no edge with a public address (dime edge --public-address) has been heard from lately' }
      : { status: 'True' as const, reason: 'Programmed', message: `served by the edges at ${addresses.join(', ')}` }
  return {
    ...gateway.status,
    addresses: addresses.map(value => ({ type: isIP(value) !== 0 ? 'IPAddress' : 'Hostname', value })),
    conditions: conditions(gateway.metadata, gateway.status?.conditions, now, [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'served by the cdn-on-a-dime edges' },
      { type: 'Programmed', ...programmed }
    ])
  }
}

/**
 * An HTTPRoute's `status.parents`: for each of its parents that is an
 * edges' Gateway, Accepted (taken: served, or refused only for its
 * references) and ResolvedRefs (every backend found and routable), with why
 * not; the entries of other controllers are kept as they are.
 */
export function httpRouteStatus (route: HTTPRoute, ourParents: ParentRef[], standing: Standing, now: string): object {
  const others = (route.status?.parents ?? []).filter(parent => parent.controllerName !== GATEWAY_CONTROLLER)
  const reason = standing.problem === undefined ? undefined : standing.pending ? 'Pending' : standing.code ?? 'UnsupportedValue'
  const accepted = standing.served || reason !== 'UnsupportedValue'
    ? { status: 'True' as const, reason: 'Accepted', message: standing.served ? 'served by the cdn-on-a-dime edges' : 'taken; not served until its references resolve' }
    : { status: 'False' as const, reason: 'UnsupportedValue', message: standing.problem ?? '' }
  const resolved = reason === undefined
    ? { status: 'True' as const, reason: 'ResolvedRefs', message: 'every backend resolved' }
    : { status: 'False' as const, reason, message: standing.problem ?? '' }
  const ours = ourParents.map(parentRef => {
    const previous = route.status?.parents?.find(parent => parent.controllerName === GATEWAY_CONTROLLER && parent.parentRef.name === parentRef.name && parent.parentRef.sectionName === parentRef.sectionName)
    return {
      parentRef,
      controllerName: GATEWAY_CONTROLLER,
      conditions: conditions(route.metadata, previous?.conditions, now, [{ type: 'Accepted', ...accepted }, { type: 'ResolvedRefs', ...resolved }])
    }
  })
  return { ...route.status, parents: [...others, ...ours] }
}
