import test from 'ava'
import { join } from 'node:path'
import { dime, logged, spawnDime } from '../fixtures/dime-process.js'
import { fakeKubeApi, fragmentConfigMap, kubePublisherProcess } from '../fixtures/kube.js'
import { routeFragment, writeFragment } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

async function body (url: string): Promise<string | undefined> {
  const response = await fetch(url)
  return response.status === 200 ? await response.text() : undefined
}

test('real dime processes: killing the publisher changes nothing the edges serve; an edge then restarts into its persisted config', async t => {
  const dir = await tempDir(t)
  const keys = join(dir, 'keys')
  const fragments = join(dir, 'fragments')
  await dime('keygen', '--out', keys)
  await dime('keygen', '--out', fragments)
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
