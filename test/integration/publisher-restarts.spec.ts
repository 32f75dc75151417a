import test from 'ava'
import { getConfig, meshKeys, routeFragment, startEdge, startPublisher, writeFragment } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

async function routers (edge: Parameters<typeof getConfig>[0]): Promise<string> {
  const body = await (await getConfig(edge)).json() as { http?: { routers?: Record<string, unknown> } }
  return Object.keys(body.http?.routers ?? {}).sort().join(',')
}

test('a fragment broken while the publisher was down keeps its last good content, recovered from the mesh', async t => {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'a.yaml', routeFragment('a', 'a.example.com'))
  await writeFragment(fragments, 'b.yaml', routeFragment('b', 'b.example.com'))
  const first = await startPublisher(t, keys, fragments)
  const address = first.mesh.addresses()[0] ?? ''
  const edge = await startEdge(t, keys, { bootstrap: [address] })
  await waitFor('a and b served', async () => await routers(edge) === 'a,b' ? true : undefined)
  await first.stop()

  await writeFragment(fragments, 'b.yaml', 'http: [broken\n')
  const second = await startPublisher(t, keys, fragments, { listen: address.replace(/\/p2p\/.*$/, '') })
  await waitFor('b reported as kept', () => second.status().fragments.find(f => f.source === 'b.yaml')?.status === 'kept-last-good' ? true : undefined)
  t.is(await routers(edge), 'a,b')

  await writeFragment(fragments, 'c.yaml', routeFragment('c', 'c.example.com'))
  await waitFor('c added, b still there', async () => await routers(edge) === 'a,b,c' ? true : undefined)
  t.pass()
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
