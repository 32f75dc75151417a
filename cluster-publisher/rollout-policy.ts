import { parse } from 'yaml'
import { isLabelKey, isLabelValue, type Labels } from '../node/edge-labels.js'
import { MAX_YAML_ALIASES } from './constants.js'
import { isJsonObject } from './json.js'

/**
 * Which edges a wave takes: those with all of these labels, a number or a
 * share of the edges no earlier wave took, or (none given) all of those.
 */
export type WaveSelector =
  | { readonly labels: Labels }
  | { readonly count: number }
  | { readonly percent: number }
  | { readonly rest: true }

export interface Wave {
  readonly name: string
  readonly select: WaveSelector
  /** How long the wave must stay healthy before the next one is reached. */
  readonly bakeMs: number
}

/** How a change reaches the edges: wave by wave (`dime publisher --rollout FILE`). */
export interface RolloutPolicy {
  readonly waves: readonly Wave[]
}

/** A rollout policy that cannot be used; the message says what and where. */
export class RolloutPolicyError extends Error {
  override readonly name: string = 'RolloutPolicyError'
}

const WAVE_KEYS = new Set(['name', 'edges', 'count', 'percent', 'bake'])
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/**
 * Reads a rollout policy from its YAML (`where` names the file or
 * ConfigMap in messages). Unknown keys, missing or negative durations, no
 * waves, a wave name given twice, and a wave taking every edge left before
 * the last are refused.
 */
export function parseRolloutPolicy (text: string, where: string): RolloutPolicy {
  let document: unknown
  try {
    document = parse(text, { maxAliasCount: MAX_YAML_ALIASES })
  } catch (err) {
    throw new RolloutPolicyError(`${where}: not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`)
  }
  if (!isJsonObject(document)) throw new RolloutPolicyError(`${where}: expected a mapping with "waves"`)
  const unknown = Object.keys(document).filter(key => key !== 'waves')
  if (unknown.length > 0) throw new RolloutPolicyError(`${where}: unknown key "${unknown[0] ?? ''}" (a policy has only "waves")`)
  const list = document.waves
  if (!Array.isArray(list) || list.length === 0) throw new RolloutPolicyError(`${where}: "waves" must be a list of at least one wave`)
  const waves = list.map((entry, i) => parseWave(entry, `${where}: waves[${i}]`, i === list.length - 1))
  const names = new Set<string>()
  for (const [i, wave] of waves.entries()) {
    if (names.has(wave.name)) throw new RolloutPolicyError(`${where}: waves[${i}]: the name "${wave.name}" is used twice`)
    names.add(wave.name)
    if ('rest' in wave.select && i < waves.length - 1) {
      throw new RolloutPolicyError(`${where}: waves[${i}] ("${wave.name}") has no edges, count or percent, so it takes every edge left: the waves after it would never be reached`)
    }
  }
  return { waves }
}

function parseWave (entry: unknown, where: string, last: boolean): Wave {
  if (!isJsonObject(entry)) throw new RolloutPolicyError(`${where}: expected a mapping with name, bake and one of edges, count or percent`)
  const unknown = Object.keys(entry).find(key => !WAVE_KEYS.has(key))
  if (unknown !== undefined) throw new RolloutPolicyError(`${where}: unknown key "${unknown}" (a wave has name, edges, count, percent and bake)`)
  const name = entry.name
  if (typeof name !== 'string' || name === '' || !isLabelValue(name)) throw new RolloutPolicyError(`${where}: "name" must be letters, digits, '-', '_' and '.', at most 63`)
  const at = `${where} ("${name}")`
  const given = ['edges', 'count', 'percent'].filter(key => entry[key] !== undefined)
  if (given.length > 1) throw new RolloutPolicyError(`${at}: give one of edges, count or percent, not ${given.join(' and ')}`)
  return { name, select: selector(entry, at), bakeMs: bake(entry.bake, at, last) }
}

