import test from 'ava'
import { execFile } from 'node:child_process'
import { cp, readFile } from 'node:fs/promises'
import { SourceMap } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { DIME, spawnDime } from '../fixtures/dime-process.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

const run = promisify(execFile)

const REPOSITORY = fileURLToPath(new URL('../../', import.meta.url))
const MAIN = join(REPOSITORY, 'dist/cli/main.js')
const MARK = 'run with --help for usage'

test('the bundle that dime runs maps back to the TypeScript it was built from', async t => {
  t.true((await readFile(DIME, 'utf8')).includes('setSourceMapsEnabled(true)'), 'bin/dime.js turns source maps on')
  const bundled = (await readFile(MAIN, 'utf8')).split('\n')
  const line = bundled.findIndex(text => text.includes(MARK))
  t.not(line, -1, 'the mark is in the bundle')
  const map = new SourceMap(JSON.parse(await readFile(`${MAIN}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0])
  const entry = map.findEntry(line, bundled[line]?.indexOf(MARK) ?? 0) as { originalSource?: string, originalLine?: number }
  t.truthy(entry.originalSource, 'the mark has a source')
  const source = new URL(entry.originalSource ?? '', new URL(`file://${MAIN}`))
  t.true(source.pathname.endsWith('/cli/main.ts'), source.pathname)
  const original = (await readFile(source, 'utf8')).split('\n')[entry.originalLine ?? -1]
  t.true(original?.includes(MARK), `line ${(entry.originalLine ?? 0) + 1} of cli/main.ts: ${original}`)
})

test('the bundle runs with no node_modules beside it, as in the container image: keygen, and an edge that joins the mesh', async t => {
  const image = await tempDir(t)
  for (const part of ['package.json', 'bin', 'dist', 'reference']) await cp(join(REPOSITORY, part), join(image, part), { recursive: true })
  const dime = join(image, 'bin/dime.js')
  const keygen = await run(process.execPath, [dime, 'keygen', '--out', join(image, 'keys'), '--kubernetes-secret', 'dime-publisher'])
  t.regex(keygen.stdout, /kind: Secret/)

  const edge = spawnDime(t, ['edge', '--trust', join(image, 'keys/publisher.pub'), '--swarm-key', join(image, 'keys/swarm.key'),
    '--data-dir', join(image, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0', '--serve', '127.0.0.1:0'], { script: dime })
  await waitFor(() => `the edge to join the mesh:\n${edge.output()}`, () => edge.output().includes('"msg":"mesh node listening"') ? true : undefined)
  const exited = new Promise(resolve => edge.once('exit', resolve))
  edge.kill('SIGTERM')
  t.is(await exited, 0, edge.output())
})
