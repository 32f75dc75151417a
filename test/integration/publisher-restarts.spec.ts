import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import type { Edge } from '../../edge-subscriber/create-edge.js'
import { fileEnvelopeStore } from '../../node/file-envelope-store.js'
import { Partition } from '../../simulations/partition.js'
import { getConfig, meshKeys, routeFragment, startEdge, startPublisher, writeFragment, type MeshKeys } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

async function routers (edge: Parameters<typeof getConfig>[0]): Promise<string> {
  const body = await (await getConfig(edge)).json() as { http?: { routers?: Record<string, unknown> } }
  return Object.keys(body.http?.routers ?? {}).sort().join(',')
}

/** Every config body an edge starts serving, from now on. */
function servedBodies (edge: Edge): string[] {
  const bodies: string[] = []
  edge.latest.onAccepted(envelope => { bodies.push(new TextDecoder().decode(envelope.body)) })
  return bodies
}

/** A publisher and three edges serving alpha and bravo; the publisher is then stopped and bravo broken. */
async function bravoBrokenWhileDown (t: ExecutionContext, keys: MeshKeys, partition: Partition, stateDir?: string): Promise<{ fragments: string, edges: Edge[], listen: string, publisherId: string }> {
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'alpha.yaml', routeFragment('alpha', 'alpha.example.com'))
  await writeFragment(fragments, 'bravo.yaml', routeFragment('bravo', 'bravo.example.com'))
  const stateStore = stateDir === undefined ? undefined : fileEnvelopeStore(join(stateDir, 'published.envelope'))
  const first = await startPublisher(t, keys, fragments, { partition, ...(stateStore !== undefined ? { stateStore } : {}) })
  const address = first.mesh.addresses()[0] ?? ''
  const edges = await Promise.all([1, 2, 3].map(async () => await startEdge(t, keys, { bootstrap: [address], partition })))
  for (const edge of edges) await waitFor('alpha and bravo served', async () => await routers(edge) === 'alpha,bravo' ? true : undefined)
  const publisherId = first.mesh.peerId
  await first.stop()
  await writeFragment(fragments, 'bravo.yaml', 'http: [broken\n')
  return { fragments, edges, listen: address.replace(/\/p2p\/.*$/, ''), publisherId }
}

test('restarted with no state while no edge can reach it, a publisher with a broken fragment publishes nothing; once edges return, bravo is kept', async t => {
  const keys = meshKeys()
  const partition = new Partition()
  const { fragments, edges, listen, publisherId } = await bravoBrokenWhileDown(t, keys, partition)
  const bodies = edges.map(servedBodies)
  // The publisher comes back, but no edge reaches it for longer than any fixed window would wait.
  await partition.split([{ peerId: publisherId, hangUp: async () => {} }], edges.map(edge => edge.mesh))
  const second = await startPublisher(t, keys, fragments, { listen, partition })
  await waitFor('the publisher holding its build', () => /waiting for the mesh's newest config/.test(second.status().lastError ?? '') ? true : undefined)
  await new Promise(resolve => setTimeout(resolve, 4000))
  t.is(second.status().version, null, 'nothing was signed while cut off')
  t.false((await fetch(`${second.adminUrl() ?? ''}/readyz`)).ok, 'not ready while holding')

  partition.heal()
  await waitFor('bravo reported as kept', () => second.status().fragments.find(f => f.source === 'bravo.yaml')?.status === 'kept-last-good' ? true : undefined)
  await writeFragment(fragments, 'charlie.yaml', routeFragment('charlie', 'charlie.example.com'))
  for (const edge of edges) await waitFor('charlie added beside alpha and bravo', async () => await routers(edge) === 'alpha,bravo,charlie' ? true : undefined)
  // Only now, with a later version everywhere, can it be said that no config without bravo ever went out.
  for (const served of bodies) t.true(served.length > 0 && served.every(body => body.includes('bravo.example.com')), 'every config served since kept bravo')
})

test('restarted with its state while no edge can reach it, a publisher keeps a broken fragment\'s content at once', async t => {
  const keys = meshKeys()
  const partition = new Partition()
  const stateDir = await tempDir(t)
  const { fragments, edges, listen, publisherId } = await bravoBrokenWhileDown(t, keys, partition, stateDir)
  await partition.split([{ peerId: publisherId, hangUp: async () => {} }], edges.map(edge => edge.mesh))
  const second = await startPublisher(t, keys, fragments, { listen, partition, stateStore: fileEnvelopeStore(join(stateDir, 'published.envelope')) })
  await writeFragment(fragments, 'charlie.yaml', routeFragment('charlie', 'charlie.example.com'))
  const body = await waitFor('alpha, bravo and charlie signed while cut off', () => {
    const current = second.latest.current()
    const text = current === undefined ? '' : new TextDecoder().decode(current.body)
    return text.includes('charlie.example.com') ? text : undefined
  })
  t.true(body.includes('bravo.example.com'))
  t.is(second.status().fragments.find(f => f.source === 'bravo.yaml')?.status, 'kept-last-good')
  partition.heal()
  for (const edge of edges) await waitFor('the edges take it after the heal', async () => await routers(edge) === 'alpha,bravo,charlie' ? true : undefined)
  t.deepEqual(await Promise.all(edges.map(routers)), edges.map(() => 'alpha,bravo,charlie'))
})

test('a publisher whose clock is an hour behind still issues versions above the mesh\'s newest', async t => {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'a.yaml', routeFragment('a', 'a.example.com'))
  const first = await startPublisher(t, keys, fragments)
  const address = first.mesh.addresses()[0] ?? ''
  const edge = await startEdge(t, keys, { bootstrap: [address] })
  const served = await waitFor('first version served', () => edge.status().version ?? undefined)
  await first.stop()

  const hourBehind = (): number => Date.now() - 3_600_000
  const second = await startPublisher(t, keys, fragments, { listen: address.replace(/\/p2p\/.*$/, ''), now: hourBehind })
  await writeFragment(fragments, 'b.yaml', routeFragment('b', 'b.example.com'))
  await waitFor('b served', async () => await routers(edge) === 'a,b' ? true : undefined)
  t.true((edge.status().version ?? 0) > served, `${edge.status().version ?? 0} > ${served}`)
  t.is(second.status().version, edge.status().version)
})
