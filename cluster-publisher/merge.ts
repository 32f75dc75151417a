import { canonicalBytes } from '../node/canonical-json.js'
import { isJsonObject, type JsonObject, type JsonValue } from './json.js'

export interface Conflict {
  /** Dotted path where the two fragments disagree, e.g. `http.routers.whoami.rule`. */
  readonly path: string
  /** The fragment already merged that set the other value. */
  readonly with: string
}

function sameValue (a: JsonValue, b: JsonValue): boolean {
  return Buffer.from(canonicalBytes(a)).equals(canonicalBytes(b))
}

/** Where `addition` disagrees with `base`: maps merge, anything else must be equal. */
export function findConflictPath (base: JsonObject, addition: JsonObject, path: string[] = []): string[] | undefined {
  for (const [key, value] of Object.entries(addition)) {
    if (!Object.hasOwn(base, key)) continue
    const existing = base[key] as JsonValue
    if (isJsonObject(existing) && isJsonObject(value)) {
      const found = findConflictPath(existing, value, [...path, key])
      if (found !== undefined) return found
    } else if (!sameValue(existing, value)) {
      return [...path, key]
    }
  }
  return undefined
}

/** A new object: `base` with `addition` merged in (the caller checked there is no conflict). */
export function mergeObjects (base: JsonObject, addition: JsonObject): JsonObject {
  const merged: JsonObject = { ...base }
  for (const [key, value] of Object.entries(addition)) {
    const existing = Object.hasOwn(merged, key) ? merged[key] : undefined
    // defineProperty, so a key named "__proto__" stays a plain key.
    Object.defineProperty(merged, key, {
      value: isJsonObject(existing) && isJsonObject(value) ? mergeObjects(existing, value) : value,
      enumerable: true,
      writable: true,
      configurable: true
    })
  }
  return merged
}

function hasPath (value: JsonValue | undefined, path: string[]): boolean {
  let node = value
  for (const key of path) {
    if (!isJsonObject(node) || !Object.hasOwn(node, key)) return false
    node = node[key]
  }
  return true
}

/**
 * Merges fragments one at a time in the order given. Returns the merged
 * object, or the conflict that keeps `addition` out, naming the merged
 * fragment that already holds the path.
 */
export function mergeFragment (
  base: JsonObject,
  merged: ReadonlyArray<{ source: string, content: JsonObject }>,
  addition: JsonObject
): { config: JsonObject } | { conflict: Conflict } {
  const path = findConflictPath(base, addition)
  if (path === undefined) return { config: mergeObjects(base, addition) }
  const owner = merged.find(fragment => hasPath(fragment.content, path))
  return { conflict: { path: path.join('.'), with: owner?.source ?? '(unknown)' } }
}
