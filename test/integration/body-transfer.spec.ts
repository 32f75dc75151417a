import test from 'ava'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { compressBody } from '../../node/body-codec.js'
import { configWithRouters } from '../../simulations/bench/configs.js'
import { waitFor } from '../../simulations/wait-for.js'
import type { Edge } from '../../edge-subscriber/create-edge.js'
import { meshKeys, startEdge, startPublisher } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'

async function bodyBytes (edge: Edge): Promise<{ full: number, delta: number }> {
  const text = await (await fetch(`${edge.serveUrl() ?? ''}/metrics`)).text()
  const read = (form: string): number => Number(new RegExp(`dime_sync_body_bytes_total\\{form="${form}"\\} (\\d+)`).exec(text)?.[1] ?? 0)
  return { full: read('full'), delta: read('delta') }
}

test('each edge receives each version once, in full when everything changed and as a small delta when one router did', async t => {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  const routes = join(fragments, 'routes.json')
  const config = configWithRouters(2_000, 'a')
  await writeFile(routes, config.fragment)
  const publisher = await startPublisher(t, keys, fragments)
  const edges: Edge[] = []
  for (let i = 0; i < 4; i++) edges.push(await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() }))
  const allServe = async (what: string, after = 0): Promise<number> => await waitFor(what, () => {
    const version = publisher.status().version
    return version !== null && version > after && edges.every(edge => edge.status().version === version) ? version : undefined
  })
  const first = await allServe('every edge serves the first version')
  // Edges learn of each other from their announcements and connect: bodies may now come from any of them.
  await waitFor('edges connect to each other', () => edges.every(edge => edge.mesh.peers().length >= 2) ? true : undefined)

  const before = await Promise.all(edges.map(bodyBytes))
  const oneRouterMoved = JSON.parse(config.fragment) as { http: { routers: Record<string, { rule: string }> } }
  const moved = oneRouterMoved.http.routers['a-router-7']
  if (moved !== undefined) moved.rule = 'Host(`moved.example.com`)'
  await writeFile(routes, JSON.stringify(oneRouterMoved))
  const second = await allServe('every edge serves the one-router change', first)
  const afterDelta = await Promise.all(edges.map(bodyBytes))
  const fullSize = (await compressBody(publisher.latest.current()?.body ?? new Uint8Array())).byteLength
  const deltas = afterDelta.map((after, i) => after.delta - (before[i]?.delta ?? 0))
  t.deepEqual(afterDelta.map(after => after.full), before.map(b => b.full), 'no whole body for a one-router change')
  t.is(new Set(deltas).size, 1, `every edge received exactly one delta: ${deltas.join(', ')}`)
  t.true((deltas[0] ?? 0) > 0 && (deltas[0] ?? 0) < 0.2 * fullSize, `a delta of ${deltas[0]} bytes against ${fullSize} in full`)

  await writeFile(routes, configWithRouters(2_000, 'b').fragment)
  await allServe('every edge serves the new config', second)
  const afterFull = await Promise.all(edges.map(bodyBytes))
  const expected = (await compressBody(publisher.latest.current()?.body ?? new Uint8Array())).byteLength
  t.deepEqual(afterFull.map((after, i) => after.full - (afterDelta[i]?.full ?? 0)), edges.map(() => expected), 'one compressed body per edge')
})
