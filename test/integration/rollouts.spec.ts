import test, { type ExecutionContext } from 'ava'
import { deadBackend, listeningBackend as liveBackend } from '../../simulations/backends.js'
import { createServer as createHttpServer } from 'node:http'
import { FAST_TIMING } from '../../simulations/world.js'
import type { Publisher } from '../../cluster-publisher/create-publisher.js'
import type { Edge } from '../../edge-subscriber/create-edge.js'
import { waitFor } from '../../simulations/wait-for.js'
import { meshKeys, routeFragment, startEdge, startPublisher, writeFragment, type MeshKeys } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { join } from 'node:path'
import { fileEnvelopeStore } from '../../node/file-envelope-store.js'
import type { RolloutHead } from '../../node/rollout-head.js'
import { dime } from '../fixtures/dime-process.js'

const POLICY = `
waves:
  - name: canary
    edges: {tier: canary}
    bake: 1s
  - name: europe
    edges: {region: eu}
    bake: 1s
  - name: everyone
`

/** Bakes nothing in a test run ends: only the operator moves these waves on. */
const SLOW_POLICY = `
waves:
  - {name: canary, edges: {tier: canary}, bake: 1h}
  - {name: europe, edges: {region: eu}, bake: 1h}
  - {name: everyone}
`

const EDGES = [
  { name: 'canary-1', labels: { tier: 'canary' } },
  { name: 'paris', labels: { region: 'eu' } },
  { name: 'austin', labels: { region: 'us' } }
]

/** A TCP backend that answers (accepts connections) until the test ends. */
async function listeningBackend (t: ExecutionContext): Promise<string> {
  const backend = await liveBackend()
  t.teardown(backend.close)
  return backend.url
}

type NamedEdge = Edge & { label: string, dataDir: string }
interface Fleet { keys: MeshKeys, fragments: string, publisher: Publisher, edges: NamedEdge[], stateDir: string }

/** A publisher under a three-wave policy and one edge per wave, every edge serving the first version and known to the publisher. */
async function fleetInWaves (t: ExecutionContext, policy = POLICY): Promise<Fleet> {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  const stateDir = await tempDir(t)
  await writeFragment(fragments, 'app.yaml', routeFragment('app', 'app.example.com', await listeningBackend(t)))
  const publisher = await startPublisher(t, keys, fragments, { rollout: policy, stateStore: fileEnvelopeStore(join(stateDir, 'published.envelope')) })
  const bootstrap = publisher.mesh.addresses()
  const edges = await Promise.all(EDGES.map(async edge => Object.assign(await startEdge(t, keys, { bootstrap, ...edge }), { label: edge.name })))
  const first = await waitFor('the first version released (no edge known yet: no waves)', () => publisher.latest.current()?.head.version)
  await waitFor('every edge reported to the publisher, serving the first version', () =>
    publisher.status().edges.filter(edge => edge.takesRollouts && edge.version === first).length === EDGES.length ? true : undefined, 120_000)
  return { keys, fragments, publisher, edges, stateDir }
}

function edgeNamed (fleet: Fleet, name: string): NamedEdge {
  const edge = fleet.edges.find(candidate => candidate.label === name)
  if (edge === undefined) throw new Error(`no edge ${name}`)
  return edge
}

/** Writes a change with a live backend and waits until the canary serves it; resolves with its version. */
async function changeReachesCanary (t: ExecutionContext, fleet: Fleet, name: string): Promise<number> {
  await writeFragment(fleet.fragments, `${name}.yaml`, routeFragment(name, `${name}.example.com`, await listeningBackend(t)))
  const version = await waitFor('a rollout started', () => fleet.publisher.status().rollout?.state === 'rolling' && fleet.publisher.status().rollout?.bodySha256 !== fleet.publisher.latest.current()?.head.bodySha256 ? fleet.publisher.status().rollout?.version : undefined)
  await waitFor('the canary serves the version in rollout', () => edgeNamed(fleet, 'canary-1').status().version === version ? true : undefined)
  return version
}

/** Which version each edge serves, sampled until `until` holds, as a timeline of first-served moments. */
async function watchServing (fleet: Fleet, until: () => boolean, what: string): Promise<Array<{ edge: string, version: number, at: number }>> {
  const timeline: Array<{ edge: string, version: number, at: number }> = []
  const seen = new Map<string, number>()
  await waitFor(what, () => {
    for (const edge of fleet.edges) {
      const version = edge.status().version
      if (version !== null && version !== seen.get(edge.label)) {
        seen.set(edge.label, version)
        timeline.push({ edge: edge.label, version, at: Date.now() })
      }
    }
    return until() ? true : undefined
  }, 120_000, 10).catch((err: unknown) => {
    throw new Error(`${(err as Error).message}; rollout: ${JSON.stringify(fleet.publisher.status().rollout)}; served: ${JSON.stringify(timeline)}`)
  })
  return timeline
}

