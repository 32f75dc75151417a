import { parseAllDocuments } from 'yaml'
import { FRAGMENT_LABEL, MAX_YAML_ALIASES } from './constants.js'
import { isJsonObject, type JsonObject } from './json.js'

/** A file (or any named text) that may hold fragments, or why it could not be read. */
export type FragmentFile =
  | { readonly name: string, readonly text: string }
  | { readonly name: string, readonly error: string }

/**
 * Why a route's references cannot be routed, as the Gateway API names it in
 * a route's ResolvedRefs condition (Accepted's UnsupportedValue otherwise).
 */
export type RefusalCode = 'BackendNotFound' | 'InvalidKind' | 'RefNotPermitted' | 'UnsupportedValue'

/** One fragment of Traefik dynamic configuration, or why it could not be read (with its code, when it is a route's). */
export type Fragment =
  | { readonly source: string, readonly content: JsonObject }
  | { readonly source: string, readonly error: string, readonly code?: RefusalCode | undefined }

/** What a file contained that is deliberately not a fragment (another kind of manifest). */
export interface SkippedObject {
  readonly source: string
  readonly reason: string
}

export interface FileFragments {
  fragments: Fragment[]
  skipped: SkippedObject[]
}

/**
 * Reads a file as fragments. A plain YAML or JSON document is one fragment
 * named after the file. A file of Kubernetes objects contributes each `data`
 * value of each ConfigMap labelled `traefik-config-fragment=true`, named
 * `file:namespace/configmap/key`; its other objects are skipped.
 */
export function fragmentsFromFile (file: FragmentFile): FileFragments {
  if ('error' in file) return { fragments: [{ source: file.name, error: file.error }], skipped: [] }
  const parsed = parseDocuments(file.name, file.text)
  if ('error' in parsed) return { fragments: [{ source: file.name, error: parsed.error }], skipped: [] }
  const documents = parsed.documents
  if (documents.some(isKubernetesObject)) return fragmentsFromManifests(file.name, documents)
  return { fragments: [singleFragment(file.name, documents)], skipped: [] }
}

/** Parses one ConfigMap data value (or any text) as a single fragment. */
export function fragmentFromText (source: string, text: string): Fragment {
  const parsed = parseDocuments(source, text)
  if ('error' in parsed) return { source, error: parsed.error }
  return singleFragment(source, parsed.documents)
}

function singleFragment (source: string, documents: unknown[]): Fragment {
  if (documents.length > 1) return { source, error: `holds ${documents.length} YAML documents; a fragment is exactly one` }
  return fragmentFromValue(source, documents[0])
}

function fragmentFromValue (source: string, value: unknown): Fragment {
  if (value === null || value === undefined) return { source, error: 'is empty' }
  if (!isJsonObject(value)) return { source, error: 'is not a mapping of Traefik dynamic configuration' }
  return { source, content: value }
}

/**
 * JSON for names ending in `.json` (a large config parses in milliseconds
 * instead of about a second as YAML); YAML, of which JSON is a subset, otherwise.
 */
function parseDocuments (name: string, text: string): { documents: unknown[] } | { error: string } {
  if (!/\.json$/i.test(name)) return parseYamlDocuments(text)
  try {
    const value: unknown = JSON.parse(text)
    return { documents: value === null ? [] : [value] }
  } catch (err) {
    return { error: `is not valid JSON: ${(err as Error).message}` }
  }
}

function parseYamlDocuments (text: string): { documents: unknown[] } | { error: string } {
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true })
  if (!Array.isArray(documents)) return { documents: [] }
  const values: unknown[] = []
  for (const document of documents) {
    const [first] = document.errors
    if (first !== undefined) return { error: `is not valid YAML: ${first.message.split('\n')[0] ?? ''}` }
    try {
      values.push(document.toJS({ maxAliasCount: MAX_YAML_ALIASES }))
    } catch (err) {
      return { error: `is not valid YAML: ${(err as Error).message}` }
    }
  }
  return { documents: values.filter(value => value !== null) }
}

interface KubernetesObject {
  kind: string
  apiVersion: string
  metadata?: { name?: unknown, namespace?: unknown, labels?: Record<string, unknown> }
  data?: Record<string, unknown>
}

function isKubernetesObject (value: unknown): value is KubernetesObject {
  return isJsonObject(value) && typeof value.kind === 'string' && typeof value.apiVersion === 'string'
}

function fragmentsFromManifests (file: string, documents: unknown[]): FileFragments {
  const result: FileFragments = { fragments: [], skipped: [] }
  for (const document of documents) {
    if (!isKubernetesObject(document)) {
      result.fragments.push({ source: file, error: 'mixes Kubernetes objects with a plain document' })
      continue
    }
    const namespace = typeof document.metadata?.namespace === 'string' ? document.metadata.namespace : 'default'
    const name = typeof document.metadata?.name === 'string' ? document.metadata.name : '(unnamed)'
    const objectName = `${file}:${namespace}/${name}`
    if (document.kind !== 'ConfigMap') {
      result.skipped.push({ source: objectName, reason: `${document.kind}, not a ConfigMap` })
    } else if (document.metadata?.labels?.[FRAGMENT_LABEL] !== 'true') {
      result.skipped.push({ source: objectName, reason: `ConfigMap without label ${FRAGMENT_LABEL}=true` })
    } else {
      for (const [key, value] of Object.entries(document.data ?? {}).sort(([a], [b]) => compareNames(a, b))) {
        const source = `${objectName}/${key}`
        result.fragments.push(typeof value === 'string' ? fragmentFromText(source, value) : { source, error: 'data value is not a string' })
      }
    }
  }
  return result
}

/** Code-point order, the same on every machine and locale. */
export function compareNames (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
