import test from 'ava'
import { request } from 'node:http'
import { Registry } from 'prom-client'
import { buildEdgeServer } from '../../edge-subscriber/edge-server.js'
import { listenFirst } from '../../edge-subscriber/first-server.js'
import type { EdgeStatus } from '../../edge-subscriber/edge-status.js'
import { plainServedConfig, type ServedConfig } from '../../edge-subscriber/served-config.js'
import { canonicalBytes } from '../../node/canonical-json.js'
import { sealEnvelope } from '../../node/envelope.js'
import { generateSigningKeyPem, parseSigningKey } from '../../node/signing-keys.js'
import type { ConfigFetch } from '../../edge-subscriber/config-answer.js'

const key = parseSigningKey(generateSigningKeyPem().privatePem, 'test')
const envelope = sealEnvelope({ mesh: 'm', version: 42, issuedAt: new Date('2026-11-27T10:00:00Z'), body: canonicalBytes({ http: { routers: {} } }) }, key)
const served = plainServedConfig(envelope)
const status: EdgeStatus = {
  mesh: 'm', peerId: 'p', name: null, labels: {}, version: null, configSha256: null, issuedAt: null, receivedAt: null, keyId: null, keyTrusted: null, trustedKeyIds: [], lastNewsAgeSeconds: null, stale: false, sealedUnopened: [], peers: [], listen: [], publicAddress: null, lastFetch: null, rolloutHealth: null, rollout: null
}

async function server (current: ServedConfig | undefined): ReturnType<typeof buildEdgeServer> {
  return await buildEdgeServer({ registry: new Registry(), current: () => current, fetched: () => {}, status: () => status })
}

test('before the first verified config, /config and /readyz answer 503, never an empty 200', async t => {
  const app = await server(undefined)
  const config = await app.inject({ url: '/config' })
  t.is(config.statusCode, 503)
  t.deepEqual(config.json(), { error: 'no verified config yet' })
  t.is((await app.inject({ url: '/readyz' })).statusCode, 503)
  t.is((await app.inject({ url: '/healthz' })).statusCode, 200)
})

test('/config serves exactly the signed canonical bytes, with the version in headers', async t => {
  const app = await server(served)
  const response = await app.inject({ url: '/config' })
  t.is(response.statusCode, 200)
  t.deepEqual(response.rawPayload, Buffer.from(envelope.body))
  t.is(response.headers['content-type'], 'application/json')
  t.is(response.headers['x-dime-version'], '42')
  t.is(response.headers.etag, `"${envelope.head.bodySha256}"`)
  t.is((await app.inject({ url: '/readyz' })).statusCode, 200)
})

test('a matching If-None-Match gets 304 with no body', async t => {
  const app = await server(served)
  const response = await app.inject({ url: '/config', headers: { 'if-none-match': `"${envelope.head.bodySha256}"` } })
  t.is(response.statusCode, 304)
  t.is(response.payload, '')
  t.is((await app.inject({ url: '/config', headers: { 'if-none-match': '"other"' } })).statusCode, 200)
})

test('/metrics speaks the Prometheus text format', async t => {
  const app = await server(served)
  const response = await app.inject({ url: '/metrics' })
  t.is(response.statusCode, 200)
  t.regex(response.headers['content-type'] as string, /^text\/plain/)
})