test('a good change moves wave by wave: canary, then europe, then everyone; then it is released', async t => {
  const fleet = await fleetInWaves(t)
  const before = fleet.publisher.latest.current()?.head.version ?? 0
  const heads: RolloutHead[] = []
  t.teardown(fleet.publisher.rolloutTrack.onChange(() => {
    const head = fleet.publisher.rolloutTrack.head()
    if (head !== undefined && head !== heads.at(-1)) heads.push(head)
  }))
  await writeFragment(fleet.fragments, 'more.yaml', routeFragment('more', 'more.example.com', await listeningBackend(t)))
  const timeline = await watchServing(fleet, () => fleet.publisher.status().rollout?.state === 'complete' &&
    fleet.publisher.latest.current()?.head.version === fleet.publisher.status().rollout?.version &&
    fleet.edges.every(edge => (edge.status().version ?? 0) > before), 'the rollout completes and every edge serves it')
  const rollout = fleet.publisher.status().rollout
  t.log(timeline.map(entry => `${entry.edge} v${entry.version} +${entry.at - (timeline[0]?.at ?? 0)} ms`).join('\n'))
  t.truthy(rollout)
  t.deepEqual(rollout?.waves.map(wave => wave.name), ['canary', 'europe', 'everyone'])
  t.true(rollout?.waves.every(wave => wave.edges.every(edge => edge.verdict === 'healthy')))
  const firstServed = (edge: string): number => timeline.find(entry => entry.edge === edge && entry.version === rollout?.version)?.at ?? Infinity
  t.true(firstServed('canary-1') < firstServed('paris'), 'europe is reached after the canary')
  t.true(firstServed('paris') < firstServed('austin'), 'everyone is reached after europe')
  t.is(fleet.publisher.latest.current()?.head.version, rollout?.version, 'once complete, the version is released')

  // A head lists the edges of the waves reached, and no others: the canary's is small whatever the fleet's size.
  const listed = heads.filter(head => head.version === rollout?.version).map(head => `${head.state} ${head.reached}: ${head.waves.map(wave => wave.peers.length).join('/')}`)
  t.deepEqual(listed, ['rolling 1: 1/0/0', 'rolling 2: 1/1/0', 'rolling 3: 1/1/1', 'complete 3: 0/0/0'])
})

test('a change to a backend nothing listens on stops at the canary and rolls back; the other edges never serve it', async t => {
  const fleet = await fleetInWaves(t)
  const released = fleet.publisher.latest.current()
  await writeFragment(fleet.fragments, 'broken.yaml', routeFragment('broken', 'broken.example.com', await deadBackend()))
  const timeline = await watchServing(fleet, () => fleet.publisher.status().rollout?.state === 'rolled-back' &&
    fleet.edges.every(edge => (edge.status().version ?? 0) > (fleet.publisher.status().rollout?.version ?? Infinity)), 'the rollout fails and every edge serves the rollback')
  const rollout = fleet.publisher.status().rollout
  t.log(rollout?.reason)
  t.regex(rollout?.reason ?? '', /wave "canary" failed its health gate: canary-1: backends that do not answer from this edge: http\/broken/)
  t.deepEqual(timeline.filter(entry => entry.version === rollout?.version).map(entry => entry.edge), ['canary-1'], 'only the canary ever served the failed version')
  const rollback = fleet.publisher.latest.current()
  t.true((rollback?.head.version ?? 0) > (rollout?.version ?? Infinity), 'the rollback is signed above the failed version')
  t.is(rollback?.head.bodySha256, released?.head.bodySha256, 'and holds the last released config')
  for (const edge of fleet.edges) t.is(edge.status().configSha256, released?.head.bodySha256 ?? null)
  // The fragment that changed is held back: the publisher does not roll it out again, even with the next edit of another one.
  const held = await waitFor('the next build says it is held back', () => /held back/.test(fleet.publisher.status().lastError ?? '') ? fleet.publisher.status().lastError ?? undefined : undefined)
  t.is(held, 'held back after their change failed its rollout, until they change again: broken.yaml (their content before it is published)')
  t.is(fleet.publisher.latest.current()?.head.version, rollback?.head.version, 'and publishes nothing new')
  await writeFragment(fleet.fragments, 'other.yaml', routeFragment('other', 'other.example.com', await listeningBackend(t)))
  const next = await waitFor('the next edit released after its waves', () => {
    const status = fleet.publisher.status()
    return status.rollout?.state === 'complete' && status.version === status.rollout.version && status.rollout.version > (rollback?.head.version ?? Infinity) ? status.rollout.version : undefined
  })
  const body = new TextDecoder().decode(fleet.publisher.latest.current()?.body)
  t.true(body.includes('other.example.com') && !body.includes('broken.example.com'), 'it went out without the held fragment')
  await waitFor('every edge serves it', () => fleet.edges.every(edge => edge.status().version === next) ? true : undefined)
  await writeFragment(fleet.fragments, 'broken.yaml', routeFragment('broken', 'broken.example.com', await listeningBackend(t)))
  await waitFor('fixed, the fragment is let go and goes out', () => new TextDecoder().decode(fleet.publisher.latest.current()?.body).includes('broken.example.com') ? true : undefined)
  t.is(fleet.publisher.status().lastError, null)
})

