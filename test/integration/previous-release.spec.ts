import test, { type ExecutionContext } from 'ava'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { keysAndFragments, logged, spawnDime } from '../fixtures/dime-process.js'
import { routeFragment, writeFragment } from '../fixtures/mesh.js'
import { previousRelease } from '../fixtures/previous-release.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'

// The previous release (compat/previous-release), checked out and built once for this file.
const release = await previousRelease()
const compatTest = 'script' in release ? test.serial : test.serial.skip
const skipped = 'script' in release ? '' : ` (skipped: ${release.unavailable})`
const previousScript = 'script' in release ? release.script : ''

interface Mesh { dir: string, keys: string, fragments: string }

async function mesh (t: ExecutionContext): Promise<Mesh> {
  const dirs = await keysAndFragments(t)
  await writeFragment(dirs.fragments, 'app.yaml', routeFragment('app', 'app.example.com'))
  return dirs
}

type Release = 'previous' | 'this'

function publisher (t: ExecutionContext, m: Mesh, which: Release, extra: string[] = []): ReturnType<typeof spawnDime> {
  return spawnDime(t, ['publisher', '--fragments', m.fragments, '--key', join(m.keys, 'publisher.key'), '--swarm-key', join(m.keys, 'swarm.key'),
    '--listen', '/ip4/127.0.0.1/tcp/0', '--admin', '127.0.0.1:0', ...extra], which === 'previous' ? { script: previousScript } : {})
}

function edge (t: ExecutionContext, m: Mesh, which: Release, name: string, bootstrap: string, extra: string[] = []): ReturnType<typeof spawnDime> {
  return spawnDime(t, ['edge', '--trust', join(m.keys, 'publisher.pub'), '--bootstrap', bootstrap, '--swarm-key', join(m.keys, 'swarm.key'),
    '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(m.dir, name), '--serve', '127.0.0.1:0', '--name', name, ...extra], which === 'previous' ? { script: previousScript } : {})
}

/** What an edge serves: its version (from /status) and its /config bytes. */
async function serving (base: string): Promise<{ version: number | null, body: string | undefined }> {
  const status = await (await fetch(`${base}/status`)).json() as { version: number | null }
  const config = await fetch(`${base}/config`)
  return { version: status.version, body: config.status === 200 ? await config.text() : undefined }
}

async function edgeUrl (child: ReturnType<typeof spawnDime>): Promise<string> {
  return (await logged(child, 'serving Traefik config', 'url')).replace(/\/config$/, '')
}

for (const [publisherRelease, label] of [['this', 'this release\'s publisher'], ['previous', 'the previous release\'s publisher']] as const) {
  compatTest(`with ${label}, an edge of each release converges on the newest config and serves it byte for byte alike${skipped}`, async t => {
    const m = await mesh(t)
    const p = publisher(t, m, publisherRelease)
    const bootstrap = await logged(p, 'mesh node listening', 'addresses')
    const urls = await Promise.all([edgeUrl(edge(t, m, 'previous', 'old-edge', bootstrap)), edgeUrl(edge(t, m, 'this', 'new-edge', bootstrap))])
    await writeFragment(m.fragments, 'more.yaml', routeFragment('more', 'more.example.com'))
    const served = await waitFor(() => `both edges serve the edit (publisher's log:\n${p.output().slice(-3000)})`, async () => {
      const both = await Promise.all(urls.map(async url => await serving(url).catch(() => undefined)))
      // Read apart, /status and /config may straddle a change: wait until both say the edit.
      return both.every(s => s?.body?.includes('more.example.com') === true && s.version !== null) && both[0]?.version === both[1]?.version ? both : undefined
    }, 120_000)
    t.not(served[0]?.version, undefined)
    t.is(served[0]?.body, served[1]?.body, 'the same bytes')
  })
}

compatTest(`an edge of the previous release, which knows nothing of waves, never serves a version still in rollout: it gets it when the rollout completes, as the last wave${skipped}`, async t => {
  const m = await mesh(t)
  const policy = join(m.dir, 'rollout.yaml')
  await writeFile(policy, 'waves:\n  - {name: canary, edges: {tier: canary}, bake: 1h}\n  - {name: everyone}\n')
  const p = publisher(t, m, 'this', ['--rollout', policy])
  const bootstrap = await logged(p, 'mesh node listening', 'addresses')
  const admin = await logged(p, 'admin endpoint listening', 'url')
  const canaryUrl = await edgeUrl(edge(t, m, 'this', 'canary', bootstrap, ['--label', 'tier=canary']))
  const old = edge(t, m, 'previous', 'old-edge', bootstrap, ['--label', 'tier=canary'])
  const oldUrl = await edgeUrl(old)
  type Status = { rollout: { version: number, state: string, last: string[] } | null, edges: Array<{ peerId: string, name: string | null, version: number | null, takesRollouts?: boolean }>, version: number | null }
  const status = async (): Promise<Status> => await (await fetch(`${admin}/status`)).json() as Status
  await waitFor('both edges report serving the first version', async () => {
    const now = await status()
    return now.edges.filter(e => e.version !== null && e.version === now.version).length === 2 ? true : undefined
  }, 120_000)
  const released = (await status()).version

  await writeFragment(m.fragments, 'more.yaml', routeFragment('more', 'more.example.com'))
  const version = await waitFor('the canary serves the version in rollout', async () => {
    const now = await status()
    const canary = await serving(canaryUrl)
    return now.rollout?.state === 'rolling' && canary.version === now.rollout.version ? canary.version : undefined
  }, 120_000)
  const oldPeer = (await status()).edges.find(e => e.name === 'old-edge')?.peerId ?? ''
  t.deepEqual((await status()).rollout?.last, [oldPeer], 'the old edge, labelled for the canary wave but knowing nothing of waves, is in the last wave')
  // It is connected to the canary, which serves the version: it syncs with every peer it connects to, and is offered only released versions.
  await waitFor('the old edge connected to the canary', async () => ((await (await fetch(`${oldUrl}/status`)).json()) as { peers: string[] }).peers.length >= 2 ? true : undefined)
  await new Promise(resolve => setTimeout(resolve, 3000))
  t.is((await serving(oldUrl)).version, released, 'the old edge still serves the released version')
  t.false(old.output().includes(`"version":${version}`), 'nor did it ever take the version in rollout')

  const promoted = await fetch(`${admin}/rollout/promote`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ all: true }) })
  t.is(promoted.status, 200)
  await waitFor('the old edge serves it once released', async () => (await serving(oldUrl)).version === version ? true : undefined, 120_000)
  t.is((await serving(oldUrl)).body, (await serving(canaryUrl)).body, 'the same bytes as the canary')
})

