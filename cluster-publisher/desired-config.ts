import { compareNames, type Fragment, type RefusalCode } from './fragment-files.js'
import type { FragmentValidator } from './fragment-schema.js'
import { isJsonObject, type JsonObject } from './json.js'
import { mergeFragment } from './merge.js'

export type FragmentStatus =
  /** Merged as it is now. */
  | 'accepted'
  /** Broken now; its last good content is merged instead. */
  | 'kept-last-good'
  /** Left out: broken, or in conflict, with no usable last good content. */
  | 'rejected'

export type FragmentProblem = 'unreadable' | 'invalid' | 'conflict'

export interface FragmentReport {
  readonly source: string
  readonly status: FragmentStatus
  readonly problem?: FragmentProblem
  readonly reason?: string
  /** A route's refusal, as the Gateway API's conditions name it. */
  readonly code?: RefusalCode | undefined
}

export interface DesiredConfig {
  readonly config: JsonObject
  readonly fragments: FragmentReport[]
  /** The content each fragment last merged successfully; feed it to the next build. */
  readonly lastGood: ReadonlyMap<string, JsonObject>
}

interface Candidate {
  content: JsonObject
  isCurrent: boolean
}

/**
 * The whole config from the fragments seen now, in source-name order so the
 * result never depends on the order anything arrived in. A broken or
 * conflicting fragment falls back to the content it last merged with, if
 * any; otherwise it is left out. Fragments no longer present are forgotten.
 */
export function buildDesiredConfig (
  fragments: readonly Fragment[],
  lastGood: ReadonlyMap<string, JsonObject>,
  validate: FragmentValidator
): DesiredConfig {
  let config: JsonObject = {}
  const merged: Array<{ source: string, content: JsonObject }> = []
  const reports: FragmentReport[] = []
  const nextLastGood = new Map<string, JsonObject>()

  for (const fragment of [...fragments].sort((a, b) => compareNames(a.source, b.source))) {
    const previous = lastGood.get(fragment.source)
    let problem: { problem: FragmentProblem, reason: string, code?: RefusalCode | undefined } | undefined
    const candidates: Candidate[] = []
    if ('error' in fragment) {
      // A report is data shown in /status: a code that does not apply is absent, not undefined.
      const { error: reason, code } = fragment
      problem = code === undefined ? { problem: 'unreadable', reason } : { problem: 'unreadable', reason, code }
    } else {
      const schemaError = validate(fragment.content)
      if (schemaError === undefined) candidates.push({ content: fragment.content, isCurrent: true })
      else problem = { problem: 'invalid', reason: schemaError }
    }
    if (previous !== undefined && !candidates.some(candidate => candidate.content === previous)) {
      candidates.push({ content: previous, isCurrent: false })
    }

    let placed = false
    for (const candidate of candidates) {
      const result = mergeFragment(config, merged, candidate.content)
      if ('conflict' in result) {
        problem ??= { problem: 'conflict', reason: `conflicts with ${result.conflict.with} at ${result.conflict.path}` }
        continue
      }
      config = result.config
      merged.push({ source: fragment.source, content: candidate.content })
      nextLastGood.set(fragment.source, candidate.content)
      reports.push(candidate.isCurrent
        ? { source: fragment.source, status: 'accepted' }
        : { source: fragment.source, status: 'kept-last-good', ...problem })
      placed = true
      break
    }
    if (!placed) reports.push({ source: fragment.source, status: 'rejected', ...problem })
  }
  return { config, fragments: reports, lastGood: nextLastGood }
}

/** What `previous` holds that `current` does not mention at all (paths `current` sets, to any value, are its own). */
function leftOver (previous: JsonObject, current: JsonObject): JsonObject {
  const rest: JsonObject = {}
  for (const [key, value] of Object.entries(previous)) {
    const mine = Object.hasOwn(current, key) ? current[key] : undefined
    if (mine === undefined) {
      Object.defineProperty(rest, key, { value, enumerable: true, writable: true, configurable: true })
    } else if (isJsonObject(value) && isJsonObject(mine)) {
      const inner = leftOver(value, mine)
      if (Object.keys(inner).length > 0) rest[key] = inner
    }
  }
  return rest
}

/**
 * After a restart or a leader change, when no state says what each fragment
 * last contributed, only the latest signed config is known. What it holds
 * beyond the fragments that are fine now is what the broken ones last
 * contributed: it becomes the last good content of `carrier`, a broken
 * fragment that has none. (With several broken fragments, it carries it for all.)
 */
export function recoverLastGood (
  fragments: readonly Fragment[],
  lastGood: ReadonlyMap<string, JsonObject>,
  previous: JsonObject,
  validate: FragmentValidator,
  carrier: string
): ReadonlyMap<string, JsonObject> {
  const { config } = buildDesiredConfig(fragments, lastGood, validate)
  const recovered = leftOver(previous, config)
  if (Object.keys(recovered).length === 0) return lastGood
  return new Map([...lastGood, [carrier, recovered]])
}

/** The sources of the fragments that cannot be merged as they are now (unreadable or invalid), in name order. */
export function brokenFragments (fragments: readonly Fragment[], validate: FragmentValidator): string[] {
  return [...fragments]
    .filter(fragment => 'error' in fragment || validate(fragment.content) !== undefined)
    .map(fragment => fragment.source)
    .sort(compareNames)
}

/** How many routers (HTTP, TCP and UDP) a config has. */
export function countRouters (config: JsonObject): number {
  return ['http', 'tcp', 'udp'].reduce((sum, section) => {
    const routers = isJsonObject(config[section]) ? config[section].routers : undefined
    return sum + (isJsonObject(routers) ? Object.keys(routers).length : 0)
  }, 0)
}
