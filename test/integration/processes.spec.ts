import test from 'ava'
import { join } from 'node:path'
import { writeFile } from 'node:fs/promises'
import { deadBackend, listeningBackend } from '../../simulations/backends.js'
import type { RolloutStatus } from '../../cluster-publisher/rollouts.js'
import { dime, keysAndFragments, logged, spawnDime } from '../fixtures/dime-process.js'
import { fakeKubeApi, fragmentConfigMap, kubePublisherProcess } from '../fixtures/kube.js'
import { routeFragment, writeFragment } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

async function body (url: string): Promise<string | undefined> {
  const response = await fetch(url)
  return response.status === 200 ? await response.text() : undefined
}

test('real dime processes: killing the publisher changes nothing the edges serve; an edge then restarts into its persisted config', async t => {
  const { dir, keys, fragments } = await keysAndFragments(t)
  await writeFragment(fragments, 'whoami.yaml', routeFragment('whoami', 'whoami.example.com'))

  const publisher = spawnDime(t, ['publisher', '--fragments', fragments, '--key', join(keys, 'publisher.key'),
    '--swarm-key', join(keys, 'swarm.key'), '--listen', '/ip4/127.0.0.1/tcp/0'])
  const bootstrap = await logged(publisher, 'mesh node listening', 'addresses')
  const edgeArgs = (name: string): string[] => ['edge', '--trust', join(keys, 'publisher.pub'), '--bootstrap', bootstrap,
    '--swarm-key', join(keys, 'swarm.key'), '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, name), '--serve', '127.0.0.1:0']
  const edges = ['edge-1', 'edge-2', 'edge-3'].map(name => spawnDime(t, edgeArgs(name)))
  const urls = await Promise.all(edges.map(async edge => await logged(edge, 'serving Traefik config', 'url')))

  const served = await waitFor(() => `the config on all three edges (publisher's log:\n${publisher.output()})`, async () => {
    const bodies = await Promise.all(urls.map(async url => await body(url).catch(() => undefined)))
    return bodies.every(b => b?.includes('whoami') === true) && new Set(bodies).size === 1 ? bodies[0] : undefined
  })

  const peers = async (): Promise<string[][]> => await Promise.all(urls.map(async url =>
    ((await (await fetch(url.replace(/\/config$/, '/status'))).json()) as { peers: string[] }).peers))
  // The edges also connect to each other (peer exchange): watch for the publisher's own peer id.
  const publisherId = await logged(publisher, 'mesh node listening', 'peerId')
  await waitFor('every edge connected to the publisher', async () => (await peers()).every(list => list.includes(publisherId)) ? true : undefined)
  publisher.kill('SIGKILL')
  await waitFor('every edge sees the publisher gone', async () => (await peers()).every(list => !list.includes(publisherId)) ? true : undefined)
  for (const url of urls) t.is(await body(url), served)

  const [first] = edges
  const stopped = new Promise(resolve => first?.once('exit', resolve))
  first?.kill('SIGTERM')
  t.is(await stopped, 0, first?.output())
  const restarted = spawnDime(t, edgeArgs('edge-1'))
  const url = await logged(restarted, 'serving Traefik config', 'url')
  t.is(await waitFor('the restarted edge serves', async () => await body(url).catch(() => undefined)), served)
  // Its log travels through a pipe and may arrive after its HTTP answer.
  await waitFor('the restarted edge logs what it serves', () => /"msg":"serving config"/.test(restarted.output()) ? true : undefined)
  t.regex(restarted.output(), /"origin":"disk"/)
})

test('real dime processes: a publisher watching the cluster (the fake API server) and an edge serving what its ConfigMaps say, edits included', async t => {
  const dir = await tempDir(t)
  const keys = join(dir, 'keys')
  await dime('keygen', '--out', keys)
  const api = await fakeKubeApi(t)
  api.apply('configmaps', fragmentConfigMap('whoami', { 'whoami.yaml': routeFragment('whoami', 'whoami.example.com') }))

  const publisher = await kubePublisherProcess(t, api, dir, keys)
  const bootstrap = await logged(publisher, 'mesh node listening', 'addresses')
  const edge = spawnDime(t, ['edge', '--trust', join(keys, 'publisher.pub'), '--bootstrap', bootstrap, '--swarm-key', join(keys, 'swarm.key'),
    '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'edge'), '--serve', '127.0.0.1:0'])
  const url = await logged(edge, 'serving Traefik config', 'url')
  const routers = async (): Promise<string | undefined> => {
    const served = await body(url).catch(() => undefined)
    return served === undefined ? undefined : Object.keys((JSON.parse(served) as { http: { routers: object } }).http.routers).sort().join(',')
  }

  t.is(await waitFor(() => `the edge to serve the ConfigMap's router (publisher's log:\n${publisher.output()})`, routers), 'whoami')
  api.apply('configmaps', fragmentConfigMap('echo', { 'echo.yaml': routeFragment('echo', 'echo.example.com') }))
  t.is(await waitFor(() => `the edge to serve the new ConfigMap's router too (publisher's log:\n${publisher.output()})`,
    async () => { const now = await routers(); return now === 'echo,whoami' ? now : undefined }), 'echo,whoami')
})

test('real dime processes: six edges in three waves by label; a good change moves wave by wave, a change to a dead backend stops at the canaries and rolls back', async t => {
  const { dir, keys, fragments } = await keysAndFragments(t)
  const backend = await listeningBackend()
  t.teardown(backend.close)
  const live = backend.url
  await writeFragment(fragments, 'app.yaml', routeFragment('app', 'app.example.com', live))
  const policy = join(dir, 'rollout.yaml')
  await writeFile(policy, 'waves:\n  - {name: canary, edges: {tier: canary}, bake: 2s}\n  - {name: europe, edges: {region: eu}, bake: 2s}\n  - {name: everyone}\n')

  const publisher = spawnDime(t, ['publisher', '--fragments', fragments, '--key', join(keys, 'publisher.key'), '--swarm-key', join(keys, 'swarm.key'),
    '--listen', '/ip4/127.0.0.1/tcp/0', '--admin', '127.0.0.1:0', '--rollout', policy])
  const bootstrap = await logged(publisher, 'mesh node listening', 'addresses')
  const admin = await logged(publisher, 'admin endpoint listening', 'url')
  const waves: Array<[string, string]> = [['canary-1', 'tier=canary'], ['canary-2', 'tier=canary'], ['paris', 'region=eu'], ['berlin', 'region=eu'], ['austin', 'region=us'], ['tokyo', 'region=ap']]
  const edges = waves.map(([name, label]) => ({
    name,
    process: spawnDime(t, ['edge', '--trust', join(keys, 'publisher.pub'), '--bootstrap', bootstrap, '--swarm-key', join(keys, 'swarm.key'),
      '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, name), '--serve', '127.0.0.1:0', '--name', name, '--label', label])
  }))
  const urls = await Promise.all(edges.map(async edge => (await logged(edge.process, 'serving Traefik config', 'url')).replace(/\/config$/, '')))
  const status = async (): Promise<{ rollout: RolloutStatus | null, edges: Array<{ version: number | null, takesRollouts: boolean }>, version: number | null }> =>
    await (await fetch(`${admin}/status`)).json() as never
  await waitFor(() => `all six edges report serving the first version (publisher's log:\n${publisher.output()})`, async () => {
    const now = await status()
    return now.edges.filter(edge => edge.takesRollouts && edge.version !== null && edge.version === now.version).length === 6 ? true : undefined
  }, 120_000)
  const served = async (): Promise<Array<number | null>> => await Promise.all(urls.map(async url => ((await (await fetch(`${url}/status`)).json()) as { version: number | null }).version))

  /** Samples what every edge serves until `done`, as the first moment each served each version. */
  const timeline = async (done: (now: Awaited<ReturnType<typeof status>>) => boolean, what: string): Promise<Map<string, number>> => {
    const firsts = new Map<string, number>()
    const started = Date.now()
    await waitFor(() => `${what} (publisher's log:\n${publisher.output().slice(-4000)})`, async () => {
      const versions = await served()
      versions.forEach((version, i) => { const key = `${edges[i]?.name ?? ''} v${version ?? 'none'}`; if (!firsts.has(key)) firsts.set(key, Date.now() - started) })
      return done(await status()) ? true : undefined
    }, 180_000, 25)
    return firsts
  }

  await writeFragment(fragments, 'more.yaml', routeFragment('more', 'more.example.com', live))
  const good = await timeline(now => now.rollout?.state === 'complete' && now.rollout.waves.length === 3 && now.version === now.rollout.version, 'the good change released after three waves')
  const version = (await status()).rollout?.version ?? 0
  const at = (name: string): number => good.get(`${name} v${version}`) ?? Infinity
  t.log(`good change v${version}, first served (ms after the edit was seen):`, waves.map(([name]) => `${name} +${at(name)}`).join(', '))
  t.true(Math.max(at('canary-1'), at('canary-2')) < Math.min(at('paris'), at('berlin')), 'europe after the canaries')
  t.true(Math.max(at('paris'), at('berlin')) < Math.min(at('austin'), at('tokyo')), 'everyone after europe')

  await writeFragment(fragments, 'broken.yaml', routeFragment('broken', 'broken.example.com', await deadBackend()))
  const bad = await timeline(now => now.rollout?.state === 'rolled-back' && now.edges.every(edge => (edge.version ?? 0) > (now.rollout?.version ?? Infinity)), 'the bad change rolled back everywhere')
  const rollout = (await status()).rollout
  t.log(`bad change v${rollout?.version ?? 0}: ${rollout?.reason ?? ''}`)
  t.regex(rollout?.reason ?? '', /wave "canary" failed its health gate: canary-\d: backends that do not answer from this edge: http\/broken/)
  const tookIt = waves.map(([name]) => name).filter(name => bad.has(`${name} v${rollout?.version ?? 0}`))
  t.true(tookIt.every(name => name.startsWith('canary-')), `only canaries served the bad version (${tookIt.join(', ')})`)
  const canaryStatus = await waitFor('the canary\'s /status shows the rollback', async () => {
    const now = await (await fetch(`${urls[0] ?? ''}/status`)).json() as { rollout: { version: number, state: string } | null, rolloutHealth: { version: number, healthy: boolean, failing: string[] } | null }
    return now.rollout?.state === 'rolled-back' ? now : undefined
  })
  t.like(canaryStatus, { rollout: { version: rollout?.version, state: 'rolled-back', mayServe: false }, rolloutHealth: { version: rollout?.version, healthy: false, failing: ['http/broken'] } })
})
