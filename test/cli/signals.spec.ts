import test from 'ava'
import { once } from 'node:events'
import { join } from 'node:path'
import { keysAndFragments, logged, spawnDime } from '../fixtures/dime-process.js'

test('an edge whose log reader has gone (its stdout and stderr closed) still stops on SIGTERM, with 0', async t => {
  const { dir, keys } = await keysAndFragments(t)
  const edge = spawnDime(t, ['edge', '--trust', join(keys, 'publisher.pub'), '--swarm-key', join(keys, 'swarm.key'),
    '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, 'edge'), '--serve', '127.0.0.1:0'])
  await logged(edge, 'serving Traefik config', 'url')
  edge.stdout?.destroy()
  edge.stderr?.destroy()
  const exited = once(edge, 'exit')
  edge.kill('SIGTERM')
  const outcome = await Promise.race([exited, new Promise(resolve => setTimeout(() => { resolve('still running after 60 s') }, 60_000))])
  t.deepEqual(outcome, [0, null])
})