test('the operator moves a wave on now, then every edge; abort rolls back; with nothing in rollout each says so', async t => {
  const fleet = await fleetInWaves(t, SLOW_POLICY)
  const admin = fleet.publisher.adminUrl() ?? ''
  const first = await changeReachesCanary(t, fleet, 'second')
  t.not(edgeNamed(fleet, 'paris').status().version, first, 'europe is not reached while the canary bakes')

  const promoted = await fetch(`${admin}/rollout/promote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
  t.is(promoted.status, 200)
  t.is(((await promoted.json()) as { rollout: { reached: number } }).rollout.reached, 2)
  await waitFor('paris serves it once europe is reached', () => edgeNamed(fleet, 'paris').status().version === first ? true : undefined)
  t.not(edgeNamed(fleet, 'austin').status().version, first)

  const all = await fleet.publisher.promote(true)
  t.is(all.state, 'complete')
  t.regex(all.reason ?? '', /promote --all/)
  await waitFor('every edge serves it', () => fleet.edges.every(edge => edge.status().version === first) ? true : undefined)

  const second = await changeReachesCanary(t, fleet, 'third')
  const aborted = await fleet.publisher.abort()
  t.like(aborted, { version: second, state: 'rolled-back', reason: 'aborted by the operator' })
  await waitFor('every edge serves the rollback', () => fleet.edges.every(edge => (edge.status().version ?? 0) > second) ? true : undefined)
  for (const edge of fleet.edges) t.is(edge.status().configSha256, fleet.publisher.latest.current()?.head.bodySha256 ?? null)

  for (const action of ['promote', 'abort']) {
    const refused = await fetch(`${admin}/rollout/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    t.is(refused.status, 409)
    t.deepEqual(await refused.json(), { error: `no rollout to ${action}: the last one (version ${second}) is rolled-back` })
  }
})

test('edges restarted mid-rollout: one whose wave is reached still serves the version, one not reached still does not, though it holds the bytes', async t => {
  const fleet = await fleetInWaves(t, SLOW_POLICY)
  const before = fleet.publisher.latest.current()?.head.version ?? null
  const version = await changeReachesCanary(t, fleet, 'second')
  const paris = edgeNamed(fleet, 'paris')
  await waitFor('paris holds the version, not serving it', () => paris.status().rollout?.version === version && paris.status().rollout?.held === true ? true : undefined)
  t.like(paris.status(), { version: before, rollout: { version, state: 'rolling', reached: 1, waves: 3, held: true, mayServe: false } })
  const bootstrap = fleet.publisher.mesh.addresses()
  for (const [label, expected] of [['canary-1', version], ['paris', before]] as const) {
    const edge = edgeNamed(fleet, label)
    await edge.stop()
    const again = await startEdge(t, fleet.keys, { bootstrap, dataDir: edge.dataDir, ...EDGES.find(spec => spec.name === label) })
    t.is(again.status().version, expected, `${label} serves after its restart what it served before`)
    await waitFor(`${label} back in the mesh`, () => again.status().peers.length > 0 ? true : undefined)
    await new Promise(resolve => setTimeout(resolve, 1000))
    t.is(again.status().version, expected, `${label} still serves it once it has heard the mesh again`)
  }
})

