#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2: long-running and quiet, dime needs no large young generation
// (V8's default grows to 16 MiB a half); about 20 MB less resident memory. The
// Containerfile and cli/processes.ts (DIME_NODE_FLAGS) run it the same way.
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
