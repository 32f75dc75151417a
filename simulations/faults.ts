import fc from 'fast-check'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256Hex } from '../node/envelope.js'
import { FaultWorld, isCanonical, PUBLISHER } from './fault-world.js'
import { waitFor } from './wait-for.js'
import { NoRolloutError } from '../cluster-publisher/rollouts.js'

const FRAGMENTS = ['alpha', 'bravo', 'charlie'] as const
const MAX_EDGES = 5
const START_EDGES = 3
const HOUR_MS = 3_600_000

/** What the fault sequence has done, as the checks need to know it. */
export interface Model {
  /** Fragments present, each valid with a variant, or broken. */
  fragments: Map<string, { valid: boolean, variant: number }>
  /** The variant each fragment last had while valid, as a publisher saw it. */
  lastGood: Map<string, number>
  edges: number
  rotation: 'none' | 'trusting-next' | 'signing-next'
  /** Versions go out in waves (the rollout policy of ROLLOUT_POLICY). */
  rollouts: boolean
  /** Steps run so far in this sequence (for the report). */
  steps: number
}

/** Three waves, moved on only by the operator's steps and failed gates (the bakes do not end in a run). */
const ROLLOUT_POLICY = 'waves:\n  - {name: canary, edges: {tier: canary}, bake: 1h}\n  - {name: europe, edges: {region: eu}, bake: 1h}\n  - {name: everyone}\n'
const EDGE_LABELS = [{ tier: 'canary' }, { region: 'eu' }, {}]
const WORLD_ROLLOUTS = { policy: ROLLOUT_POLICY, labels: (index: number) => EDGE_LABELS[index % EDGE_LABELS.length] ?? {} }

/** The routers the newest config must hold: each fragment as it is, or its last good content while broken. */
export function expectedRouters (model: Model, world: FaultWorld): Record<string, string> {
  const routers: Record<string, string> = {}
  for (const [name, fragment] of [...model.fragments].sort(([a], [b]) => a.localeCompare(b))) {
    const variant = fragment.valid ? fragment.variant : model.lastGood.get(name)
    if (variant !== undefined) routers[name] = world.serverUrl(variant)
  }
  return routers
}

async function fragmentText (world: FaultWorld, name: string, variant: number): Promise<string> {
  await world.addBackend(variant)
  return `http:\n  routers:\n    ${name}:\n      rule: "Host(\`${name}.example.com\`)"\n      service: ${name}\n  services:\n    ${name}:\n      loadBalancer:\n        servers:\n          - url: ${world.serverUrl(variant)}\n`
}

/** The routers of a served config, each with its first server's URL. */
function routersOf (body: Uint8Array): Record<string, string> {
  const config = JSON.parse(new TextDecoder().decode(body)) as { http?: { routers?: Record<string, { service: string }>, services?: Record<string, { loadBalancer?: { servers?: Array<{ url: string }> } }> } }
  const routers: Record<string, string> = {}
  for (const [name, router] of Object.entries(config.http?.routers ?? {})) {
    routers[name] = config.http?.services?.[router.service]?.loadBalancer?.servers?.[0]?.url ?? '(no server)'
  }
  return routers
}

