// npm run build (npm ci runs it as `prepare`): bundles each program, with the
// packages it uses, into dist/ with esbuild. One file per part instead of
// hundreds of modules: `dime edge` answers its first /config about a third
// sooner than the same code compiled module by module with tsc (BENCHMARKS.md).
// The programs load their parts lazily (`await import`), so code splitting keeps
// the edge from loading the publisher's Kubernetes client, and the reverse.
// Type checking is `npm run typecheck`: esbuild only strips the types.
import { decode, encode } from '@jridgewell/sourcemap-codec'
import { build } from 'esbuild'
import { readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ESM_BANNER } from './esm-banner.mjs'

/**
 * prom-client's index requires its Pushgateway (node:http, node:https, node:url)
 * and its cluster aggregator (node:cluster), which dime never uses: they become
 * empty modules, and every program starts without loading them.
 */
const promClientUnusedParts = {
  name: 'prom-client-unused-parts',
  setup (build) {
    build.onResolve({ filter: /^\.\/lib\/(pushgateway|cluster)$/ }, args =>
      args.importer.includes('/node_modules/prom-client/') ? { path: args.path, namespace: 'unused' } : undefined)
    build.onLoad({ filter: /.*/, namespace: 'unused' }, () => ({ contents: 'module.exports = {}', loader: 'js' }))
  }
}

await rm('dist', { recursive: true, force: true })
await build({
  entryPoints: {
    'node/polyfills': 'node/polyfills.ts',
    'cli/main': 'cli/main.ts'
  },
  outdir: 'dist',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Stack traces point at the TypeScript; the sources themselves stay out of the maps.
  sourcemap: true,
  sourcesContent: false,
  // Without whitespace and comments V8 holds each chunk's source in half the
  // memory; and one non-ASCII character in a comment (gossipsub's "P₄") made it
  // hold a whole chunk as two bytes a character. Licence comments go to
  // chunk-*.js.LEGAL.txt beside each chunk. Names are kept.
  minifyWhitespace: true,
  legalComments: 'external',
  banner: { js: ESM_BANNER },
  plugins: [promClientUnusedParts],
  logLevel: 'warning'
})
for (const file of await readdir('dist', { recursive: true })) {
  if (file.endsWith('.js.map')) await writeFile(join('dist', file), JSON.stringify(ownCodeOnly(JSON.parse(await readFile(join('dist', file), 'utf8')))))
}

/**
 * Keeps a source map's mappings into dime's own TypeScript and leaves the
 * packages' code unmapped (a frame there shows its place in the bundle).
 * Node parses a chunk's whole map the first time a stack trace passes
 * through it (Node's streams read the stack of every write error): with
 * the packages' mappings, that cost every process a noticeable burst of CPU
 * and held tens of MiB from then on (BENCHMARKS.md).
 */
function ownCodeOnly (map) {
  const own = map.sources.map(source => !source.includes('node_modules/'))
  const lines = decode(map.mappings).map(segments => {
    const kept = []
    for (const segment of segments) {
      const mapped = segment.length >= 4 && own[segment[1]]
      // One unmapped segment where the packages' code begins, so it is not taken for the code before it.
      if (mapped || kept.at(-1)?.length !== 1) kept.push(mapped ? segment : [segment[0]])
    }
    return kept
  })
  return { ...map, mappings: encode(lines) }
}
