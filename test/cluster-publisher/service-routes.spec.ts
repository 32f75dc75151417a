import test from 'ava'
import type { V1Service } from '@kubernetes/client-node'
import { ANNOTATIONS, EXTERNAL_DNS_HOSTNAME, routeFromService } from '../../cluster-publisher/kubernetes/service-routes.js'

interface ServiceShape {
  type?: string
  ports?: ReadonlyArray<{ name?: string, port: number }>
  ingress?: Array<{ ip?: string, hostname?: string }>
}

function service (annotations: Record<string, string>, options: ServiceShape = {}): V1Service {
  return {
    metadata: { name: 'web', namespace: 'apps', annotations },
    spec: { type: options.type ?? 'LoadBalancer', ports: [...options.ports ?? [{ name: 'http', port: 80 }]] },
    status: { loadBalancer: { ingress: options.ingress ?? [{ ip: '192.168.50.10' }] } }
  }
}

test('a Service without the hosts annotation is not routed at all', t => {
  t.is(routeFromService(service({})), undefined)
})

test('hosts, path prefix, entry points, middlewares and a cert resolver make one router and one service', t => {
  const route = routeFromService(service({
    [ANNOTATIONS.hosts]: 'a.example.com, b.example.com',
    [ANNOTATIONS.pathPrefix]: '/live',
    [ANNOTATIONS.entryPoints]: 'websecure',
    [ANNOTATIONS.middlewares]: 'cors,ratelimit@file',
    [ANNOTATIONS.certResolver]: 'le'
  }, { ingress: [{ ip: '192.168.50.10' }, { ip: 'fd00::10' }] }))
  t.deepEqual(route?.fragment, {
    source: 'service:apps/web',
    content: {
      http: {
        routers: {
          'apps-web': {
            rule: '(Host(`a.example.com`) || Host(`b.example.com`)) && PathPrefix(`/live`)',
            service: 'apps-web',
            entryPoints: ['websecure'],
            middlewares: ['cors', 'ratelimit@file'],
            tls: { certResolver: 'le' }
          }
        },
        services: { 'apps-web': { loadBalancer: { servers: [{ url: 'http://192.168.50.10:80' }, { url: 'http://[fd00::10]:80' }] } } }
      }
    }
  })
})

test('the port is chosen by name or number when there are several, and https is the scheme when asked', t => {
  const ports = [{ name: 'metrics', port: 9100 }, { name: 'web', port: 8443 }]
  const route = routeFromService(service({ [ANNOTATIONS.hosts]: 'a.example.com', [ANNOTATIONS.port]: 'web', [ANNOTATIONS.scheme]: 'https' }, { ports }))
  t.deepEqual((route?.fragment as unknown as { content: { http: { services: Record<string, unknown> } } }).content.http.services['apps-web'],
    { loadBalancer: { servers: [{ url: 'https://192.168.50.10:8443' }] } })
})

test('a Service with no address yet is pending, not routed', t => {
  t.deepEqual(routeFromService(service({ [ANNOTATIONS.hosts]: 'a.example.com' }, { ingress: [] })),
    { pending: { source: 'service:apps/web', reason: 'no LoadBalancer address yet' } })
})

