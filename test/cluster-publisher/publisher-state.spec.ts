import test from 'ava'
import { configMapEnvelopeStore } from '../../cluster-publisher/kubernetes/config-map-envelope-store.js'
import { publisherState, type Pin } from '../../cluster-publisher/publisher-state.js'
import { CoreV1Api } from '@kubernetes/client-node'
import { memoryEnvelopeStore } from '../../node/envelope-store.js'
import { silentLogger } from '../../node/logger.js'
import { fakeKubeApi, NAMESPACE } from '../fixtures/kube.js'

const envelope = new TextEncoder().encode('DIME…an envelope, as bytes')

test('the state keeps the envelope and each fragment\'s content in one blob, and reads an older plain envelope too', async t => {
  const blobs = memoryEnvelopeStore()
  const state = publisherState(blobs, { lastGood: () => new Map([['a.yaml', { http: { routers: {} } }]]) })
  t.is(await state.load(), undefined)
  await state.save([envelope])
  t.deepEqual(await state.load(), envelope)
  t.deepEqual(await state.loadLastGood(), { 'a.yaml': { http: { routers: {} } } })

  await blobs.save([envelope])
  t.deepEqual(await state.load(), envelope, 'state written before the contents were kept beside it')
  t.is(await state.loadLastGood(), undefined)
})

test('the pin rides in the same blob: saved with each envelope, written again on its own, and absent from state written before pins', async t => {
  const blobs = memoryEnvelopeStore()
  let pin: Pin | undefined = { version: 7, since: '2026-12-02T21:00:00.000Z' }
  const state = publisherState(blobs, { lastGood: () => new Map([['a.yaml', { x: 1 }]]), pin: () => pin })
  await state.save([envelope])
  t.deepEqual(await state.loadPin(), { version: 7, since: '2026-12-02T21:00:00.000Z' })
  t.deepEqual(await state.loadLastGood(), { 'a.yaml': { x: 1 } })
  pin = undefined
  await state.rewrite()
  t.is(await state.loadPin(), undefined)
  t.deepEqual(await state.load(), envelope, 'the envelope is kept as it was')

  const before = new TextEncoder().encode(JSON.stringify({ 'a.yaml': { x: 1 } }))
  const old = new Uint8Array(8 + envelope.byteLength + before.byteLength)
  old.set(new TextEncoder().encode('DIMS'))
  new DataView(old.buffer).setUint32(4, envelope.byteLength)
  old.set(envelope, 8)
  old.set(before, 8 + envelope.byteLength)
  await blobs.save([old])
  t.deepEqual(await state.loadLastGood(), { 'a.yaml': { x: 1 } }, 'state written before pins')
  t.is(await state.loadPin(), undefined)
})

test('the ConfigMap store round-trips through the API server, creates the ConfigMap once and then updates it', async t => {
  const api = await fakeKubeApi(t)
  const core = api.kubeConfig().makeApiClient(CoreV1Api)
  const store = configMapEnvelopeStore(core, { namespace: NAMESPACE, name: 'dime-publisher-state', log: silentLogger() })
  t.is(await store.load(), undefined)
  await store.save([envelope])
  const second = new TextEncoder().encode('DIME…a newer one')
  await store.save([second])
  t.deepEqual(new Uint8Array(await store.load() ?? []), second)
  t.deepEqual(api.calls.filter(call => call.resource === 'configmaps').map(call => call.verb), ['get', 'get', 'create', 'update', 'get'],
    'one read before the first write; after that a publish is one request')
  const stored = api.get('configmaps', NAMESPACE, 'dime-publisher-state')
  t.truthy((stored as { binaryData?: Record<string, string> } | undefined)?.binaryData?.['envelope.br'], 'Brotli-compressed under binaryData')
})

test('the ConfigMap store reads again and retries once when someone else changed or deleted the ConfigMap', async t => {
  const api = await fakeKubeApi(t)
  const core = api.kubeConfig().makeApiClient(CoreV1Api)
  const store = configMapEnvelopeStore(core, { namespace: NAMESPACE, name: 'dime-publisher-state', log: silentLogger() })
  await store.save([envelope])
  api.apply('configmaps', { metadata: { name: 'dime-publisher-state', namespace: NAMESPACE }, data: { touched: 'by someone else' } })
  const second = new TextEncoder().encode('DIME…after a conflict')
  await store.save([second])
  t.deepEqual(new Uint8Array(await store.load() ?? []), second)
  api.remove('configmaps', NAMESPACE, 'dime-publisher-state')
  const third = new TextEncoder().encode('DIME…after a deletion')
  await store.save([third])
  t.deepEqual(new Uint8Array(await store.load() ?? []), third)
})
