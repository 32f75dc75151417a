import test from 'ava'
import { Registry } from 'prom-client'
import { buildEdgeServer } from '../../edge-subscriber/edge-server.js'
import type { EdgeStatus } from '../../edge-subscriber/edge-status.js'
import { plainServedConfig, type ServedConfig } from '../../edge-subscriber/served-config.js'
import { canonicalBytes } from '../../node/canonical-json.js'
import { sealEnvelope } from '../../node/envelope.js'
import { generateSigningKeyPem, parseSigningKey } from '../../node/signing-keys.js'

const key = parseSigningKey(generateSigningKeyPem().privatePem, 'test')
const envelope = sealEnvelope({ mesh: 'm', version: 42, issuedAt: new Date('2026-11-27T10:00:00Z'), body: canonicalBytes({ http: { routers: {} } }) }, key)
const served = plainServedConfig(envelope)
const status: EdgeStatus = {
  mesh: 'm', peerId: 'p', version: null, configSha256: null, issuedAt: null, receivedAt: null, keyId: null, keyTrusted: null, trustedKeyIds: [], lastNewsAgeSeconds: null, stale: false, sealedUnopened: [], peers: [], listen: [], publicAddress: null
}

async function server (current: ServedConfig | undefined): ReturnType<typeof buildEdgeServer> {
  return await buildEdgeServer({ registry: new Registry(), current: () => current, status: () => status })
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
  const app = await buildEdgeServer({ registry: new Registry(), current: () => served, status: () => status, token: 's3cret-token' })
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