test('a publisher restarted mid-rollout carries on: the same version and wave, the bake not restarted, nothing served beyond its wave', async t => {
  const fleet = await fleetInWaves(t, SLOW_POLICY)
  const version = await changeReachesCanary(t, fleet, 'second')
  const releasedBefore = fleet.publisher.latest.current()?.head.version
  const reachedAt = fleet.publisher.status().rollout?.waves[0]?.reachedAt
  const listen = (fleet.publisher.mesh.addresses()[0] ?? '').replace(/\/p2p\/.*$/, '')
  await fleet.publisher.stop()
  const publisher = await startPublisher(t, fleet.keys, fleet.fragments, { rollout: SLOW_POLICY, listen, stateStore: fileEnvelopeStore(join(fleet.stateDir, 'published.envelope')) })
  const trace: string[] = [`before restart: released ${String(releasedBefore)}, rolling ${version}`, `after restart: released ${publisher.latest.current()?.head.version ?? 'none'} rollout ${JSON.stringify({ ...publisher.status().rollout, waves: undefined })}`]
  publisher.latest.onAccepted((envelope, origin) => { trace.push(`P2 released ${envelope.head.version} from ${origin} at ${Date.now()}`) })
  const rollout = publisher.status().rollout
  t.like(rollout, { version, state: 'rolling', reached: 1 })
  t.is(rollout?.waves[0]?.reachedAt, reachedAt, 'the bake goes on from when the canary was reached')
  await waitFor('the edges report to the restarted publisher', () => publisher.status().edges.length === EDGES.length ? true : undefined)
  t.deepEqual(fleet.edges.map(edge => edge.status().version === version), [true, false, false], 'only the canary serves it')
  const promoted = await publisher.promote(true)
  trace.push(`promote returned ${promoted.state} at ${Date.now()}`)
  await waitFor(() => `${trace.join('; ')}; every edge serves it once promoted (${fleet.edges.map(edge => `${edge.label}: v${edge.status().version ?? 'none'} ${JSON.stringify(edge.status().rollout)} peers ${edge.status().peers.length}`).join('; ')}; publisher v${publisher.latest.current()?.head.version ?? 'none'}, rollout ${JSON.stringify({ ...publisher.status().rollout, waves: undefined })}, ${publisher.status().lastError ?? ''})`,
    () => fleet.edges.every(edge => edge.status().version === version) ? true : undefined)
  t.pass()
})

test('a pin wins over a rollout: its version reaches every edge at once, and the rollout is superseded', async t => {
  const fleet = await fleetInWaves(t, SLOW_POLICY)
  const released = fleet.publisher.latest.current()?.head.version ?? 0
  const inRollout = await changeReachesCanary(t, fleet, 'second')
  await fleet.publisher.pin(released)
  await waitFor('every edge serves the pinned config', () => fleet.edges.every(edge => (edge.status().version ?? 0) > inRollout) ? true : undefined)
  t.like(fleet.publisher.status().rollout, { version: inRollout, state: 'superseded', reason: 'a pin was published to every edge' })
  for (const edge of fleet.edges) t.is(edge.status().configSha256, fleet.publisher.latest.current()?.head.bodySha256 ?? null)
  await fleet.publisher.unpin()
  const again = await waitFor('unpinned, the fragments go out in waves again', () => fleet.publisher.status().rollout?.state === 'rolling' ? fleet.publisher.status().rollout?.version : undefined)
  t.true(again > inRollout)
})

test('dime rollout shows the waves and each edge\'s health; promote and abort with nothing in rollout say so', async t => {
  const fleet = await fleetInWaves(t, SLOW_POLICY)
  const admin = ['--admin', (fleet.publisher.adminUrl() ?? '').replace('http://', '')]
  const version = await changeReachesCanary(t, fleet, 'second')
  await waitFor('the canary reported healthy', () => fleet.publisher.status().rollout?.waves[0]?.edges[0]?.verdict === 'healthy' ? true : undefined)
  const shown = await dime('rollout', ...admin)
  t.is(shown.code, 0, shown.stderr)
  t.regex(shown.stdout, new RegExp(`^version ${version}: rolling, 1 of 3 waves reached, \\d+ s left in the bake`))
  t.regex(shown.stdout, /WAVE +STATE +EDGE +HEALTH +WHY/)
  t.regex(shown.stdout, /canary +reached \S+ +canary-1 +healthy/)
  t.regex(shown.stdout, /europe +not reached +paris/)
  const aborted = await dime('rollout', 'abort', ...admin)
  t.is(aborted.code, 0, `${aborted.stderr}; rollout ${JSON.stringify({ ...fleet.publisher.status().rollout, waves: undefined })}`)
  t.regex(aborted.stdout, new RegExp(`^version ${version}: rolled-back, 1 of 3 waves reached\nreason: aborted by the operator`))
  for (const action of [['promote'], ['promote', '--all'], ['abort']]) {
    const refused = await dime('rollout', ...action, ...admin)
    t.is(refused.code, 2)
    t.regex(refused.stderr, new RegExp(`HTTP 409: no rollout to ${action[0] ?? ''}: the last one \\(version ${version}\\) is rolled-back`))
  }
})

