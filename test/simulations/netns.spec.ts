import test, { type ExecutionContext } from 'ava'
import { NamespaceMesh, namespacesUnavailable } from '../../simulations/netns.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'
import { ANNOUNCE_INTERVAL_MS } from '../../node/constants.js'

const unavailable = namespacesUnavailable()
/** Generous: real processes on a machine that may be busy. */
const CONVERGE_MS = 90_000

type Node = NamespaceMesh['nodes'][number]

async function versions (mesh: NamespaceMesh, edges: Node[]): Promise<Array<number | undefined>> {
  return await Promise.all(edges.map(async edge => await mesh.servedVersion(edge)))
}

async function allServe (mesh: NamespaceMesh, edges: Node[], version: number, what: string): Promise<void> {
  await waitFor(what, async () => (await versions(mesh, edges)).every(v => v === version) ? true : undefined, CONVERGE_MS, 100)
}

async function newerPublished (mesh: NamespaceMesh, than: number): Promise<number> {
  return await waitFor('a newer published version', async () => {
    const v = await mesh.publishedVersion()
    return v !== undefined && v > than ? v : undefined
  }, 60_000, 100)
}

/** A publisher and `edges` edges as processes in namespaces (of `extra` more, not started), all serving the first version. */
async function started (t: ExecutionContext, edges: number, extra = 0): Promise<{ mesh: NamespaceMesh, first: number }> {
  const mesh = new NamespaceMesh(await tempDir(t), edges + extra)
  t.teardown(() => { mesh.tearDown() })
  return { mesh, first: await mesh.startServing(edges) }
}

const netnsTest = unavailable === undefined ? test.serial : test.serial.skip
const skipped = unavailable === undefined ? '' : ` (skipped: ${unavailable})`

netnsTest(`processes: an isolated publisher publishes, an edge restarts meanwhile and serves at once, and after the heal every edge converges${skipped}`, async t => {
  const { mesh, first } = await started(t, 3)
  mesh.link(mesh.publisher, false)
  const restarted = mesh.edgeNodes[0]!
  await mesh.stop(restarted)
  mesh.startEdge(restarted)
  t.is(await waitFor('the restarted edge serves its persisted config', async () => await mesh.servedVersion(restarted), 60_000, 50), first)
  await mesh.writeFragment('second')
  // The host watches from the bridge the publisher was cut from: it learns the new version after the heal.
  mesh.link(mesh.publisher, true)
  const healedAt = Date.now()
  const second = await newerPublished(mesh, first)
  await allServe(mesh, mesh.edgeNodes, second, 'every edge converges after the heal')
  t.log(`converged ${Date.now() - healedAt} ms after the heal`)
})

netnsTest(`processes: the mesh splits in two halves, the publisher in one; its half converges at once, the other after the heal${skipped}`, async t => {
  const { mesh, first } = await started(t, 4)
  const near = mesh.edgeNodes.slice(0, 2)
  const far = mesh.edgeNodes.slice(2)
  mesh.split(far, true)
  await mesh.writeFragment('during-split')
  const next = await newerPublished(mesh, first)
  await allServe(mesh, near, next, "the publisher's half converges during the split")
  mesh.split(far, false)
  const healedAt = Date.now()
  await allServe(mesh, mesh.edgeNodes, next, 'the other half converges after the heal')
  t.log(`the far half converged ${Date.now() - healedAt} ms after the heal`)
  t.deepEqual(await versions(mesh, mesh.edgeNodes), mesh.edgeNodes.map(() => next))
})

netnsTest(`processes: an edge whose link flaps five times while versions are published ends up with the newest${skipped}`, async t => {
  const { mesh, first } = await started(t, 3)
  const flapper = mesh.edgeNodes[1]!
  let newest = first
  for (let i = 1; i <= 5; i++) {
    mesh.link(flapper, false)
    await mesh.writeFragment(`flap${i}`)
    newest = await newerPublished(mesh, newest)
    await new Promise(resolve => setTimeout(resolve, 700))
    mesh.link(flapper, true)
    await new Promise(resolve => setTimeout(resolve, 700))
  }
  const healedAt = Date.now()
  await allServe(mesh, mesh.edgeNodes, newest, 'every edge, the flapper too, serves the newest')
  t.log(`converged ${Date.now() - healedAt} ms after the last heal`)
  t.true(newest > first)
})

netnsTest(`processes: an edge cut off from the publisher right after the edges start gets the next version through the other edges${skipped}`, async t => {
  const { mesh, first } = await started(t, 3)
  const cut = mesh.edgeNodes[0]!
  mesh.cutBetween(mesh.publisher, cut, true)
  await mesh.writeFragment('second')
  const second = await newerPublished(mesh, first)
  const publishedAt = Date.now()
  await allServe(mesh, mesh.edgeNodes.slice(1), second, 'the edges the publisher reaches serve the new version')
  await allServe(mesh, [cut], second, 'the cut edge serves it too, through the other edges')
  const tookMs = Date.now() - publishedAt
  t.log(`the cut edge served the new version ${tookMs} ms after it was published`)
  // Through edges it knew from the start, not after its next announcement to the mesh (every 15 s or more).
  t.true(tookMs < ANNOUNCE_INTERVAL_MS, `took ${tookMs} ms`)
})

netnsTest(`processes: edges that join after the last publish converge by sync${skipped}`, async t => {
  const { mesh, first } = await started(t, 2, 2)
  const late = mesh.edgeNodes.slice(2)
  const joinedAt = Date.now()
  for (const edge of late) mesh.startEdge(edge)
  await allServe(mesh, late, first, 'the late edges serve the current version')
  t.log(`late joiners served ${Date.now() - joinedAt} ms after starting`)
  t.deepEqual(await versions(mesh, late), late.map(() => first))
})

netnsTest(`processes: the publisher crashes and a replacement continues the versions upwards${skipped}`, async t => {
  const { mesh, first } = await started(t, 3)
  await mesh.stop(mesh.publisher)
  t.deepEqual(await versions(mesh, mesh.edgeNodes), mesh.edgeNodes.map(() => first), 'the edges keep serving without a publisher')
  mesh.startPublisher()
  await mesh.writeFragment('after-replacement')
  const next = await newerPublished(mesh, first)
  await allServe(mesh, mesh.edgeNodes, next, 'every edge serves the replacement\'s version')
  t.true(next > first)
})
