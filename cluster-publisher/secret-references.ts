import { createHash } from 'node:crypto'
import type { JsonObject, JsonValue } from './json.js'

/**
 * `secret:NAME/KEY`, anywhere in a fragment from the cluster (a ConfigMap's,
 * or a route made from a Service's annotations): the value of KEY in the
 * Secret NAME of the same namespace. Certificates (`tls.crt`, `ca.crt`) are
 * public and go in clear; every other value (a TLS key, basic-auth users) is
 * sealed to the edges' secrets key before it leaves the source, so the
 * publisher's fragments, merge, status and logs never hold it in clear.
 */
const REFERENCE = /^secret:([a-z0-9]([a-z0-9.-]*[a-z0-9])?)\/([A-Za-z0-9._-]+)$/
const PUBLIC_KEYS = new Set(['tls.crt', 'ca.crt'])

/** A Secret's decoded data, by name, in the fragment's namespace. */
export type SecretLookup = (name: string) => Record<string, string> | undefined
export type Seal = (plaintext: string) => Promise<string>

/** The first `secret:NAME/KEY` reference in a fragment, if any. */
export function firstSecretReference (content: JsonValue): string | undefined {
  if (typeof content === 'string') return REFERENCE.test(content) ? content : undefined
  const children = Array.isArray(content) ? content : content !== null && typeof content === 'object' ? Object.values(content) : []
  for (const child of children) {
    const found = firstSecretReference(child)
    if (found !== undefined) return found
  }
  return undefined
}

/**
 * Replaces every reference by its value; a private value of several lines in
 * a list (an htpasswd file for basicAuth users) becomes one sealed entry per
 * line. Fails, naming the reference, when a Secret or key is missing, or a
 * value must be sealed and the publisher has no `--secrets-pub`.
 */
export async function resolveSecretReferences (content: JsonObject, lookup: SecretLookup, seal: Seal | undefined): Promise<{ content: JsonObject } | { error: string }> {
  // Most fragments have none, and a rebuild resolves every fragment: a plain walk first.
  if (firstSecretReference(content) === undefined) return { content }
  /** The reference's value; in a list, a private value of several lines is one entry per line. */
  async function value (reference: string, inList: boolean): Promise<string[]> {
    const [, name = '', , key = ''] = REFERENCE.exec(reference) ?? []
    const data = lookup(name)
    if (data === undefined) throw new Error(`${reference}: no Secret "${name}" in this namespace`)
    const plaintext = data[key]
    if (plaintext === undefined) throw new Error(`${reference}: Secret "${name}" has no key "${key}"`)
    if (PUBLIC_KEYS.has(key)) return [plaintext]
    if (seal === undefined) throw new Error(`${reference}: a private value needs the edges' secrets key to be sealed to; start the publisher with --secrets-pub`)
    const entries = inList && !plaintext.includes('-----BEGIN') ? plaintext.split('\n').map(line => line.trim()).filter(line => line !== '') : [plaintext]
    return await Promise.all(entries.map(seal))
  }
  async function walk (node: JsonValue): Promise<JsonValue> {
    if (typeof node === 'string') return REFERENCE.test(node) ? (await value(node, false))[0] ?? node : node
    if (Array.isArray(node)) {
      const items = await Promise.all(node.map(async item => typeof item === 'string' && REFERENCE.test(item) ? await value(item, true) : [await walk(item)]))
      return items.flat()
    }
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(await Promise.all(Object.entries(node).map(async ([name, item]) => [name, await walk(item)] as const)))
    }
    return node
  }
  try {
    return { content: await walk(content) as JsonObject }
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/**
 * Seals each plaintext once and reuses the result while it is in use: a
 * fresh sealing differs every time, and a config that changes on every
 * rebuild would be re-published on every rebuild. `sweep` forgets what the
 * last snapshot did not use.
 */
export class SealCache {
  private entries = new Map<string, Promise<string>>()
  private used = new Set<string>()

  constructor (private readonly sealOnce: Seal) {}

  readonly seal: Seal = async (plaintext) => {
    const id = createHash('sha256').update(plaintext).digest('hex')
    this.used.add(id)
    let sealed = this.entries.get(id)
    if (sealed === undefined) {
      sealed = this.sealOnce(plaintext)
      this.entries.set(id, sealed)
    }
    return await sealed
  }

  sweep (): void {
    for (const id of this.entries.keys()) if (!this.used.has(id)) this.entries.delete(id)
    this.used = new Set()
  }
}
