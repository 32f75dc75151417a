import { readFileSync } from 'node:fs'
import { packageFile } from '../node/package-files.js'

/** Traefik v3's dynamic-configuration JSON Schema, as published by SchemaStore (see reference/README.md). */
export function loadTraefikSchema (): object {
  return JSON.parse(readFileSync(packageFile('reference/traefik-v3-file-provider.schema.json'), 'utf8')) as object
}
