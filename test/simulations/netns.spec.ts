import test from 'ava'
import { NamespaceMesh, namespacesUnavailable } from '../../simulations/netns.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../fixtures/wait-for.js'

const unavailable = namespacesUnavailable()
const EDGES = 3
const CONVERGE_MS = 5000

if (unavailable !== undefined) {
  test(`real processes in network namespaces (skipped: ${unavailable})`, t => { t.pass() })
} else {
  test.serial('real dime processes in network namespaces: an isolated publisher publishes, the link heals, every edge converges; an edge restarted while cut off serves at once', async t => {
    const mesh = new NamespaceMesh(await tempDir(t), EDGES)
    t.teardown(() => { mesh.tearDown() })
    mesh.setUp()
    await mesh.writeKeysAndFragments()
    await mesh.writeFragment('first')
    mesh.startPublisher()
    for (const edge of mesh.edgeNodes) mesh.startEdge(edge)

    const first = await waitFor('the publisher publishes', async () => await mesh.publishedVersion(), 30_000, 200)
    await waitFor('every edge serves the first version', async () =>
      (await Promise.all(mesh.edgeNodes.map(async edge => await mesh.servedVersion(edge)))).every(v => v === first) ? true : undefined, 30_000, 200)

    // Cut the publisher off, restart an edge meanwhile, and publish on the publisher's side only.
    mesh.link(mesh.publisher, false)
    const restarted = mesh.edgeNodes[0]!
    await mesh.stop(restarted)
    mesh.startEdge(restarted)
    t.is(await waitFor('the restarted edge serves its persisted config', async () => await mesh.servedVersion(restarted), 30_000, 50), first)
    await mesh.writeFragment('second')
    await new Promise(resolve => setTimeout(resolve, 2000))
    for (const edge of mesh.edgeNodes) t.is(await mesh.servedVersion(edge), first, `${edge.name} still serves the first version while cut off`)

    mesh.link(mesh.publisher, true)
    const healedAt = Date.now()
    const second = await waitFor('the publisher is reachable again with its new version', async () => {
      const v = await mesh.publishedVersion()
      return v !== undefined && v > first ? v : undefined
    }, 10_000, 100)
    await waitFor('every edge converges after the heal', async () =>
      (await Promise.all(mesh.edgeNodes.map(async edge => await mesh.servedVersion(edge)))).every(v => v === second) ? true : undefined, 40_000, 100)
    t.log(`converged ${Date.now() - healedAt} ms after the heal (redial backoff is capped at 30 s in production)`)
    t.pass()
  })
}
