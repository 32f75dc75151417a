import type { IIoK8sApimachineryPkgApisMetaV1Condition } from '@kubernetes-models/apimachinery/apis/meta/v1/Condition'
import type { IGateway } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Gateway'
import type { IGatewayClass } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GatewayClass'
import type { IHTTPBackendRef } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPBackendRef'
import type { IHTTPHeaderFilter } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPHeaderFilter'
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute'
import type { IHTTPRouteFilter } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRouteFilter'
import type { IHTTPRouteMatch } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRouteMatch'
import type { IListener } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/Listener'
import type { IParentReference } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/ParentReference'
import type { IRouteParentStatus } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/RouteParentStatus'
import { INGRESS_CONTROLLER } from './ingress-routes.js'

// The Gateway API's own types (gateway.networking.k8s.io/v1), from @kubernetes-models/gateway-api.
export type GatewayClass = IGatewayClass
export type Gateway = IGateway
export type Listener = IListener
export type HTTPRoute = IHTTPRoute
export type RouteMatch = IHTTPRouteMatch
export type RouteFilter = IHTTPRouteFilter
export type HeaderFilter = IHTTPHeaderFilter
export type BackendRef = IHTTPBackendRef
export type ParentRef = IParentReference
export type RouteParentStatus = IRouteParentStatus
/** A Kubernetes condition (metav1.Condition), as the Gateway API's statuses carry them. */
export type Condition = IIoK8sApimachineryPkgApisMetaV1Condition

/** The GatewayClass controllerName the publisher takes Gateways for: the same controller as the Ingress class. */
export const GATEWAY_CONTROLLER = INGRESS_CONTROLLER
