import test from 'ava'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'yaml'
import { getConfig, meshKeys, publisherWithRoute, routeFragment, startEdge, writeFragment } from '../fixtures/mesh.js'
import { traefikPoller } from '../fixtures/traefik-poller.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'

type Routers = Record<string, unknown>

function reverseKeys (value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  return Object.fromEntries(Object.entries(value).reverse().map(([key, inner]) => [key, reverseKeys(inner)]))
}

async function routersOf (edge: Parameters<typeof getConfig>[0]): Promise<string[] | undefined> {
  const response = await getConfig(edge)
  if (response.status !== 200) return undefined
  return Object.keys(((await response.json()) as { http?: { routers?: Routers } }).http?.routers ?? {}).sort()
}

async function allServe (edges: Array<Parameters<typeof getConfig>[0]>, routers: string[]): Promise<true | undefined> {
  const seen = await Promise.all(edges.map(routersOf))
  return seen.every(list => JSON.stringify(list) === JSON.stringify(routers)) ? true : undefined
}

test('a fragment change reaches three edges', async t => {
  const { keys, fragments, publisher } = await publisherWithRoute(t)
  const edges = await Promise.all([1, 2, 3].map(async () => await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })))
  await waitFor('whoami on every edge', async () => await allServe(edges, ['whoami']))
  const first = publisher.status().version ?? 0

  await writeFragment(fragments, 'video.yaml', routeFragment('video', 'video.example.com'))
  await waitFor('video on every edge', async () => await allServe(edges, ['video', 'whoami']))
  t.true(edges.every(edge => (edge.status().version ?? 0) > first))
  t.is(edges[0]?.status().version, publisher.status().version)
})

test('edges keep serving when the publisher stops, and a restarted edge serves its persisted config at once', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const bootstrap = publisher.mesh.addresses()
  const edge = await startEdge(t, keys, { bootstrap })
  await waitFor('config on the edge', async () => await allServe([edge], ['whoami']))
  const served = Buffer.from(await (await getConfig(edge)).arrayBuffer())

  await publisher.stop()
  await waitFor('the edge sees the publisher gone', () => edge.status().peers.length === 0 ? true : undefined)
  t.deepEqual(Buffer.from(await (await getConfig(edge)).arrayBuffer()), served)

  await edge.stop()
  const restarted = await startEdge(t, keys, { bootstrap, dataDir: edge.dataDir })
  // No waiting: the persisted envelope is verified and served before any peer is reached.
  const response = await getConfig(restarted)
  t.is(response.status, 200)
  t.deepEqual(Buffer.from(await response.arrayBuffer()), served)
  t.deepEqual(restarted.status().peers, [])
})

test('a bad fragment is reported and left out; the rest still publishes; a broken one keeps its last good content', async t => {
  const { keys, fragments, publisher } = await publisherWithRoute(t, 'a')
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('a on the edge', async () => await allServe([edge], ['a']))

  await writeFragment(fragments, 'b.yaml', 'http: [this is not closed\n')
  await writeFragment(fragments, 'c.yaml', routeFragment('c', 'c.example.com'))
  await writeFragment(fragments, 'd.yaml', routeFragment('a', 'conflicting.example.com'))
  await waitFor('c on the edge', async () => await allServe([edge], ['a', 'c']))
  // c may be served from a version built before d.yaml's write was seen: wait for every report.
  const reports = await waitFor('b.yaml, c.yaml and d.yaml reported', () => {
    const found = publisher.status().fragments
    return ['b.yaml', 'c.yaml', 'd.yaml'].every(source => found.some(report => report.source === source)) ? found : undefined
  })
  t.like(reports.find(report => report.source === 'b.yaml'), { status: 'rejected', problem: 'unreadable' })
  t.like(reports.find(report => report.source === 'd.yaml'), { status: 'rejected', problem: 'conflict', reason: 'conflicts with a.yaml at http.routers.a.rule' })

  await writeFragment(fragments, 'a.yaml', 'http:\n  routers:\n    a: { rule: "Host(`a`)" }\n')
  await waitFor('a reported as kept', () => publisher.status().fragments.find(report => report.source === 'a.yaml')?.status === 'kept-last-good' ? true : undefined)
  t.deepEqual(await routersOf(edge), ['a', 'c'])

  // Level-triggered: once a.yaml is gone, d.yaml no longer conflicts and its router "a" is published.
  await rm(join(fragments, 'a.yaml'))
  const rule = await waitFor('d.yaml takes router a', async () => {
    const body = await (await getConfig(edge)).json() as { http: { routers: Record<string, { rule: string }> } }
    return body.http.routers.a?.rule.includes('conflicting') === true ? body.http.routers.a.rule : undefined
  })
  t.is(rule, 'Host(`conflicting.example.com`)')
  t.like(publisher.status().fragments.find(report => report.source === 'd.yaml'), { status: 'accepted' })
})

