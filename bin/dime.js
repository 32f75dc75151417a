#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=2 --heap-growing-percent=50
// dime is long-running and mostly quiet, and should stay small on a small VM:
// --max-semi-space-size=2: no large young generation (V8's default grows to
//   16 MiB a half).
// --heap-growing-percent=50: the old generation is collected once it grows by
//   half, as V8 does on a machine with little memory; on a large one it lets it
//   grow fourfold first.
// MALLOC_ARENA_MAX=2: glibc gives each thread that allocates (libuv's pool,
//   V8's workers) its own arena, each keeping what it once held.
// What each saves is in BENCHMARKS.md.
// This line is the one place they are written: the Containerfile runs this file
// as it is, and cli/processes.ts (spawnNodeAsDime) reads the line.
// It runs the bundle that `npm ci` built into dist/ (npm's prepare step runs
// `npm run build`): no transpiler at run time. Stack traces point at the TypeScript.
process.setSourceMapsEnabled(true)
try {
  await import('../dist/node/polyfills.js')
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err
  process.stderr.write('dime: not built yet: run `npm ci` (or `npm run build`) in the repository first\n')
  process.exit(1)
}
await import('../dist/cli/main.js')
