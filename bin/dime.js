#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size=2: long-running and quiet, dime needs no large young generation
// (V8's default grows to 16 MiB a half); about 20 MB less resident memory. The
// Containerfile and cli/processes.ts (DIME_NODE_FLAGS) run it the same way.
// The sources are TypeScript, run through tsx so `npm ci` alone leaves a working `dime`.
import { register } from 'tsx/esm/api'

register()
await import('../node/polyfills.ts')
await import('../cli/main.ts')
