import { createHash } from 'node:crypto'
import { canonicalBytes } from '../node/canonical-json.js'
import type { EnvelopeHead } from '../node/envelope.js'
import { isJsonObject, type JsonObject } from './json.js'

/** Heads kept: the last this many versions published. */
export const HISTORY_VERSIONS = 50
/** Bodies kept, newest first, while their canonical bytes add up to no more than this; older versions keep their head only. */
export const HISTORY_BODY_BYTES = 32 * 2 ** 20

/** What changed in one kind of Traefik object (`http.routers`, `tls.certificates`…), by name. */
export interface Changes { added: string[], removed: string[], changed: string[] }

export interface HistoryEntry {
  version: number
  issuedAt: string
  sha256: string
  /** Fragments added, removed or changed since the version before (as merged: a broken one's last good content). */
  fragmentsChanged: string[]
  /** What changed in Traefik's terms since the version before, by kind of object; kinds without changes left out. */
  changes: Record<string, Changes>
  /** The changes in one line, as `dime history` and the fleet page show them: `http.routers +1 ~2 -1, …` ('-' for none). */
  summary: string
  /** Whether the body is still held, so this version can be diffed. */
  bodyHeld: boolean
}

export class UnknownVersionError extends Error {
  override readonly name: string = 'UnknownVersionError'
}

interface Held {
  head: Pick<HistoryEntry, 'version' | 'issuedAt' | 'sha256' | 'fragmentsChanged'>
  fragments: Map<string, string>
  body: Uint8Array | undefined
  /** Worked out when first asked for (or before a body it needs is dropped): not on the way to publishing. */
  changes?: Record<string, Changes>
}

/**
 * The versions this publisher published, newest last: each head, which
 * fragments changed, and what changed in Traefik's terms; bodies within a
 * byte bound, so any two held versions can be compared.
 */
export class VersionHistory {
  private readonly held: Held[] = []

  constructor (private readonly maxVersions = HISTORY_VERSIONS, private readonly maxBodyBytes = HISTORY_BODY_BYTES) {}

  record (head: EnvelopeHead, body: Uint8Array, fragments: ReadonlyMap<string, JsonObject>): void {
    if (this.held.some(held => held.head.version === head.version)) return
    const previous = this.held.at(-1)
    const hashes = new Map([...fragments].map(([source, content]) => [source, hash(content)]))
    this.held.push({
      head: {
        version: head.version,
        issuedAt: head.issuedAt,
        sha256: head.bodySha256,
        fragmentsChanged: previous === undefined ? [...hashes.keys()].sort() : changedKeys(previous.fragments, hashes)
      },
      fragments: hashes,
      body
    })
    if (this.held.length > this.maxVersions) {
      this.changesAt(1)
      this.held.shift()
    }
    this.dropOldBodies()
  }

  /** Newest first. */
  list (): HistoryEntry[] {
    return this.held.map((held, i) => {
      const changes = this.changesAt(i)
      return { ...held.head, changes, summary: summarizeChanges(changes), bodyHeld: held.body !== undefined }
    }).reverse()
  }

  /** What changed from one held version to another, in Traefik's terms. */
  diff (from: number, to: number): Record<string, Changes> {
    return configChanges(parse(this.heldBody(from)), parse(this.heldBody(to)))
  }

  /** The fragments whose content differs between two versions held (empty when either is not held). */
  fragmentsChanged (from: number, to: number): string[] {
    const before = this.held.find(h => h.head.version === from)
    const after = this.held.find(h => h.head.version === to)
    return before === undefined || after === undefined ? [] : changedKeys(before.fragments, after.fragments)
  }

  /** A held version's canonical body; throws UnknownVersionError, saying why, when it is not held. */
  heldBody (version: number): Uint8Array {
    const held = this.held.find(h => h.head.version === version)
    if (held === undefined) throw new UnknownVersionError(`version ${version} is not in the history (it holds ${this.range()})`)
    if (held.body === undefined) throw new UnknownVersionError(`version ${version}'s config is no longer held (bodies are kept for the newest versions, up to ${this.maxBodyBytes / 2 ** 20} MiB)`)
    return held.body
  }