compatTest(`going back: the previous release's publisher and edge start from the data this release's wrote, serve it unchanged, and publish above it${skipped}`, async t => {
  const m = await mesh(t)
  const data = ['--data-dir', join(m.dir, 'publisher')]
  const p = publisher(t, m, 'this', data)
  const bootstrap = await logged(p, 'mesh node listening', 'addresses')
  const newEdge = edge(t, m, 'this', 'the-edge', bootstrap)
  const newUrl = await edgeUrl(newEdge)
  const before = await waitFor('this release\'s edge serves the config', async () => {
    const now = await serving(newUrl).catch(() => undefined)
    // Read apart, /status and /config may straddle the first version: wait until both say it.
    return now?.body?.includes('app.example.com') === true && now.version !== null ? now : undefined
  }, 120_000)
  for (const child of [newEdge, p]) child.kill('SIGTERM')
  await waitFor('this release\'s publisher and edge stopped', () => newEdge.exitCode !== null && p.exitCode !== null ? true : undefined)

  // The same data directories, the previous release's programs: the edge's comes first, with no publisher.
  const oldUrl = await edgeUrl(edge(t, m, 'previous', 'the-edge', '/ip4/127.0.0.1/tcp/9'))
  // It answers /config from disk first, and /status once its mesh node is up.
  const restored = await waitFor('the previous release\'s edge says what it serves', async () => {
    const now = await serving(oldUrl).catch(() => undefined)
    return now?.version !== undefined ? now : undefined
  })
  t.deepEqual(restored, before, 'the previous release\'s edge serves what this release\'s persisted, byte for byte')
  const old = publisher(t, m, 'previous', data)
  const oldBootstrap = await logged(old, 'mesh node listening', 'addresses')
  const oldEdgeUrl = await edgeUrl(edge(t, m, 'previous', 'another-edge', oldBootstrap))
  await writeFragment(m.fragments, 'more.yaml', routeFragment('more', 'more.example.com'))
  const after = await waitFor(() => `the previous release's publisher publishes the edit (its log:\n${old.output().slice(-3000)})`, async () => {
    const now = await serving(oldEdgeUrl).catch(() => undefined)
    return now?.body?.includes('more.example.com') === true && typeof now.version === 'number' ? now : undefined
  }, 120_000)
  t.true((after.version ?? 0) > (before.version ?? 0), `version ${after.version ?? 'none'} above ${before.version ?? 'none'}`)
})

compatTest(`this release's publisher at its connection cap tells newcomers it is full; edges of the previous release, which read only the peers of that answer, learn of each other from it and converge${skipped}`, async t => {
  const m = await mesh(t)
  const p = publisher(t, m, 'this', ['--max-connections', '1'])
  const bootstrap = await logged(p, 'mesh node listening', 'addresses')
  const urls = await Promise.all(['old-1', 'old-2', 'old-3'].map(async name => await edgeUrl(edge(t, m, 'previous', name, bootstrap))))
  await writeFragment(m.fragments, 'more.yaml', routeFragment('more', 'more.example.com'))
  await waitFor('every edge of the previous release serves the edit', async () => {
    const all = await Promise.all(urls.map(async url => await serving(url).catch(() => undefined)))
    return all.every(s => s?.body?.includes('more.example.com') === true) ? true : undefined
  }, 120_000)
  for (const url of urls) {
    t.true(await scrapeMetric(url, 'dime_peer_exchanges_total', { outcome: 'learned' }) >= 1, `${url} read the answers`)
    t.is(await scrapeMetric(url, 'dime_peer_exchanges_total', { outcome: 'refused' }), 0, `${url} refused none`)
  }
})

compatTest(`an edge of this release reaching the publisher only through an edge of the previous release, which does not relay reports, gossips its status, and the publisher lists it${skipped}`, async t => {
  const m = await mesh(t)
  const p = publisher(t, m, 'this', ['--max-connections', '1'])
  const admin = await logged(p, 'admin endpoint listening', 'url')
  const bootstrap = await logged(p, 'mesh node listening', 'addresses')
  const old = edge(t, m, 'previous', 'old-edge', bootstrap)
  await edgeUrl(old)
  const oldAddress = await logged(old, 'mesh node listening', 'addresses')
  const newEdge = edge(t, m, 'this', 'new-edge', oldAddress)
  const newUrl = await edgeUrl(newEdge)
  const listed = await waitFor('the publisher lists the new edge, serving its version', async () => {
    const status = await (await fetch(`${admin}/status`)).json() as { version: number | null, edges: Array<{ name: string | null, version: number | null }> }
    return status.edges.find(e => e.name === 'new-edge' && e.version === status.version && e.version !== null)
  }, 120_000)
  t.truthy(listed)
  t.true(await scrapeMetric(newUrl, 'dime_status_reports_total', { outcome: 'gossiped' }) >= 1)
})