/** The invariants after a step: safety on every edge always; convergence and content once nothing is cut. */
async function checkInvariants (model: Model, world: FaultWorld): Promise<void> {
  model.steps++
  const problems: string[] = []
  for (const [name, history] of world.served) {
    let highest = 0
    for (const served of history) {
      if (world.signed.get(served.version) !== served.sha) problems.push(`${name} took version ${served.version}, which no publisher signed as ${served.sha.slice(0, 12)}`)
      const restoredSame = served.origin === 'disk' && served.version === highest
      if (served.version <= highest && !restoredSame) problems.push(`${name} went from version ${highest} to ${served.version} (${served.origin})`)
      highest = Math.max(highest, served.version)
    }
  }
  for (const { name, edge } of world.runningEdges()) {
    if ((world.served.get(name) ?? []).length === 0) continue
    const response = await fetch(`${edge.serveUrl() ?? ''}/config`)
    const body = new Uint8Array(await response.arrayBuffer())
    if (response.status !== 200) { problems.push(`${name} answered ${response.status} after it had served a config`); continue }
    const sha = sha256Hex(body)
    if (![...world.signed.values()].includes(sha)) problems.push(`${name} served bytes no publisher signed`)
    if (!isCanonical(body)) problems.push(`${name} served bytes that are not canonical JSON`)
    if (Object.keys(routersOf(body)).length === 0) problems.push(`${name} served a config with no routers`)
  }
  for (const [sha, body] of world.bodies) if (!isCanonical(body)) problems.push(`a publisher signed non-canonical bytes (${sha.slice(0, 12)})`)
  problems.push(...servedBeforeItsWave(world))
  if (problems.length === 0 && !world.isPartitioned() && model.rollouts) {
    await world.converged()
    for (const { name, edge } of world.runningEdges()) {
      const version = edge.status().version ?? 0
      if (world.rollouts.get(version)?.rolledBack === true) problems.push(`${name} still serves version ${version}, which was rolled back`)
    }
  } else if (problems.length === 0 && !world.isPartitioned()) {
    await world.converged()
    const expected = JSON.stringify(expectedRouters(model, world))
    for (const { name, edge } of world.runningEdges()) {
      const body = edge.latest.current()?.body
      const served = body === undefined ? '(nothing)' : JSON.stringify(routersOf(body))
      if (served !== expected) problems.push(`${name} serves routers ${served}, expected ${expected}`)
    }
  }
  if (problems.length > 0) throw new Error(`after step ${model.steps}: ${problems.join('; ')}`)
}

/** Edges that served a version in rollout that no signed head had let them serve (by its waves reached, or complete). */
function servedBeforeItsWave (world: FaultWorld): string[] {
  return [...world.served].flatMap(([name, history]) => history.flatMap(served => {
    const rollout = world.rollouts.get(served.version)
    if (rollout === undefined || rollout.complete || rollout.allowed.has(world.peerIds.get(name) ?? '')) return []
    return [`${name} served version ${served.version} (${served.origin}) before its wave was reached`]
  }))
}

/**
 * Waits until the leader's newest config (in rollout, or released) is what
 * the fragments (and their last good content) say, or that build failed its
 * rollout and is held back.
 */
async function leaderHas (model: Model, world: FaultWorld): Promise<void> {
  const expected = JSON.stringify(expectedRouters(model, world))
  const heldBack = (): boolean => model.rollouts && /held back/.test(world.leader().status().lastError ?? '')
  await waitFor(() => `the leader to publish ${expected} (it has ${JSON.stringify(leaderRouters(world))}; ${world.leader().status().lastError ?? 'no error'})`,
    () => JSON.stringify(leaderRouters(world)) === expected || heldBack() ? true : undefined, 60_000, 20)
}

function leaderRouters (world: FaultWorld): Record<string, string> {
  const leader = world.leader()
  const rolling = leader.status().rollout?.state === 'rolling' ? leader.rolloutTrack.candidates.current() : undefined
  const body = (rolling ?? leader.latest.current())?.body
  return body === undefined ? {} : routersOf(body)
}

/** Promotes or aborts the rollout in progress, if there still is one (a gate may have ended it meanwhile). */
async function actOnRollout (world: FaultWorld, act: (leader: ReturnType<FaultWorld['leader']>) => Promise<unknown>): Promise<void> {
  try {
    await act(world.leader())
  } catch (err) {
    if (!(err instanceof NoRolloutError)) throw err
  }
}

type Command = fc.AsyncCommand<Model, FaultWorld>

/** A command whose check, run and name are given as functions. */
function command (name: string, check: (model: Readonly<Model>) => boolean, run: (model: Model, world: FaultWorld) => Promise<void>): Command {
  return {
    check,
    async run (model, world) {
      await run(model, world)
      await checkInvariants(model, world)
    },
    toString: () => name
  }
}

/** A fragment change leaves a config with at least one router (the publisher refuses an empty one, by design). */
function keepsARouter (model: Readonly<Model>, name: string, next: { valid: boolean, variant: number } | undefined): boolean {
  const fragments = new Map(model.fragments)
  if (next === undefined) fragments.delete(name)
  else fragments.set(name, next)
  const lastGood = new Map(model.lastGood)
  if (next === undefined) lastGood.delete(name)
  return [...fragments].some(([fragment, { valid }]) => valid || lastGood.has(fragment))
}