  /** What changed from the version before (the first held against nothing). */
  private changesAt (i: number): Record<string, Changes> {
    const held = this.held[i]
    if (held === undefined) return {}
    const before = this.held[i - 1]?.body
    held.changes ??= configChanges(before === undefined ? {} : parse(before), held.body === undefined ? {} : parse(held.body))
    return held.changes
  }

  private range (): string {
    const first = this.held[0]?.head.version
    const last = this.held.at(-1)?.head.version
    return first === undefined || last === undefined ? 'no version yet' : `versions ${first} to ${last}`
  }

  /** Bodies beyond the byte bound, oldest first, go; the changes that need them are worked out before. */
  private dropOldBodies (): void {
    let bytes = 0
    for (let i = this.held.length - 1; i >= 0; i--) {
      const held = this.held[i]
      if (held === undefined || held.body === undefined) continue
      bytes += held.body.byteLength
      if (bytes <= this.maxBodyBytes || i === this.held.length - 1) continue
      this.changesAt(i)
      this.changesAt(i + 1)
      held.body = undefined
    }
  }
}

function hash (content: JsonObject): string {
  return createHash('sha256').update(canonicalBytes(content)).digest('hex')
}

function parse (body: Uint8Array): JsonObject {
  const value: unknown = JSON.parse(Buffer.from(body).toString('utf8'))
  return isJsonObject(value) ? value : {}
}

function changedKeys (before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  return [...new Set([...before.keys(), ...after.keys()])].filter(key => before.get(key) !== after.get(key)).sort()
}

/**
 * Every kind of Traefik object in two configs, by name (`http.routers` and
 * the like: maps of named objects; `tls.certificates`, a list, by its
 * certFile), with those added, removed or changed.
 */
export function configChanges (before: JsonObject, after: JsonObject): Record<string, Changes> {
  const changes: Record<string, Changes> = {}
  for (const section of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = objectAt(before, section)
    const b = objectAt(after, section)
    for (const kind of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const found = namedChanges(named(a[kind]), named(b[kind]))
      if (found.added.length + found.removed.length + found.changed.length > 0) changes[`${section}.${kind}`] = found
    }
  }
  return changes
}

function objectAt (config: JsonObject, key: string): JsonObject {
  const value = config[key]
  return isJsonObject(value) ? value : {}
}

/** A kind's objects by name: a map's own keys; a list's items by their certFile, or by their content. */
function named (value: unknown): Map<string, string> {
  if (Array.isArray(value)) {
    return new Map(value.map(item => {
      const text = Buffer.from(canonicalBytes(item)).toString('utf8')
      return [isJsonObject(item) && typeof item.certFile === 'string' ? item.certFile : text, text]
    }))
  }
  if (!isJsonObject(value)) return new Map()
  return new Map(Object.entries(value).map(([name, item]) => [name, Buffer.from(canonicalBytes(item)).toString('utf8')]))
}

function namedChanges (before: Map<string, string>, after: Map<string, string>): Changes {
  return {
    added: [...after.keys()].filter(name => !before.has(name)).sort(),
    removed: [...before.keys()].filter(name => !after.has(name)).sort(),
    changed: [...after.keys()].filter(name => before.has(name) && before.get(name) !== after.get(name)).sort()
  }
}

/** `http.routers +1 ~2 -1, …`: how many objects of each kind were added, changed and removed; '-' for none. */
export function summarizeChanges (changes: Record<string, Changes>): string {
  const parts = Object.entries(changes).map(([kind, { added, removed, changed }]) =>
    `${kind} ${[added.length > 0 ? `+${added.length}` : '', changed.length > 0 ? `~${changed.length}` : '', removed.length > 0 ? `-${removed.length}` : ''].filter(Boolean).join(' ')}`)
  return parts.join(', ') || '-'
}
