import test from 'ava'
import { canonicalBytes } from '../../node/canonical-json.js'
import { sealEnvelope, type Envelope } from '../../node/envelope.js'
import { DISK_ORIGIN } from '../../node/latest-envelope.js'
import { generateSecretsKeyPem, parseSecretsPublicKey, sealSecret } from '../../node/sealed-secret.js'
import { ServedState } from '../../edge-subscriber/served-state.js'
import type { ServedConfig } from '../../edge-subscriber/served-config.js'
import { capturedLog } from '../fixtures/captured-log.js'
import { MESH, meshKeys } from '../fixtures/mesh.js'

const keys = meshKeys()
const NOW = Date.parse('2026-12-06T10:00:00Z')

function envelope (version: number, config: object): Envelope {
  return sealEnvelope({ mesh: MESH, version, issuedAt: new Date(NOW), body: canonicalBytes(config) }, keys.signingKey)
}

async function sealedEnvelope (version: number): Promise<Envelope> {
  const pair = generateSecretsKeyPem()
  const users = await sealSecret('admin:$apr1$x', parseSecretsPublicKey(pair.publicPem, 'test'), MESH)
  return envelope(version, { http: { middlewares: { auth: { basicAuth: { users: [users] } } } } })
}

test('a plain config is served at once, byte for byte as signed', async t => {
  const state = new ServedState({ log: capturedLog().log, now: () => NOW })
  t.is(state.current(), undefined)
  const first = envelope(1, { http: {} })
  const serving = state.accepted(first, 'sync:peer')
  t.is(state.current()?.head.version, 1, 'no wait for a turn of the event loop')
  await serving
  t.is(state.current()?.body, first.body)
  t.is(state.lastReceivedAt(), '2026-12-06T10:00:00.000Z')
})

test('a config restored from disk was not received by this process', async t => {
  const state = new ServedState({ log: capturedLog().log, now: () => NOW })
  await state.accepted(envelope(1, {}), DISK_ORIGIN)
  t.is(state.lastReceivedAt(), null)
  t.is(state.current()?.head.version, 1)
})

test('an older config that finishes opening after a newer one is dropped: what is served only moves forward', async t => {
  let finishOpening = (_view: ServedConfig): void => {}
  const state = new ServedState({
    log: capturedLog().log,
    unseal: async () => await new Promise<ServedConfig>(resolve => { finishOpening = resolve })
  })
  const sealed = await sealedEnvelope(1)
  const opening = state.accepted(sealed, 'sync:peer')
  await state.accepted(envelope(2, { http: {} }), 'sync:peer')
  t.is(state.current()?.head.version, 2)
  finishOpening({ head: sealed.head, body: sealed.body, etag: '"x"', unopened: [] })
  await opening
  t.is(state.current()?.head.version, 2)
})

test('sealed values that do not open are left out, reported and logged with why', async t => {
  const { log, lines } = capturedLog()
  const state = new ServedState({ log })
  await state.accepted(await sealedEnvelope(3), 'sync:peer')
  t.is(state.current()?.head.version, 3)
  t.deepEqual(state.unopened(), ['$.http.middlewares.auth.basicAuth.users[0]'])
  t.true(lines().some(line => line.reason === 'no --secrets-key' && line.version === 3))
})

test('a config that cannot be prepared is logged and what was served stays', async t => {
  const { log, lines } = capturedLog()
  const state = new ServedState({ log, unseal: async () => { throw new Error('broken') } })
  await state.accepted(envelope(1, {}), 'sync:peer')
  await state.accepted(await sealedEnvelope(2), 'sync:peer')
  t.is(state.current()?.head.version, 1)
  t.true(lines().some(line => line.err === 'broken' && line.version === 2))
})
