import test from 'ava'
import { execFile } from 'node:child_process'
import { decode } from '@jridgewell/sourcemap-codec'
import { cp, readdir, readFile } from 'node:fs/promises'
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

test('the source maps map dime\'s own code only, and a frame in a package\'s code shows its place in the bundle', async t => {
  const files = await readdir(join(REPOSITORY, 'dist'), { recursive: true })
  const maps = files.filter(file => file.endsWith('.js.map'))
  t.true(maps.length > 1)
  for (const file of maps) {
    const map = JSON.parse(await readFile(join(REPOSITORY, 'dist', file), 'utf8')) as { sources: string[], mappings: string }
    const intoPackages = decode(map.mappings).flat().filter(segment => segment.length >= 4 && map.sources[segment[1] ?? -1]?.includes('node_modules/'))
    t.is(intoPackages.length, 0, file)
  }
  // Fastify refuses a route declared twice: the error is made inside fastify's bundled code.
  let chunk: string | undefined
  for (const file of files.filter(file => file.endsWith('.js'))) {
    if (/export\{[^}]*\bcreateHttpServer\b/.test(await readFile(join(REPOSITORY, 'dist', file), 'utf8'))) chunk = join(REPOSITORY, 'dist', file)
  }
  t.truthy(chunk, 'a chunk exports createHttpServer')
  const { stdout } = await run(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', `
    const { createHttpServer } = await import(${JSON.stringify(`file://${chunk ?? ''}`)})
    const app = createHttpServer(undefined)
    app.get('/x', async () => 'x')
    try { app.get('/x', async () => 'x') } catch (err) { console.log(err.stack) }`])
  const frames = stdout.split('\n').filter(line => line.trim().startsWith('at '))
  t.regex(frames[0] ?? '', /dist\/chunks\/chunk-\w+\.js:\d+:\d+\)$/, stdout)
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