const fragmentName = fc.constantFrom(...FRAGMENTS)

const rolloutCommands: Array<fc.Arbitrary<Command>> = [
  fragmentName.map(name => command(`edit ${name} → a backend nothing listens on`, model => model.rollouts, async (model, world) => {
    await world.writeFragment(name, await fragmentText(world, name, 0))
    model.fragments.set(name, { valid: true, variant: 0 })
    model.lastGood.set(name, 0)
    await leaderHas(model, world)
  })),
  fc.constant(command('promote the rollout to its next wave', model => model.rollouts, async (_model, world) => { await actOnRollout(world, async leader => await leader.promote(false)) })),
  fc.constant(command('promote the rollout to every edge', model => model.rollouts, async (_model, world) => { await actOnRollout(world, async leader => await leader.promote(true)) })),
  fc.constant(command('abort the rollout', model => model.rollouts, async (_model, world) => { await actOnRollout(world, async leader => await leader.abort()) }))
]

const commands: Array<fc.Arbitrary<Command>> = [
  ...rolloutCommands,
  fc.tuple(fragmentName, fc.integer({ min: 1, max: 9 })).map(([name, variant]) => command(`edit ${name} → server ${variant}`, () => true, async (model, world) => {
    await world.writeFragment(name, await fragmentText(world, name, variant))
    model.fragments.set(name, { valid: true, variant })
    model.lastGood.set(name, variant)
    await leaderHas(model, world)
  })),
  fragmentName.map(name => command(`break ${name}`, model => model.fragments.has(name) && keepsARouter(model, name, { valid: false, variant: 0 }), async (model, world) => {
    await world.writeFragment(name, `http: [${name} is broken\n`)
    model.fragments.set(name, { valid: false, variant: 0 })
    await leaderHas(model, world)
  })),
  fragmentName.map(name => command(`delete ${name}`, model => model.fragments.has(name) && keepsARouter(model, name, undefined), async (model, world) => {
    await world.deleteFragment(name)
    model.fragments.delete(name)
    model.lastGood.delete(name)
    await leaderHas(model, world)
  })),
  fc.constant(command('restart the leader', () => true, async (model, world) => {
    await world.restartLeader()
    await leaderHas(model, world)
  })),
  fc.constant(command('change leader', () => true, async (model, world) => {
    await world.changeLeader()
    await leaderHas(model, world)
  })),
  fc.integer({ min: 0, max: MAX_EDGES - 1 }).map(i => command(`restart edge-${i + 1}`, model => i < model.edges, async (_model, world) => {
    await world.restartEdge(`edge-${i + 1}`)
  })),
  fc.constant(command('an edge joins', model => model.edges < MAX_EDGES, async (model, world) => {
    await world.joinEdge()
    model.edges++
  })),
  fc.array(fc.boolean(), { minLength: MAX_EDGES + 1, maxLength: MAX_EDGES + 1 }).map(sides => command(`split into two groups ${sides.map(side => side ? 'B' : 'A').join('')} (publisher first)`, () => true, async (_model, world) => {
    const nodes = [PUBLISHER, ...world.edgeNames()]
    const pairs: Array<[string, string]> = []
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) if (sides[i] !== sides[j]) pairs.push([nodes[i] as string, nodes[j] as string])
    }
    await world.cut(pairs)
  })),
  fc.array(fc.boolean(), { minLength: MAX_EDGES, maxLength: MAX_EDGES }).map(chosen => command(`cut ${chosen.flatMap((on, i) => on ? [`edge-${i + 1}`] : []).join(', ') || 'no edge'} off from the publisher`, () => true, async (_model, world) => {
    await world.cut(world.edgeNames().filter((_, i) => chosen[i] === true).map(name => [PUBLISHER, name]))
  })),
  fc.constant(command('heal every cut', () => true, async (_model, world) => { world.healAll() })),
  fc.constantFrom(-HOUR_MS, 0, HOUR_MS).map(offset => command(`set the publishers' clock ${offset / HOUR_MS} h off`, () => true, async (_model, world) => { world.setClockOffset(offset) })),
  fc.constant(command('rotation 1: edges trust a new key too', model => model.rotation === 'none', async (model, world) => {
    world.trustNextKey()
    model.rotation = 'trusting-next'
  })),
  fc.constant(command('rotation 2: the publishers sign with the new key', model => model.rotation === 'trusting-next', async (model, world) => {
    await world.signWithNextKey()
    model.rotation = 'signing-next'
    await leaderHas(model, world)
  })),
  fc.constant(command('rotation 3: edges drop the old key', model => model.rotation === 'signing-next', async (model, world) => {
    world.dropOldKeys()
    model.rotation = 'none'
  }))
]

