import test from 'ava'
import { Registry } from 'prom-client'
import { ConfigPublisher } from '../../cluster-publisher/config-publisher.js'
import { fragmentFromText, type Fragment } from '../../cluster-publisher/fragment-files.js'
import { createFragmentValidator } from '../../cluster-publisher/fragment-schema.js'
import type { JsonObject } from '../../cluster-publisher/json.js'
import { PublisherController, type FragmentReporter } from '../../cluster-publisher/publisher-controller.js'
import { publisherState } from '../../cluster-publisher/publisher-state.js'
import type { SourceSnapshot } from '../../cluster-publisher/sources/fragment-source.js'
import { loadTraefikSchema } from '../../cluster-publisher/traefik-schema.js'
import { canonicalBytes } from '../../node/canonical-json.js'
import { memoryEnvelopeStore, type EnvelopeStore } from '../../node/envelope-store.js'
import { sealEnvelope, trustPolicy } from '../../node/envelope.js'
import { LatestEnvelope } from '../../node/latest-envelope.js'
import { silentLogger } from '../../node/logger.js'
import { meshKeys, MESH, routeFragment, type MeshKeys } from '../fixtures/mesh.js'

const validate = createFragmentValidator(loadTraefikSchema())
const BROKEN = 'http: [broken\n'
const CLOCK = 1_800_000_000_000

function fragments (texts: Record<string, string>): Fragment[] {
  return Object.entries(texts).map(([source, text]) => fragmentFromText(source, text))
}

/** The config as the publisher would sign it from these (valid) fragments. */
function configOf (...names: string[]): Uint8Array {
  const routers: Record<string, unknown> = {}
  const services: Record<string, unknown> = {}
  for (const name of names) {
    routers[name] = { rule: `Host(\`${name}.example.com\`)`, service: name }
    services[name] = { loadBalancer: { servers: [{ url: 'http://10.0.0.1:80' }] } }
  }
  return canonicalBytes({ http: { routers, services } })
}

interface Harness {
  controller: PublisherController
  latest: LatestEnvelope
  /** What the source shows; change it between syncs. */
  view: SourceSnapshot
  /** Each call to the mesh: offers this envelope (if any) as a peer's answer and says how many answered. */
  mesh: { answers: number, offers: Uint8Array | undefined, asked: number }
  events: string[]
  announced: number[]
}

function harness (keys: MeshKeys, options: { store?: EnvelopeStore, durableState?: boolean, now?: () => number } = {}): Harness {
  let lastGood = (): ReadonlyMap<string, JsonObject> => new Map()
  const state = options.durableState === true ? publisherState(options.store ?? memoryEnvelopeStore(), { lastGood: () => lastGood() }) : undefined
  const latest = new LatestEnvelope({ trust: trustPolicy(MESH, [keys.signingKey]), store: state ?? options.store ?? memoryEnvelopeStore(), log: silentLogger() })
  const announced: number[] = []
  const signer = new ConfigPublisher({
    latest,
    announce: async () => { announced.push(latest.current()?.head.version ?? 0); return 1 }
  }, { signingKey: keys.signingKey, now: options.now ?? (() => CLOCK) })
  const view: SourceSnapshot = { fragments: [], skipped: [], pending: [] }
  const mesh = { answers: 0, offers: undefined as Uint8Array | undefined, asked: 0 }
  const events: string[] = []
  const reporter: FragmentReporter = {
    fragmentChanged: report => { events.push(`${report.source} ${report.status}`) },
    routePending: pending => { events.push(`${pending.source} pending`) },
    pinChanged: pin => { events.push(pin === undefined ? 'unpinned' : `pinned to ${pin.version}`) }
  }
  const controller = new PublisherController({
    source: { snapshot: async () => view },
    latest,
    signer,
    ...(state !== undefined ? { state } : {}),
    mesh: {
      syncWithPeers: async () => {
        mesh.asked++
        if (mesh.offers !== undefined) latest.offer(mesh.offers, 'sync:peer')
        return mesh.answers
      }
    }
  }, { validate, log: silentLogger(), registry: new Registry(), reporters: [reporter] })
  lastGood = () => controller.lastGoodContent()
  return { controller, latest, view, mesh, events, announced }
}

