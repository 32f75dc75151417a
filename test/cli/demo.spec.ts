import test from 'ava'
import { existsSync } from 'node:fs'
import { spawnDime } from '../fixtures/dime-process.js'
import { waitFor } from '../fixtures/wait-for.js'

/** The versions in the newest complete table the demo printed. */
function lastTableVersions (output: string, edges: number): string[] | undefined {
  const table = output.split('\n\n').filter(block => block.startsWith('EDGE')).at(-1) ?? ''
  const versions = [...table.matchAll(/^edge-\d+\s+\S+\s+(\d+)\s/gm)].map(match => match[1] ?? '')
  return versions.length === edges ? versions : undefined
}

test('the demo brings up edges that all serve one version, prints how to try them, and cleans up on Ctrl-C', async t => {
  const demo = spawnDime(t, ['demo', '--edges', '2'])
  const versions = await waitFor('every edge serving', () => lastTableVersions(demo.output(), 2), 60_000, 200)
  t.is(new Set(versions).size, 1)
  t.regex(demo.output(), /curl -i http:\/\/127\.0\.0\.1:\d+\/config/)
  const root = /cdn-on-a-dime demo in (\S+)/.exec(demo.output())?.[1] ?? ''
  t.true(existsSync(root))

  const exited = new Promise<number | null>(resolve => demo.once('exit', code => { resolve(code) }))
  demo.kill('SIGINT')
  t.is(await exited, 0)
  t.regex(demo.output(), /demo stopped/)
  t.false(existsSync(root))
})
