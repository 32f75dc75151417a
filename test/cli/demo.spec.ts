import test from 'ava'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { spawnDime } from '../fixtures/dime-process.js'
import { waitFor } from '../../simulations/wait-for.js'

/** The versions in the newest complete table the demo printed. */
function lastTableVersions (output: string, edges: number): string[] | undefined {
  const table = output.split('\n\n').filter(block => block.startsWith('EDGE')).at(-1) ?? ''
  const versions = [...table.matchAll(/^edge-\d+\s+\S+\s+(\d+)\s/gm)].map(match => match[1] ?? '')
  return versions.length === edges ? versions : undefined
}

test('the demo brings up edges that all serve one version, prints how to try them and where the fleet page is, and cleans up on Ctrl-C', async t => {
  const demo = spawnDime(t, ['demo', '--edges', '2'])
  const versions = await waitFor('every edge serving', () => lastTableVersions(demo.output(), 2), 60_000, 200)
  t.is(new Set(versions).size, 1)
  t.regex(demo.output(), /curl -i http:\/\/127\.0\.0\.1:\d+\/config/)
  const fleetPage = /fleet page {2}(http:\S+)/.exec(demo.output())?.[1] ?? ''
  t.regex(await (await fetch(fleetPage)).text(), /<title>dime fleet<\/title>/, 'the printed fleet page answers')
  const root = /cdn-on-a-dime demo in (\S+)/.exec(demo.output())?.[1] ?? ''
  t.true(existsSync(root))

  const exited = new Promise<number | null>(resolve => demo.once('exit', code => { resolve(code) }))
  demo.kill('SIGINT')
  t.is(await exited, 0)
  t.regex(demo.output(), /demo stopped/)
  t.false(existsSync(root))
})

test('the README\'s demo command resolves: npm run demo', async t => {
  const result = await new Promise<{ code: number | null, output: string }>(resolve => {
    execFile('npm', ['run', '--silent', 'demo', '--', '--help'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : (typeof error.code === 'number' ? error.code : 1), output: stdout + stderr })
    })
  })
  t.is(result.code, 0, result.output)
  t.regex(result.output, /Usage: dime demo/)
})
