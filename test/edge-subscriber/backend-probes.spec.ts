import test from 'ava'
import { changedServices, checkBackends, MAX_PROBES_PER_VERSION, probeServer, type ProbeTarget } from '../../edge-subscriber/backend-probes.js'
import { createServer as createHttpServer } from 'node:http'
import { createServer } from 'node:net'

const http = (services: Record<string, unknown>): Record<string, unknown> => ({ http: { services } })
const lb = (...urls: string[]): unknown => ({ loadBalancer: { servers: urls.map(url => ({ url })) } })

test('only services the version adds or changes are probed, HTTP and TCP alike', t => {
  const before = { ...http({ same: lb('http://a:1'), changed: lb('http://b:1') }), tcp: { services: { db: { loadBalancer: { servers: [{ address: 'db:5432' }] } } } } }
  const after = { ...http({ same: lb('http://a:1'), changed: lb('http://b:2'), added: lb('http://c:1') }), tcp: { services: { db: { loadBalancer: { servers: [{ address: 'db2:5432' }] } } } } }
  t.deepEqual(changedServices(before, after).map(change => [change.service, change.after.map(target => target.server), change.before.map(target => target.server)]), [
    ['http/added', ['http://c:1'], []],
    ['http/changed', ['http://b:2'], ['http://b:1']],
    ['tcp/db', ['db2:5432'], ['db:5432']]
  ])
})

test('a changed service that does not answer is failing, unless it did not answer before the change either', async t => {
  const up = new Set(['http://new-good:80', 'http://old-good:80'])
  const probe = async (target: ProbeTarget): Promise<boolean> => up.has(target.server)
  const before = http({ broke: lb('http://old-good:80'), wasDown: lb('http://old-down:80'), fine: lb('http://old-good:80') })
  const after = http({ broke: lb('http://typo:80'), wasDown: lb('http://still-down:80'), fine: lb('http://new-good:80'), fresh: lb('http://nothing:80') })
  const health = await checkBackends(9, before, after, probe)
  t.like(health, { version: 9, healthy: false, failing: ['http/broke', 'http/fresh'], alreadyDown: ['http/wasDown'], notProbed: 0 })
})

test(`at most ${MAX_PROBES_PER_VERSION} probes a version; the rest are counted as not probed`, async t => {
  let probes = 0
  const services = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`s${String(i).padStart(2, '0')}`, lb(`http://h${i}:80`)]))
  const health = await checkBackends(1, undefined, http(services), async () => { probes++; return true })
  t.is(probes, MAX_PROBES_PER_VERSION)
  t.like(health, { healthy: true, probed: MAX_PROBES_PER_VERSION, notProbed: 4 })
})

test('a real probe: a TCP connect, or the healthCheck path answering below 400', async t => {
  const tcp = createServer(socket => { socket.end() })
  await new Promise<void>(resolve => tcp.listen(0, '127.0.0.1', resolve))
  const web = createHttpServer((request, response) => { response.statusCode = request.url === '/healthz' ? 200 : 503; response.end() })
  await new Promise<void>(resolve => web.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { tcp.close(); web.close() })
  const tcpPort = (tcp.address() as { port: number }).port
  const webPort = (web.address() as { port: number }).port
  t.true(await probeServer({ service: 'tcp/x', server: `127.0.0.1:${tcpPort}` }))
  t.true(await probeServer({ service: 'http/x', server: `http://127.0.0.1:${tcpPort}` }))
  t.true(await probeServer({ service: 'http/y', server: `http://127.0.0.1:${webPort}`, healthPath: '/healthz' }))
  t.false(await probeServer({ service: 'http/y', server: `http://127.0.0.1:${webPort}`, healthPath: '/other' }))
  await new Promise(resolve => tcp.close(resolve))
  t.false(await probeServer({ service: 'tcp/x', server: `127.0.0.1:${tcpPort}` }))
})