test('an edge that joins during a rollout serves what its wave should: the canary wave\'s new edge takes it, a later wave\'s does not', async t => {
  const fleet = await fleetInWaves(t, SLOW_POLICY)
  const released = fleet.publisher.latest.current()?.head.version ?? null
  const version = await changeReachesCanary(t, fleet, 'second')
  const bootstrap = fleet.publisher.mesh.addresses()
  const lateCanary = await startEdge(t, fleet.keys, { bootstrap, name: 'late-canary', labels: { tier: 'canary' } })
  const lateOther = await startEdge(t, fleet.keys, { bootstrap, name: 'late-other', labels: { region: 'us' } })
  await waitFor('the late canary serves the version in rollout', () => lateCanary.status().version === version ? true : undefined)
  const inWave = (wave: string, peer: string | undefined): boolean => fleet.publisher.status().rollout?.waves.find(w => w.name === wave)?.edges.some(edge => edge.peerId === peer) === true
  await waitFor('both late edges are in their waves', () => inWave('canary', lateCanary.peerId()) && inWave('everyone', lateOther.peerId()) ? true : undefined)
  await waitFor('the later wave\'s edge serves the released version', () => lateOther.status().version === released ? true : undefined)
  t.not(lateOther.status().version, version)
})

/** A stand-in for Traefik's Prometheus endpoint, whose service counters the test moves. */
async function proxyMetricsEndpoint (t: ExecutionContext): Promise<{ url: string, counts: Map<string, { ok: number, errors: number }> }> {
  const counts = new Map<string, { ok: number, errors: number }>()
  const server = createHttpServer((_request, response) => {
    const lines = ['# TYPE traefik_service_requests_total counter', ...[...counts].flatMap(([service, { ok, errors }]) => [
      `traefik_service_requests_total{code="200",method="GET",protocol="http",service="${service}"} ${ok}`,
      `traefik_service_requests_total{code="502",method="GET",protocol="http",service="${service}"} ${errors}`
    ])]
    response.setHeader('content-type', 'text/plain; version=0.0.4')
    response.end(`${lines.join('\n')}\n`)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`, counts }
}

test('with --proxy-metrics, a change after which Traefik answers 5xx for the changed service fails the canary and rolls back', async t => {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'app.yaml', routeFragment('app', 'app.example.com', await listeningBackend(t)))
  const publisher = await startPublisher(t, keys, fragments, { rollout: SLOW_POLICY })
  const proxy = await proxyMetricsEndpoint(t)
  proxy.counts.set('app@http', { ok: 990, errors: 10 })
  const timing = { ...FAST_TIMING, proxyScrapeIntervalMs: 200 }
  const canary = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), name: 'canary-1', labels: { tier: 'canary' }, proxyMetrics: proxy.url, timing })
  const other = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), name: 'paris', labels: { region: 'eu' } })
  await waitFor('both edges reported', () => publisher.status().edges.filter(edge => edge.takesRollouts && edge.version !== null).length === 2 ? true : undefined)
  const released = publisher.latest.current()

  // The same service, now behind a backend that answers TCP but whose application fails.
  await writeFragment(fragments, 'app.yaml', routeFragment('app', 'app.example.com', await listeningBackend(t)))
  const version = await waitFor('the canary serves the change', () => canary.status().version !== released?.head.version ? canary.status().version ?? undefined : undefined)
  await waitFor('its backends were probed healthy', () => canary.status().rolloutHealth?.version === version && canary.status().rolloutHealth?.healthy === true ? true : undefined)
  proxy.counts.set('app@http', { ok: 1000, errors: 50 })
  const rollout = await waitFor('the rollout fails on the 5xx share', () => publisher.status().rollout?.state === 'rolled-back' ? publisher.status().rollout : undefined)
  t.regex(rollout?.reason ?? '', /canary-1: more 5xx than before the change: http\/app: 80% 5xx of 50 requests since the change, 1% before/)
  await waitFor('both edges serve the rollback', () => [canary, other].every(edge => edge.status().configSha256 === released?.head.bodySha256) ? true : undefined)
  t.not(other.status().version, version, 'paris never served it')
})