test('an edge given the wrong trust key serves nothing and counts what it refused', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const bootstrap = publisher.mesh.addresses()
  const good = await startEdge(t, keys, { bootstrap })
  const wrong = await startEdge(t, keys, { bootstrap, trust: [meshKeys().trustedKey] })
  await waitFor('the good edge serves', async () => await allServe([good], ['whoami']))
  const metrics = await waitFor('the wrong edge refuses an envelope', async () => {
    const text = await (await fetch(`${wrong.serveUrl() ?? ''}/metrics`)).text()
    return /dime_envelope_offers_total\{outcome="untrusted-key"\} [1-9]/.test(text) ? text : undefined
  })
  t.notRegex(metrics, /outcome="accepted"/)
  t.is((await getConfig(wrong)).status, 503)
  t.is(wrong.status().version, null)
})

test("Traefik's poller sees the body change exactly once per real change", async t => {
  const { keys, fragments, publisher } = await publisherWithRoute(t, 'a')
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('a on the edge', async () => await allServe([edge], ['a']))
  const poller = traefikPoller(`${edge.serveUrl() ?? ''}/config`)
  t.teardown(poller.stop)
  await waitFor('the poller sees the first body', () => poller.changes().length === 1 ? true : undefined)

  const realChanges: Array<[string, string, string[]]> = [
    ['b.yaml', routeFragment('b', 'b.example.com'), ['a', 'b']],
    ['c.yaml', routeFragment('c', 'c.example.com'), ['a', 'b', 'c']]
  ]
  const unchangedBuilds = async (): Promise<number> => await scrapeMetric(publisher.adminUrl() ?? '', 'dime_publisher_reconciles_total', { outcome: 'unchanged' })
  for (const [name, text, routers] of realChanges) {
    await writeFragment(fragments, name, text)
    await waitFor(`${name} on the edge`, async () => await allServe([edge], routers))
    // Rewrites that change nothing the merged config says: the same text, then the same config as JSON with keys reversed.
    for (const rewrite of [text, JSON.stringify(reverseKeys(parse(text)))]) {
      const before = await unchangedBuilds()
      await writeFragment(fragments, name, rewrite)
      await waitFor('the publisher rebuilds after the rewrite and finds nothing new', async () => await unchangedBuilds() > before ? true : undefined)
    }
    // Then Traefik polls again, and must see the same bytes.
    const polls = poller.polls()
    await waitFor('the poller polls again', () => poller.polls() > polls + 1 ? true : undefined)
  }
  t.is(poller.changes().length, 1 + realChanges.length)
})

test('bootstrap addresses may be /dns4 names and may end in /p2p/PEER-ID', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const port = /\/tcp\/(\d+)/.exec(publisher.mesh.addresses()[0] ?? '')?.[1] ?? ''
  const byName = await startEdge(t, keys, { bootstrap: [`/dns4/localhost/tcp/${port}`] })
  const byId = await startEdge(t, keys, { bootstrap: [`/ip4/127.0.0.1/tcp/${port}/p2p/${publisher.mesh.peerId}`] })
  await waitFor('both edges serve', async () => await allServe([byName, byId], ['whoami']))
  t.true(byName.status().peers.includes(publisher.mesh.peerId), 'the edge given a /dns4 name is connected to the publisher')
})

test('the publisher learns which version each edge\'s proxy fetched: an edge nobody polls has not said, a polled one says so soon after a change', async t => {
  const { keys, fragments, publisher } = await publisherWithRoute(t, 'a')
  const polled = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  const unpolled = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  const poller = traefikPoller(`${polled.serveUrl() ?? ''}/config`)
  t.teardown(poller.stop)
  // Read through /status only: every GET of /config is a fetch.
  const fetched = (edge: typeof polled): number | null | undefined => publisher.status().edges.find(report => report.peerId === edge.mesh.peerId)?.fetchedVersion
  const first = await waitFor('a first version', () => publisher.status().version ?? undefined)
  await waitFor('the first version reported fetched', () => fetched(polled) === first ? true : undefined)
  await writeFragment(fragments, 'b.yaml', routeFragment('b', 'b.example.com'))
  const second = await waitFor('a second version', () => (publisher.status().version ?? 0) > first ? publisher.status().version ?? undefined : undefined)
  await waitFor('the new version reported fetched', () => fetched(polled) === second ? true : undefined)
  t.is(polled.status().lastFetch?.version, second)
  await waitFor('the unpolled edge serves it too', () => unpolled.status().version === second && fetched(unpolled) !== undefined ? true : undefined)
  t.is(fetched(unpolled), null, 'an edge whose proxy never fetched says nothing of it')
})