test('with a token, /config answers only requests bearing it; health and status stay open', async t => {
  const app = await buildEdgeServer({ registry: new Registry(), current: () => served, fetched: () => {}, status: () => status, token: 's3cret-token' })
  const missing = await app.inject({ url: '/config' })
  t.is(missing.statusCode, 401)
  t.deepEqual(missing.headers['www-authenticate'], ['Bearer', 'Basic realm="dime", charset="UTF-8"'])
  t.is((await app.inject({ url: '/config', headers: { authorization: 'Bearer wrong' } })).statusCode, 401)
  const allowed = await app.inject({ url: '/config', headers: { authorization: 'Bearer s3cret-token' } })
  t.is(allowed.statusCode, 200)
  t.deepEqual(allowed.rawPayload, Buffer.from(envelope.body))
  const basic = (credentials: string): { authorization: string } => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` })
  t.is((await app.inject({ url: '/config', headers: basic('anyone:s3cret-token') })).statusCode, 200, 'the token as a Basic password, any user name')
  t.is((await app.inject({ url: '/config', headers: basic('s3cret-token:wrong') })).statusCode, 401)
  t.is((await app.inject({ url: '/config', headers: basic('s3cret-token') })).statusCode, 401, 'no password at all')
  t.is((await app.inject({ url: '/healthz' })).statusCode, 200)
})

test('the first server (Node\'s http alone) answers /config as fastify does, with the token; fastify then takes its requests over', async t => {
  const fetches: ConfigFetch[] = []
  const fetched = (fetch: ConfigFetch): void => { fetches.push(fetch) }
  const { server: listening, url } = await listenFirst({ host: '127.0.0.1', port: 0, current: () => served, fetched, token: 's3cret-token' })
  t.teardown(async () => { await new Promise(resolve => listening.close(resolve)) })
  const bearer = { authorization: 'Bearer s3cret-token' }
  const first = await fetch(`${url}/config`, { headers: bearer })
  t.is(first.status, 200)
  t.deepEqual(Buffer.from(await first.arrayBuffer()), Buffer.from(envelope.body))
  t.is(first.headers.get('x-dime-version'), '42')
  t.is((await fetch(`${url}/config`, { headers: { ...bearer, 'if-none-match': `"${envelope.head.bodySha256}"` } })).status, 304)
  const refused = await fetch(`${url}/config`)
  t.is(refused.status, 401)
  t.is(refused.headers.get('www-authenticate'), 'Bearer, Basic realm="dime", charset="UTF-8"')
  t.is((await fetch(`${url}/config`, { headers: { authorization: `Basic ${Buffer.from('traefik:s3cret-token').toString('base64')}` } })).status, 200)
  t.is((await fetch(`${url}/status`)).status, 503, 'the rest waits for fastify')
  t.is(await statusOfRawPath(url, '//['), 503, 'a path no URL parser takes is answered, not a crash')
  t.is((await fetch(`${url}/config`, { headers: bearer })).status, 200)
  t.is(fetches.length, 4, 'each 200 and 304 is a fetch of the config served; a 401 is not')
  t.like(fetches[0], { version: 42, from: '127.0.0.1', userAgent: 'node' })

  const app = await buildEdgeServer({ registry: new Registry(), current: () => served, fetched, status: () => status, token: 's3cret-token', listening })
  await app.ready()
  t.teardown(async () => { await app.close() })
  t.is((await fetch(`${url}/status`)).status, 200)
  const later = await fetch(`${url}/config`, { headers: bearer })
  const dimeHeaders = (response: Response): string[] => ['content-type', 'etag', 'cache-control', 'x-dime-version', 'x-dime-issued-at', 'x-dime-key-id'].map(name => `${name}: ${response.headers.get(name) ?? ''}`)
  t.deepEqual(dimeHeaders(later), dimeHeaders(first), 'the same headers from either server')
  t.deepEqual(Buffer.from(await later.arrayBuffer()), Buffer.from(envelope.body))
  t.is((await fetch(`${url}/config`)).status, 401)
  t.is(fetches.length, 5)
  t.like(fetches[4], { version: 42, from: '127.0.0.1' }, 'fastify records fetches as the first server does')
})

/** A GET of a path exactly as given (fetch would normalize it). */
async function statusOfRawPath (url: string, path: string): Promise<number | undefined> {
  const { port } = new URL(url)
  return await new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, response => { response.resume(); resolve(response.statusCode) }).on('error', reject).end()
  })
}

test('the first server answers 503 before the first verified config', async t => {
  const { server: listening, url } = await listenFirst({ host: '127.0.0.1', port: 0, current: () => undefined, fetched: () => { throw new Error('a 503 is no fetch') } })
  t.teardown(async () => { await new Promise(resolve => listening.close(resolve)) })
  const response = await fetch(`${url}/config`)
  t.is(response.status, 503)
  t.deepEqual(await response.json(), { error: 'no verified config yet' })
})
