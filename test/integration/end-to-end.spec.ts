import test from 'ava'
import { getConfig, meshKeys, routeFragment, startEdge, startPublisher, writeFragment } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../fixtures/wait-for.js'

test('a fragment change reaches three edges', async t => {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'whoami.yaml', routeFragment('whoami', 'whoami.example.com'))
  const publisher = await startPublisher(t, keys, fragments)
  const bootstrap = publisher.mesh.addresses()
  const edges = await Promise.all([1, 2, 3].map(async () => await startEdge(t, keys, { bootstrap })))

  const first = await waitFor('first version on every edge', async () => {
    const versions = edges.map(edge => edge.status().version)
    return versions.every(v => v !== null && v === publisher.status().version) ? versions[0] : undefined
  })
  const response = await getConfig(edges[0]!)
  t.is(response.status, 200)
  t.deepEqual(Object.keys((await response.json()).http.routers), ['whoami'])

  await writeFragment(fragments, 'video.yaml', routeFragment('video', 'video.example.com'))
  await waitFor('second version on every edge', async () => {
    const bodies = await Promise.all(edges.map(async edge => await (await getConfig(edge)).json()))
    return bodies.every(body => body.http.routers.video !== undefined) ? true : undefined
  })
  t.true(edges.every(edge => (edge.status().version ?? 0) > (first ?? 0)))
})
