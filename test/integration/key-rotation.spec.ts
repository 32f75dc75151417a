import test from 'ava'
import { getConfig, meshKeys, routeFragment, startEdge, startPublisher, writeFragment } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

/** Polls an edge like Traefik and remembers any answer other than 200 after the first 200. */
function watchForGaps (url: string): { gaps: () => number[], polls: () => number, stop: () => Promise<void> } {
  const gaps: number[] = []
  let polls = 0
  let served = false
  let running = true
  const loop = (async () => {
    while (running) {
      const status = (await fetch(url).catch(() => ({ status: 0 }))).status
      if (status === 200) served = true
      else if (served) gaps.push(status)
      polls++
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })()
  return { gaps: () => [...gaps], polls: () => polls, stop: async () => { running = false; await loop } }
}

test('rotating the signing key: trust A and B, switch the publisher to B, drop A; no edge ever serves nothing', async t => {
  const keys = meshKeys()
  const next = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'whoami.yaml', routeFragment('whoami', 'whoami.example.com'))
  const first = await startPublisher(t, keys, fragments)
  // Without /p2p/: the publisher's peer id follows its key, so it changes with the rotation.
  const address = (first.mesh.addresses()[0] ?? '').replace(/\/p2p\/.*$/, '')
  const edges = await Promise.all([1, 2, 3].map(async () =>
    await startEdge(t, keys, { bootstrap: [address], trust: [keys.trustedKey, next.trustedKey] })))
  await waitFor('key A served everywhere', () => edges.every(edge => edge.status().keyId === keys.signingKey.keyId) ? true : undefined)
  const watchers = edges.map(edge => watchForGaps(`${edge.serveUrl() ?? ''}/config`))
  t.teardown(async () => { await Promise.all(watchers.map(async watcher => { await watcher.stop() })) })
  const versionA = edges[0]?.status().version ?? 0

  await first.stop()
  const second = await startPublisher(t, keys, fragments, { signingKey: next.signingKey, trust: [keys.trustedKey], listen: address })
  await waitFor('key B served everywhere', () => edges.every(edge => edge.status().keyId === next.signingKey.keyId) ? true : undefined)
  t.true(edges.every(edge => (edge.status().version ?? 0) > versionA), 'the re-signed config has a higher version')
  t.is(second.status().keyId, next.signingKey.keyId)

  for (const edge of edges) edge.setTrust([next.trustedKey])
  const polled = watchers.map(watcher => watcher.polls())
  await waitFor('every watcher polls twice more', () => watchers.every((watcher, i) => watcher.polls() >= (polled[i] ?? 0) + 2) ? true : undefined)
  for (const edge of edges) {
    t.is(edge.status().keyTrusted, true)
    t.is((await getConfig(edge)).status, 200)
  }
  for (const watcher of watchers) t.deepEqual(watcher.gaps(), [])
})

test('dropping the key that signed the served config keeps it served and says so', async t => {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'whoami.yaml', routeFragment('whoami', 'whoami.example.com'))
  const publisher = await startPublisher(t, keys, fragments)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('served', () => edge.status().version ?? undefined)
  edge.setTrust([meshKeys().trustedKey])
  t.is(edge.status().keyTrusted, false)
  t.is((await getConfig(edge)).status, 200)
})
