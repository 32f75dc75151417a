import { readFileSync } from 'node:fs'

const SCHEMA_URL = new URL('../reference/traefik-v3-file-provider.schema.json', import.meta.url)

/** Traefik v3's dynamic-configuration JSON Schema, as published by SchemaStore (see reference/README.md). */
export function loadTraefikSchema (): object {
  return JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as object
}
