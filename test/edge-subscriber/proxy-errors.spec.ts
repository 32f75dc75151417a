import test from 'ava'
import { serviceCounts, traefikServiceName, worseThanBefore } from '../../edge-subscriber/proxy-errors.js'

const TRAEFIK = `# HELP traefik_service_requests_total How many HTTP requests processed on a service, partitioned by status code, protocol, and method.
# TYPE traefik_service_requests_total counter
traefik_service_requests_total{code="200",method="GET",protocol="http",service="app@http"} 90
traefik_service_requests_total{code="502",method="GET",protocol="http",service="app@http"} 6
traefik_service_requests_total{code="503",method="POST",protocol="http",service="app@http"} 4
traefik_service_requests_total{code="404",method="GET",protocol="http",service="blog@http"} 7
# HELP traefik_entrypoint_requests_total other
# TYPE traefik_entrypoint_requests_total counter
traefik_entrypoint_requests_total{code="500",entrypoint="web",method="GET",protocol="http"} 99
`

test('Traefik\'s service request counters are summed by service, 5xx apart; other metrics are ignored', t => {
  t.deepEqual([...serviceCounts(TRAEFIK)], [['app@http', { requests: 100, errors: 10 }], ['blog@http', { requests: 7, errors: 0 }]])
  t.deepEqual([...serviceCounts('not prometheus at all')], [])
})

test('a service of the served config is named as Traefik\'s HTTP provider names it', t => {
  t.is(traefikServiceName('http/app'), 'app@http')
  t.is(traefikServiceName('tcp/db'), undefined)
})

test('5xx since the change are worse only when well above before, and only with enough requests to say', t => {
  t.is(worseThanBefore('http/app', { requests: 100, errors: 1 }, { requests: 50, errors: 20 }), 'http/app: 40% 5xx of 50 requests since the change, 1% before')
  t.is(worseThanBefore('http/app', { requests: 100, errors: 1 }, { requests: 10, errors: 10 }), undefined, 'too few requests')
  t.is(worseThanBefore('http/app', { requests: 100, errors: 30 }, { requests: 100, errors: 40 }), undefined, 'about as bad as before')
  t.is(worseThanBefore('http/app', { requests: 0, errors: 0 }, { requests: 100, errors: 4 }), undefined, 'under five points')
})