function selector (entry: Record<string, unknown>, at: string): WaveSelector {
  const { edges, count, percent } = entry
  if (edges !== undefined) {
    if (!isJsonObject(edges) || Object.keys(edges).length === 0) throw new RolloutPolicyError(`${at}: "edges" must map label keys to values, e.g. {tier: canary}`)
    for (const [key, value] of Object.entries(edges)) {
      if (!isLabelKey(key) || typeof value !== 'string' || !isLabelValue(value)) throw new RolloutPolicyError(`${at}: edges: ${JSON.stringify(key)}: ${JSON.stringify(value)} is not a label (KEY: VALUE as dime edge --label takes)`)
    }
    return { labels: edges as Labels }
  }
  if (count !== undefined) {
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw new RolloutPolicyError(`${at}: "count" must be a whole number of edges, at least 1`)
    return { count }
  }
  if (percent !== undefined) {
    if (typeof percent !== 'number' || !(percent > 0 && percent <= 100)) throw new RolloutPolicyError(`${at}: "percent" must be a number above 0 and at most 100`)
    return { percent }
  }
  return { rest: true }
}

function bake (value: unknown, at: string, last: boolean): number {
  if (value === undefined) {
    if (last) return 0
    throw new RolloutPolicyError(`${at}: "bake" is missing: how long the wave must stay healthy before the next, e.g. 30s or 5m`)
  }
  if (typeof value !== 'string' || !DURATION.test(value)) throw new RolloutPolicyError(`${at}: bake ${JSON.stringify(value)} is not a duration such as 10s, 5m or 1h30m (not negative)`)
  let ms = 0
  for (const [, amount, unit] of value.matchAll(DURATION_PART)) ms += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 1000)
  return Math.round(ms)
}

/** The policy's text where it is kept, or why it cannot be read there. */
export type PolicyDocument =
  | { readonly where: string, readonly text: string }
  | { readonly where: string, readonly unreadable: string }

/** Where the policy is kept (a file, a ConfigMap), read again whenever it changes. */
export interface RolloutPolicySource {
  /** The document now; undefined when there is none (no policy: every version goes to every edge at once). */
  read(): PolicyDocument | undefined
  onChange(listener: () => void): void
  /** Begins and ends watching, for a source that is not part of the fragment source (a file). */
  start?(): void
  stop?(): void
}

/** Whether an edge's labels include every one of `wanted` (a wave's label selector). */
export function hasLabels (labels: Labels, wanted: Labels): boolean {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value)
}

/** A wave with the edges it took. */
export interface PlannedWave {
  readonly name: string
  readonly bakeMs: number
  readonly edges: readonly string[]
}

export interface WavePlan {
  /** The waves that took at least one edge, in order. */
  readonly waves: readonly PlannedWave[]
  /** The waves that took none: skipped, and said so. */
  readonly skipped: readonly string[]
  /** Edges no wave took: they get the version when the rollout completes, as the last wave. */
  readonly rest: readonly string[]
}

/**
 * Puts each edge in the first wave that takes it. A count or a percent
 * takes from the edges left, in peer-id order, so the plan depends only on
 * the policy and the set of edges. A percent takes at least one edge.
 */
export function planWaves (policy: RolloutPolicy, edges: ReadonlyArray<{ readonly peerId: string, readonly labels: Labels }>): WavePlan {
  let left = [...edges].sort((a, b) => a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
  const waves: PlannedWave[] = []
  const skipped: string[] = []
  for (const wave of policy.waves) {
    const taken = take(wave.select, left)
    const chosen = new Set(taken.map(edge => edge.peerId))
    left = left.filter(edge => !chosen.has(edge.peerId))
    if (taken.length === 0) skipped.push(wave.name)
    else waves.push({ name: wave.name, bakeMs: wave.bakeMs, edges: taken.map(edge => edge.peerId) })
  }
  return { waves, skipped, rest: left.map(edge => edge.peerId) }
}

function take<T extends { readonly labels: Labels }> (select: WaveSelector, left: T[]): T[] {
  if ('labels' in select) return left.filter(edge => hasLabels(edge.labels, select.labels))
  if ('count' in select) return left.slice(0, select.count)
  if ('percent' in select) return left.length === 0 ? [] : left.slice(0, Math.max(1, Math.ceil(left.length * select.percent / 100)))
  return left
}