function served (latest: LatestEnvelope): string {
  const body = latest.current()?.body
  return body === undefined ? '(nothing)' : new TextDecoder().decode(body)
}

function earlierEnvelope (keys: MeshKeys, version: number, ...names: string[]): Uint8Array {
  return sealEnvelope({ mesh: MESH, version, issuedAt: new Date(CLOCK - 60_000), body: configOf(...names) }, keys.signingKey).bytes
}

test('every fragment valid: the first sync of a term publishes at once, asking the mesh nothing', async t => {
  const keys = meshKeys()
  const h = harness(keys)
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': routeFragment('b', 'b.example.com') })
  await h.controller.beginTerm()
  t.is(await h.controller.sync(), 'published')
  t.is(served(h.latest), new TextDecoder().decode(configOf('a', 'b')))
  t.is(h.mesh.asked, 0)
  t.deepEqual(h.announced, [CLOCK])
  t.is(await h.controller.sync(), 'unchanged', 'the same fragments again sign nothing new')
})

test('a broken fragment with nothing known: nothing is published until a peer tells the newest config, then its last good content is kept', async t => {
  const keys = meshKeys()
  const h = harness(keys)
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': BROKEN })
  await h.controller.beginTerm()

  t.is(await h.controller.sync(), 'waiting-for-mesh')
  t.is(h.latest.current(), undefined, 'nothing signed')
  t.deepEqual(h.announced, [])
  t.regex(h.controller.view().lastError ?? '', /waiting for the mesh's newest config before publishing: b\.yaml is broken/)
  t.true(h.controller.waitingForMesh())

  // A peer connects and answers with what it serves: a and b, from before the restart.
  h.mesh.answers = 1
  h.mesh.offers = earlierEnvelope(keys, CLOCK + 5_000, 'a', 'b')
  t.is(await h.controller.sync(), 'unchanged', "the mesh's config already is what the fragments give")
  t.is(served(h.latest), new TextDecoder().decode(configOf('a', 'b')))
  t.deepEqual(h.controller.view().fragments.map(f => `${f.source} ${f.status}`), ['a.yaml accepted', 'b.yaml kept-last-good'])
  t.false(h.controller.waitingForMesh())

  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': BROKEN, 'c.yaml': routeFragment('c', 'c.example.com') })
  t.is(await h.controller.sync(), 'published')
  t.is(served(h.latest), new TextDecoder().decode(configOf('a', 'b', 'c')), 'b is still there beside the new c')
  t.true((h.latest.current()?.head.version ?? 0) > CLOCK + 5_000, 'versions continue above the mesh\'s, whatever the clock says')
})

test('restored from a durable state store, a broken fragment keeps its content at once, without the mesh', async t => {
  const keys = meshKeys()
  const store = memoryEnvelopeStore()
  await store.save([earlierEnvelope(keys, CLOCK + 5_000, 'a', 'b')])
  const h = harness(keys, { store, durableState: true })
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': BROKEN, 'c.yaml': routeFragment('c', 'c.example.com') })
  await h.controller.beginTerm()
  t.is(await h.controller.sync(), 'published')
  t.is(h.mesh.asked, 0)
  t.is(served(h.latest), new TextDecoder().decode(configOf('a', 'b', 'c')))
  t.is(h.latest.current()?.head.version, CLOCK + 5_001, 'the next version after the stored one, though the clock is behind it')
  t.deepEqual(h.events, ['b.yaml kept-last-good'])
})

test('a durable store with nothing in it is no knowledge: a broken fragment still waits for the mesh', async t => {
  const keys = meshKeys()
  const h = harness(keys, { durableState: true })
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': BROKEN })
  await h.controller.beginTerm()
  t.is(await h.controller.sync(), 'waiting-for-mesh')
  t.is(h.mesh.asked, 1)
  // An answer from a peer that holds nothing newer still tells the newest: there is nothing to recover.
  h.mesh.answers = 1
  t.is(await h.controller.sync(), 'published')
  t.deepEqual(h.controller.view().fragments.map(f => `${f.source} ${f.status}`), ['a.yaml accepted', 'b.yaml rejected'])
  t.deepEqual(h.events, ['b.yaml rejected'])
})

test('a fragment that breaks during a term keeps the content this term saw; one that never was good is left out, without waiting', async t => {
  const keys = meshKeys()
  const h = harness(keys)
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': routeFragment('b', 'b.example.com') })
  await h.controller.beginTerm()
  t.is(await h.controller.sync(), 'published')
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': BROKEN, 'z.yaml': BROKEN })
  t.is(await h.controller.sync(), 'unchanged')
  t.is(h.mesh.asked, 0)
  t.deepEqual(h.events, ['b.yaml kept-last-good', 'z.yaml rejected'])
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': routeFragment('b', 'b.example.com') })
  await h.controller.sync()
  t.deepEqual(h.events, ['b.yaml kept-last-good', 'z.yaml rejected', 'b.yaml accepted'])
})

test('a build with no routers is not published in place of one with some', async t => {
  const keys = meshKeys()
  const h = harness(keys)
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com') })
  await h.controller.beginTerm()
  await h.controller.sync()
  const before = h.latest.current()?.head.version
  h.view.fragments = []
  t.is(await h.controller.sync(), 'refused-empty')
  t.is(h.latest.current()?.head.version, before)
  t.regex(h.controller.view().lastError ?? '', /not publishing a config with no routers in place of one with 1/)
})

test('a new term forgets what the last one remembered and restores the state store again', async t => {
  const keys = meshKeys()
  const store = memoryEnvelopeStore()
  const h = harness(keys, { store, durableState: true })
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': routeFragment('b', 'b.example.com') })
  await h.controller.beginTerm()
  await h.controller.sync()
  // Meanwhile another replica led and published a, b and c; it stored that.
  await store.save([sealEnvelope({ mesh: MESH, version: CLOCK + 9_000, issuedAt: new Date(CLOCK), body: configOf('a', 'b', 'c') }, keys.signingKey).bytes])
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': routeFragment('b', 'b.example.com'), 'c.yaml': BROKEN })
  await h.controller.beginTerm()
  t.is(h.latest.current()?.head.version, CLOCK + 9_000)
  t.is(await h.controller.sync(), 'unchanged', 'c keeps what the other replica published')
  t.deepEqual(h.controller.view().fragments.map(f => `${f.source} ${f.status}`), ['a.yaml accepted', 'b.yaml accepted', 'c.yaml kept-last-good'])
})

test('two fragments broken across a restart each keep their own content when the other is fixed', async t => {
  const keys = meshKeys()
  const store = memoryEnvelopeStore()
  const first = harness(keys, { store, durableState: true })
  first.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': routeFragment('b', 'b.example.com'), 'c.yaml': routeFragment('c', 'c.example.com') })
  await first.controller.beginTerm()
  await first.controller.sync()

  // A new process (a restart, or the other replica) with b and c broken meanwhile.
  const h = harness(keys, { store, durableState: true })
  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': BROKEN, 'c.yaml': BROKEN })
  await h.controller.beginTerm()
  await h.controller.sync()
  t.is(served(h.latest), new TextDecoder().decode(configOf('a', 'b', 'c')))

  h.view.fragments = fragments({ 'a.yaml': routeFragment('a', 'a.example.com'), 'b.yaml': routeFragment('b', 'b.example.com', 'http://10.0.0.2:80'), 'c.yaml': BROKEN })
  await h.controller.sync()
  const routers = Object.keys((JSON.parse(served(h.latest)) as { http: { routers: Record<string, unknown> } }).http.routers).sort()
  t.deepEqual(routers, ['a', 'b', 'c'], 'c is still there after b is fixed')
  t.deepEqual(h.controller.view().fragments.map(f => `${f.source} ${f.status}`), ['a.yaml accepted', 'b.yaml accepted', 'c.yaml kept-last-good'])
})
