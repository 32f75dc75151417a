import test, { type ExecutionContext } from 'ava'
import { createServer, type Server } from 'node:net'
import { parseRolloutPolicy } from '../../cluster-publisher/rollout-policy.js'
import type { Publisher } from '../../cluster-publisher/create-publisher.js'
import type { Edge } from '../../edge-subscriber/create-edge.js'
import { waitFor } from '../../simulations/wait-for.js'
import { meshKeys, routeFragment, startEdge, startPublisher, writeFragment, type MeshKeys } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'

const POLICY = parseRolloutPolicy(`
waves:
  - name: canary
    edges: {tier: canary}
    bake: 1s
  - name: europe
    edges: {region: eu}
    bake: 1s
  - name: everyone
`, 'test policy')

const EDGES = [
  { name: 'canary-1', labels: { tier: 'canary' } },
  { name: 'paris', labels: { region: 'eu' } },
  { name: 'austin', labels: { region: 'us' } }
]

/** A TCP backend that answers (accepts connections) until the test ends. */
async function listeningBackend (t: ExecutionContext): Promise<string> {
  const server = createServer(socket => { socket.end() })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}

/** An address nothing listens on: a port just given back. */
async function deadBackend (): Promise<string> {
  const server: Server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>(resolve => server.close(() => { resolve() }))
  return `http://127.0.0.1:${port}`
}

interface Fleet { keys: MeshKeys, fragments: string, publisher: Publisher, edges: Array<Edge & { label: string }> }

/** A publisher under the three-wave policy and one edge per wave, every edge serving the first version and known to the publisher. */
async function fleetInWaves (t: ExecutionContext): Promise<Fleet> {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'app.yaml', routeFragment('app', 'app.example.com', await listeningBackend(t)))
  const publisher = await startPublisher(t, keys, fragments, { rollout: POLICY })
  const bootstrap = publisher.mesh.addresses()
  const edges = await Promise.all(EDGES.map(async edge => Object.assign(await startEdge(t, keys, { bootstrap, ...edge }), { label: edge.name })))
  const first = await waitFor('the first version released (no edge known yet: no waves)', () => publisher.latest.current()?.head.version)
  await waitFor('every edge reported to the publisher, serving the first version', () =>
    publisher.status().edges.filter(edge => edge.takesRollouts && edge.version === first).length === EDGES.length ? true : undefined, 120_000)
  return { keys, fragments, publisher, edges }
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
  }, 120_000, 10)
  return timeline
}

test('a good change moves wave by wave: canary, then europe, then everyone; then it is released', async t => {
  const fleet = await fleetInWaves(t)
  const before = fleet.publisher.latest.current()?.head.version ?? 0
  await writeFragment(fleet.fragments, 'more.yaml', routeFragment('more', 'more.example.com', await listeningBackend(t)))
  const timeline = await watchServing(fleet, () => fleet.publisher.status().rollout?.state === 'complete' &&
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
  for (const edge of fleet.edges) t.is(edge.status().configSha256, released?.head.bodySha256)
  // The same build is held back: the publisher does not roll it out again.
  const held = await waitFor('the next build says it is held back', () => /held back/.test(fleet.publisher.status().lastError ?? '') ? fleet.publisher.status().lastError : undefined)
  t.regex(held ?? '', /the last released config stays served until the fragments change/)
  t.is(fleet.publisher.latest.current()?.head.version, rollback?.head.version, 'and publishes nothing new')
})
