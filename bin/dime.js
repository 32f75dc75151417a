#!/usr/bin/env node
// The sources are TypeScript, run through tsx so `npm ci` alone leaves a working `dime`.
import { register } from 'tsx/esm/api'

register()
await import('../node/polyfills.ts')
await import('../cli/main.ts')
