import test from 'ava'
import { freePort } from '../../cli/processes.js'
import { join } from 'node:path'
import { dime, spawnDime } from '../fixtures/dime-process.js'
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

  const meshPort = await freePort()
  const publisher = spawnDime(t, ['publisher', '--fragments', fragments, '--key', join(keys, 'publisher.key'),
    '--swarm-key', join(keys, 'swarm.key'), '--listen', `/ip4/127.0.0.1/tcp/${meshPort}`])
  const edgeArgs = async (name: string): Promise<{ args: string[], url: string }> => {
    const serve = `127.0.0.1:${await freePort()}`
    return {
      url: `http://${serve}/config`,
      args: ['edge', '--trust', join(keys, 'publisher.pub'), '--bootstrap', `/ip4/127.0.0.1/tcp/${meshPort}`,
        '--swarm-key', join(keys, 'swarm.key'), '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`,
        '--data-dir', join(dir, name), '--serve', serve]
    }
  }
  const specs = await Promise.all(['edge-1', 'edge-2', 'edge-3'].map(edgeArgs))
  const edges = specs.map(spec => spawnDime(t, spec.args))

  const served = await waitFor('the config on all three edges', async () => {
    const bodies = await Promise.all(specs.map(async spec => await body(spec.url).catch(() => undefined)))
    return bodies.every(b => b?.includes('whoami') === true) && new Set(bodies).size === 1 ? bodies[0] : undefined
  })

  const peers = async (): Promise<string[][]> => await Promise.all(specs.map(async spec =>
    ((await (await fetch(spec.url.replace(/\/config$/, '/status'))).json()) as { peers: string[] }).peers))
  const connected = await peers()
  publisher.kill('SIGKILL')
  await waitFor('every edge sees the publisher gone', async () => {
    const now = await peers()
    return now.every((list, i) => list.length < (connected[i]?.length ?? 0)) ? true : undefined
  })
  for (const spec of specs) t.is(await body(spec.url), served)

  const [first] = edges
  const stopped = new Promise(resolve => first?.once('exit', resolve))
  first?.kill('SIGTERM')
  t.is(await stopped, 0, first?.output())
  const restarted = spawnDime(t, specs[0]?.args ?? [])
  t.is(await waitFor('the restarted edge serves', async () => await body(specs[0]?.url ?? '').catch(() => undefined)), served)
  // Its log travels through a pipe and may arrive after its HTTP answer.
  await waitFor('the restarted edge logs what it serves', () => /"msg":"serving config"/.test(restarted.output()) ? true : undefined)
  t.regex(restarted.output(), /"origin":"disk"/)
})