export interface FaultRunOptions {
  /** Versions go out in waves, and the sequences promote, abort and fail gates too. */
  rollouts?: boolean
  runs: number
  maxSteps: number
  seed: number
  /** Told of each sequence as it ends. */
  onSequence?: (steps: number, failed: boolean) => void
}

export interface FaultRunReport {
  seed: number
  runs: number
  sequences: number
  steps: number
  /** Versions that went out in waves (some released at once: no edge in a wave yet), and those rolled back. */
  rollouts: { inWaves: number, rolledBack: number }
  /** The shrunk failing sequence, with the seed and path that replay it. */
  failure?: { seed: number, path: string, steps: string[], error: string }
}

/**
 * Runs seeded, shrinkable random sequences of faults against a fresh world
 * each, checking the invariants after every step and, at the end, healing
 * everything and checking that every edge converges to what the fragments say.
 */
export async function runFaultSequences (options: FaultRunOptions): Promise<FaultRunReport> {
  let sequences = 0
  let steps = 0
  const waves = { inWaves: 0, rolledBack: 0 }
  // Sequences of at least half the maximum length: the faults worth finding need several steps to line up.
  const candidates = fc.array(fc.oneof(...commands), { minLength: Math.ceil(options.maxSteps / 2), maxLength: options.maxSteps })
  const property = fc.asyncProperty(candidates, async sequence => {
    const root = await mkdtemp(join(tmpdir(), 'dime-faults-'))
    const rollouts = options.rollouts === true
    const world = new FaultWorld(root, rollouts ? WORLD_ROLLOUTS : undefined)
    const model: Model = { fragments: new Map(), lastGood: new Map(), edges: START_EDGES, rotation: 'none', rollouts, steps: 0 }
    let failed = true
    try {
      for (const name of ['alpha', 'bravo']) {
        await world.writeFragment(name, await fragmentText(world, name, 1))
        model.fragments.set(name, { valid: true, variant: 1 })
        model.lastGood.set(name, 1)
      }
      await world.start(START_EDGES)
      await leaderHas(model, world)
      await fc.asyncModelRun(() => ({ model, real: world }), sequence)
      world.healAll()
      if (rollouts) await actOnRollout(world, async leader => await leader.promote(true))
      await checkInvariants(model, world)
      failed = false
    } finally {
      sequences++
      steps += model.steps
      waves.inWaves += [...world.rollouts.values()].filter(record => record.allowed.size > 0).length
      waves.rolledBack += [...world.rollouts.values()].filter(record => record.rolledBack).length
      options.onSequence?.(model.steps, failed)
      await world.stop()
      await rm(root, { recursive: true, force: true })
    }
  })
  const details = await fc.check(property, { seed: options.seed, numRuns: options.runs, endOnFailure: false, interruptAfterTimeLimit: 20 * 60_000 })
  const report: FaultRunReport = { seed: options.seed, runs: options.runs, sequences, steps, rollouts: waves }
  if (details.failed) {
    const counterexample = details.counterexample?.[0]
    report.failure = {
      seed: details.seed,
      path: details.counterexample === null ? '' : details.counterexamplePath ?? '',
      steps: (counterexample ?? []).map(step => step.toString()),
      error: String((details.errorInstance as Error | undefined)?.message ?? 'unknown')
    }
  }
  return report
}