for (const [what, annotations, options, reason] of [
  ['not a LoadBalancer', { [ANNOTATIONS.hosts]: 'a.example.com' }, { type: 'ClusterIP' }, /not LoadBalancer/],
  ['a host with a backtick (rule injection)', { [ANNOTATIONS.hosts]: 'a.com`) || Host(`evil.com' }, {}, /is not a host name/],
  ['an empty hosts list', { [ANNOTATIONS.hosts]: ' , ' }, {}, /is not a host name/],
  ['a path prefix that is not a path', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.pathPrefix]: 'live`)' }, {}, /not a path starting with \//],
  ['several ports and none named', { [ANNOTATIONS.hosts]: 'a.com' }, { ports: [{ port: 80 }, { port: 443 }] }, /has 2 ports; name one with cdn-on-a-dime.io\/port/],
  ['a port it does not have', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.port]: 'grpc' }, {}, /has no port "grpc"/],
  ['an unknown scheme', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.scheme]: 'ftp' }, {}, /neither http nor https/],
  ['a middleware name with spaces', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.middlewares]: 'a b' }, {}, /not a Traefik entry point or middleware name/],
  ['a TLS Secret name that is not one', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.tlsSecret]: '../etc' }, {}, /tls-secret: "\.\.\/etc" is not a Secret name/],
  ['an origin CA over plain http', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.originCaSecret]: 'ca', [ANNOTATIONS.scheme]: 'http' }, {}, /need cdn-on-a-dime.io\/scheme: https/],
  ['an allow list that is not of ranges', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.ipAllowList]: '10.0.0.0/8, everyone' }, {}, /"everyone" is not an address or CIDR range/],
  ['a forward-auth URL that is not one', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.forwardAuthUrl]: 'auth.svc' }, {}, /is not an http\(s\) URL/],
  ['address-from hostname and no ExternalDNS name', { [ANNOTATIONS.hosts]: 'a.com', [ANNOTATIONS.addressFrom]: 'hostname' }, {}, /has no external-dns.alpha.kubernetes.io\/hostname/]
] as Array<[string, Record<string, string>, ServiceShape, RegExp]>) {
  test(`an annotated Service with ${what} is a broken fragment with a reason`, t => {
    const fragment = routeFromService(service(annotations, options))?.fragment
    t.true(fragment !== undefined && 'error' in fragment)
    t.regex((fragment as { error: string }).error, reason)
  })
}

test('a TLS Secret, an origin CA and client certificate, auth middlewares and an ExternalDNS name make one fragment, secrets as references', t => {
  const route = routeFromService(service({
    [ANNOTATIONS.hosts]: 'shop.example.com',
    [ANNOTATIONS.tlsSecret]: 'shop-tls',
    [ANNOTATIONS.originCaSecret]: 'cluster-ca',
    [ANNOTATIONS.originClientCertSecret]: 'edge-client',
    [ANNOTATIONS.ipAllowList]: '203.0.113.0/24, 2001:db8::/32',
    [ANNOTATIONS.basicAuthSecret]: 'shop-users',
    [ANNOTATIONS.forwardAuthUrl]: 'https://auth.example.com/verify',
    [ANNOTATIONS.middlewares]: 'compress',
    [ANNOTATIONS.addressFrom]: 'hostname',
    [EXTERNAL_DNS_HOSTNAME]: 'shop-origin.example.net'
  }, { ports: [{ name: 'https', port: 8443 }] }))
  t.deepEqual(route?.fragment, {
    source: 'service:apps/web',
    content: {
      http: {
        routers: {
          'apps-web': {
            rule: 'Host(`shop.example.com`)',
            service: 'apps-web',
            middlewares: ['apps-web-ip-allow-list', 'apps-web-basic-auth', 'apps-web-forward-auth', 'compress'],
            tls: {}
          }
        },
        services: { 'apps-web': { loadBalancer: { servers: [{ url: 'https://shop-origin.example.net:8443' }], serversTransport: 'apps-web' } } },
        middlewares: {
          'apps-web-ip-allow-list': { ipAllowList: { sourceRange: ['203.0.113.0/24', '2001:db8::/32'] } },
          'apps-web-basic-auth': { basicAuth: { users: ['secret:shop-users/users'] } },
          'apps-web-forward-auth': { forwardAuth: { address: 'https://auth.example.com/verify' } }
        },
        serversTransports: {
          'apps-web': {
            serverName: 'shop.example.com',
            rootCAs: ['secret:cluster-ca/ca.crt'],
            certificates: [{ certFile: 'secret:edge-client/tls.crt', keyFile: 'secret:edge-client/tls.key' }]
          }
        }
      },
      tls: { certificates: [{ certFile: 'secret:shop-tls/tls.crt', keyFile: 'secret:shop-tls/tls.key' }] }
    }
  })
})
