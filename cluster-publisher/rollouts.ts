import { Counter, Gauge, type Registry } from 'prom-client'
import { outcomeCounter } from '../node/metrics.js'
import { peekHead, type Envelope } from '../node/envelope.js'
import type { Logger } from '../node/logger.js'
import { sealRolloutHead, type RolloutState } from '../node/rollout-head.js'
import type { RolloutTrack } from '../node/rollout-track.js'
import type { SigningKey } from '../node/signing-keys.js'
import type { EdgeReport } from './fleet.js'
import { judgeWave, type EdgeVerdict } from './rollout-gate.js'
import { hasLabels, parseRolloutPolicy, planWaves, RolloutPolicyError, type PlannedWave, type PolicyDocument, type RolloutPolicy } from './rollout-policy.js'

/** How often the gate of the wave baking is judged. */
export const GATE_CHECK_INTERVAL_MS = 500

/** `dime rollout promote` or `abort` with nothing to act on. */
export class NoRolloutError extends Error {
  override readonly name: string = 'NoRolloutError'
}

export interface WaveStatus {
  readonly name: string
  readonly bakeMs: number
  readonly edges: EdgeVerdict[]
  /** When the wave was reached (its edges could serve the version); null until then. */
  readonly reachedAt: string | null
}

/** A rollout as `dime rollout`, `/status` and the fleet page show it. */
export interface RolloutStatus {
  readonly version: number
  /** The released version it replaces, if any. */
  readonly from: number | null
  readonly bodySha256: string
  readonly state: RolloutState | 'superseded'
  readonly waves: WaveStatus[]
  /** How many waves are reached. */
  readonly reached: number
  /** Waves of the policy that took no edge. */
  readonly skipped: string[]
  /** Edges of an earlier release, or in no wave: they get the version when the rollout completes. */
  readonly last: string[]
  readonly startedAt: string
  /** When the wave baking now may pass its gate; null unless rolling. */
  readonly bakeEndsAt: string | null
  readonly endedAt: string | null
  /** Why it ended as it did (failed gate, abort, promote --all, superseded). */
  readonly reason: string | null
}

/** Told of every rollout that ends (the Kubernetes wiring records Events), with the fragments it changed. */
export interface RolloutReporter {
  rolloutEnded(rollout: RolloutStatus, changedFragments: string[]): void
}

/** What the durable state keeps of a rollout, so a restart or a new leader carries on where it was. */
/** The policy in force and where it came from, and why the last document was refused (the last good one stays in force). */
export interface PolicyStatus {
  readonly where: string | null
  readonly waves: string[]
  readonly error: string | null
}

export interface SavedRollout {
  readonly candidate: Uint8Array
  readonly from: number | null
  readonly waves: ReadonlyArray<PlannedWave & { readonly reachedAt: number | null }>
  readonly reached: number
  readonly skipped: string[]
  readonly last: string[]
  readonly startedAt: number
  readonly state: RolloutStatus['state']
  readonly endedAt: number | null
  readonly reason: string | null
  readonly failedBodySha256: string | null
  readonly lastIssuedAt: number
}

export interface RolloutsComponents {
  track: RolloutTrack
  /** The fleet as last heard from. */
  edges: () => EdgeReport[]
  /** Gossips a signed rollout head. */
  publishHead: (bytes: Uint8Array) => Promise<number>
  /** The version in rollout as a head carries it (small ones), for the head that starts the rollout. */
  carried: () => Promise<Uint8Array | undefined>
  /** Releases the version to every edge, an earlier release's too (the released track). */
  release: (envelope: Envelope) => Promise<void>
  /** Serves the last version that completed its rollout again, signed above `failed`. */
  rollBack: (failed: Envelope) => Promise<void>
  /** Keeps the rollout in the durable state (after every step). */
  persist: () => Promise<void>
  /** Told when a rollout ends: complete, rolled back or superseded. */
  ended: (rollout: RolloutStatus) => void
}

export interface RolloutsInit {
  signingKey: SigningKey
  log: Logger
  registry: Registry
  /** How often the head of the rollout in progress is gossiped again (gossip does not replay a message a node missed). */
  reannounceMs: number
  /**
   * How long an edge has to report on a version before its silence counts
   * against the wave (when the bake is shorter), after the wave is reached
   * and after taking over a rollout (a restart, a new leader): edges report
   * within an announce interval.
   */
  reportGraceMs: number
  now?: (() => number) | undefined
}

interface Running {
  envelope: Envelope
  from: number | null
  waves: Array<Omit<PlannedWave, 'edges'> & { edges: string[], reachedAt: number | null, verdicts: EdgeVerdict[] }>
  reached: number
  skipped: string[]
  last: string[]
  startedAt: number
  state: RolloutStatus['state']
  endedAt: number | null
  reason: string | null
}

/**
 * Rolls each new version out wave by wave under the policy: the first wave
 * is reached at once, each next one once every edge of the wave before it
 * reports healthy at the end of its bake; then the version is released to
 * all. A failed gate, or an abort, serves the last released config again
 * (signed above the failed version) and holds the failed config back until
 * the fragments change. Which edges may serve the version travels in signed
 * rollout heads; a promotion signs a new head, never the body again.
 */
export class Rollouts {
  private policy: RolloutPolicy | undefined
  private policyWhere: string | null = null
  private policyError: string | null = null
  /** The document last taken (a source may tell of changes that are not to it). */
  private policyDocument: PolicyDocument | undefined
  private running: Running | undefined
  /** The body of the last rollout that failed: the same build is not rolled out again. */
  private failedBodySha256: string | undefined
  private lastIssuedAt = 0
  private resumedAt = -Infinity
  private timer: NodeJS.Timeout | undefined
  private reannouncing: NodeJS.Timeout | undefined
  private judging: Promise<void> | undefined
  private readonly now: () => number
  private readonly metrics: ReturnType<typeof rolloutMetrics>

  constructor (private readonly components: RolloutsComponents, private readonly init: RolloutsInit) {
    this.now = init.now ?? Date.now
    this.metrics = rolloutMetrics(init.registry)
  }

  /**
   * Takes the policy document as it is now: a good one is in force for the
   * next version; one that cannot be read or used is refused, said so, and
   * the last good one stays in force. No document: no policy.
   */
  usePolicy (document: PolicyDocument | undefined): void {
    if (JSON.stringify(document) === JSON.stringify(this.policyDocument)) return
    this.policyDocument = document
    if (document === undefined) {
      if (this.policy !== undefined) this.init.log.info({ where: this.policyWhere }, 'the rollout policy is gone: every new version goes to every edge at once')
      this.policy = undefined
      this.policyWhere = null
      this.policyError = null
      return
    }
    let policy: RolloutPolicy
    try {
      if ('unreadable' in document) throw new RolloutPolicyError(`${document.where}: ${document.unreadable}`)
      policy = parseRolloutPolicy(document.text, document.where)
    } catch (err) {
      if (!(err instanceof RolloutPolicyError)) throw err
      this.policyError = `${err.message}; ${this.policy === undefined ? 'no policy is in force' : `the last good policy (${this.policyWhere ?? ''}) stays in force`}`
      this.init.log.warn({ where: document.where }, this.policyError)
      return
    }
    this.policy = policy
    this.policyWhere = document.where
    this.policyError = null
    this.init.log.info({ where: document.where, waves: policy.waves.map(wave => wave.name) }, 'rollout policy in force')
  }

  policyStatus (): PolicyStatus {
    return { where: this.policyWhere, waves: this.policy?.waves.map(wave => wave.name) ?? [], error: this.policyError }
  }

  /** Whether new versions go out in waves. */
  inWaves (): boolean {
    return this.policy !== undefined
  }

  /** Whether this build is the one whose rollout failed last (held back until the fragments change). */
  heldBack (bodySha256: string): boolean {
    return bodySha256 === this.failedBodySha256
  }

  /** The version in rollout, while it is one. */
  rolling (): Envelope | undefined {
    return this.running?.state === 'rolling' ? this.running.envelope : undefined
  }

  status (): RolloutStatus | undefined {
    const run = this.running
    if (run === undefined) return undefined
    const baking = run.state === 'rolling' ? run.waves[run.reached - 1] : undefined
    return {
      version: run.envelope.head.version,
      from: run.from,
      bodySha256: run.envelope.head.bodySha256,
      state: run.state,
      waves: run.waves.map(wave => ({
        name: wave.name,
        bakeMs: wave.bakeMs,
        edges: wave.reachedAt === null ? this.waiting(wave.edges, 'wave not reached') : wave.verdicts,
        reachedAt: wave.reachedAt === null ? null : new Date(wave.reachedAt).toISOString()
      })),
      reached: run.reached,
      skipped: run.skipped,
      last: run.last,
      startedAt: new Date(run.startedAt).toISOString(),
      bakeEndsAt: baking?.reachedAt == null ? null : new Date(baking.reachedAt + baking.bakeMs).toISOString(),
      endedAt: run.endedAt === null ? null : new Date(run.endedAt).toISOString(),
      reason: run.reason
    }
  }

  saved (): SavedRollout | undefined {
    const run = this.running
    if (run === undefined) return undefined
    const { envelope, waves, ...rest } = run
    return { ...rest, candidate: envelope.bytes, waves: waves.map(({ verdicts: _verdicts, ...wave }) => wave), failedBodySha256: this.failedBodySha256 ?? null, lastIssuedAt: this.lastIssuedAt }
  }

  /**
   * Carries on with a rollout from the durable state: its version is held
   * again, its head signed again as it stood (the bake goes on from when its
   * wave was reached), and its gate judged once edges had time to report here.
   */
  async resume (saved: SavedRollout): Promise<void> {
    const { track } = this.components
    if (track.candidates.highestVersion() < peekVersion(saved.candidate)) track.candidates.offer(saved.candidate, 'state')
    await track.candidates.settled()
    const envelope = track.candidates.current()
    if (envelope === undefined || !Buffer.from(envelope.bytes).equals(saved.candidate)) {
      this.init.log.warn('the stored rollout\'s version could not be held again; it is not carried on')
      return
    }
    const { candidate: _candidate, failedBodySha256, lastIssuedAt, ...run } = saved
    this.running = { ...run, envelope, waves: saved.waves.map(wave => ({ ...wave, edges: [...wave.edges], verdicts: [] })) }
    this.failedBodySha256 = failedBodySha256 ?? undefined
    this.lastIssuedAt = lastIssuedAt
    this.resumedAt = this.now()
    this.metrics.wave.set(run.state === 'rolling' ? run.reached : 0)
    this.init.log.info({ version: envelope.head.version, state: run.state, reached: run.reached }, 'rollout carried on from the stored state')
    await this.signHead(this.running, run.state === 'superseded' ? 'rolled-back' : run.state)
  }

  /** Every edge of a wave as waiting, for this reason, by name where it gave one. */
  private waiting (peers: readonly string[], reason: string): EdgeVerdict[] {
    const names = new Map(this.components.edges().map(edge => [edge.peerId, edge.name]))
    return peers.map(peerId => ({ peerId, name: names.get(peerId) ?? null, verdict: 'waiting', reason }))
  }

  start (): void {
    this.timer = setInterval(() => { void this.check() }, GATE_CHECK_INTERVAL_MS)
    this.reannouncing = setInterval(() => { this.reannounce() }, this.init.reannounceMs)
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    clearInterval(this.reannouncing)
    await this.judging
  }

  /**
   * Starts the rollout of a version just signed (held already in the track):
   * the edges that take rollouts are planned into waves, and the first wave
   * reached. A rollout still running is superseded. With no edge in any
   * wave, the version is released at once.
   */
  async begin (envelope: Envelope, released: Envelope | undefined): Promise<void> {
    const policy = this.policy
    if (policy === undefined) throw new TypeError('no rollout policy')
    if (this.running?.state === 'rolling') this.end('superseded', `superseded by version ${envelope.head.version}`)
    const reports = this.components.edges().filter(edge => !edge.missing)
    const plan = planWaves(policy, reports.filter(edge => edge.takesRollouts))
    const last = [...plan.rest, ...reports.filter(edge => !edge.takesRollouts).map(edge => edge.peerId)]
    const now = this.now()
    this.running = {
      envelope,
      from: released?.head.version ?? null,
      waves: plan.waves.map(wave => ({ ...wave, edges: [...wave.edges], reachedAt: null, verdicts: [] })),
      reached: 0,
      skipped: [...plan.skipped],
      last,
      startedAt: now,
      state: 'rolling',
      endedAt: null,
      reason: null
    }
    this.metrics.started.inc()
    if (plan.skipped.length > 0) this.init.log.info({ version: envelope.head.version, skipped: plan.skipped }, 'waves that take no edge are skipped')
    await this.reachNext()
  }

  /** Reaches the next wave now (`dime rollout promote`), or releases to every edge (`--all`). */
  async promote (all: boolean): Promise<RolloutStatus> {
    const run = this.running
    if (run?.state !== 'rolling') throw new NoRolloutError(this.nothingRolling('promote'))
    if (all) await this.complete('promoted to every edge by the operator (promote --all)')
    else await this.reachNext()
    return this.status() as RolloutStatus
  }

  /** Rolls the version back now (`dime rollout abort`). */
  async abort (): Promise<RolloutStatus> {
    if (this.running?.state !== 'rolling') throw new NoRolloutError(this.nothingRolling('abort'))
    await this.fail('aborted by the operator')
    return this.status() as RolloutStatus
  }

  /** A version published outside the waves (a pin) ends the rollout running: the pin wins. */
  async overridden (reason: string): Promise<void> {
    if (this.running?.state !== 'rolling') return
    const run = this.running
    this.end('superseded', reason)
    await this.signHead(run, 'rolled-back')
  }

  /**
   * The head of the rollout in progress, again (without a body: a node that
   * missed it pulls the version): a wave's edge that missed the step would
   * otherwise wait for its peers' next connection, and its wave fail for its
   * silence. Nodes relay a head they hold already without writing anything.
   */
  private reannounce (): void {
    const bytes = this.components.track.headBytes()
    if (this.running?.state !== 'rolling' || bytes === undefined) return
    this.components.publishHead(bytes).catch((err: unknown) => { this.init.log.debug({ err: (err as Error).message }, 'rollout head not sent again') })
  }

  private nothingRolling (action: string): string {
    const run = this.running
    return run === undefined
      ? `no rollout to ${action}: none has started since this publisher leads`
      : `no rollout to ${action}: the last one (version ${run.envelope.head.version}) is ${run.state}`
  }

  private async check (): Promise<void> {
    if (this.judging !== undefined) return
    this.judging = this.judge().catch((err: unknown) => {
      this.init.log.error({ err }, 'rollout gate check failed')
    }).finally(() => { this.judging = undefined })
    await this.judging
  }

  private async judge (): Promise<void> {
    const run = this.running
    if (run?.state !== 'rolling') return
    const wave = run.waves[run.reached - 1]
    if (wave?.reachedAt == null) return
    await this.admitNewEdges(run)
    const now = this.now()
    const reports = new Map(this.components.edges().map(edge => [edge.peerId, edge]))
    // Edges have at least the report grace to report, after the wave is reached and after a takeover.
    const reportsDue = now >= Math.max(wave.reachedAt + Math.max(wave.bakeMs, this.init.reportGraceMs), this.resumedAt + this.init.reportGraceMs)
    const gate = judgeWave(run.envelope.head.version, wave.edges, reports, { reachedAt: wave.reachedAt, now, bakeOver: now >= wave.reachedAt + wave.bakeMs, reportsDue })
    wave.verdicts = gate.edges
    if (gate.outcome === 'pass') await this.reachNext()
    else if (gate.outcome === 'fail') {
      const failed = gate.edges.filter(edge => edge.verdict === 'unhealthy').map(edge => `${edge.name ?? edge.peerId}: ${edge.reason ?? ''}`)
      await this.fail(`wave "${wave.name}" failed its health gate: ${failed.join('; ')}`)
    }
  }

  /**
   * An edge that joins during a rollout goes into the first wave whose labels
   * select it (waves by count or percent are full by then), or the last
   * wave; when that wave is reached already, a new head lets it serve the
   * version at once.
   */
  private async admitNewEdges (run: Running): Promise<void> {
    const policy = this.policy
    if (policy === undefined) return
    const known = new Set([...run.waves.flatMap(wave => wave.edges), ...run.last])
    const joined = this.components.edges().filter(edge => !edge.missing && !known.has(edge.peerId))
    let reachedWaveGrew = false
    for (const edge of joined) {
      const chosen = edge.takesRollouts
        ? policy.waves.find(wave => 'labels' in wave.select
          ? hasLabels(edge.labels, wave.select.labels)
          : 'rest' in wave.select)
        : undefined
      const index = run.waves.findIndex(wave => wave.name === chosen?.name)
      const wave = run.waves[index]
      if (wave === undefined) {
        run.last.push(edge.peerId)
        continue
      }
      wave.edges = [...wave.edges, edge.peerId]
      if (index < run.reached) {
        reachedWaveGrew = true
        wave.verdicts.push({ peerId: edge.peerId, name: edge.name, verdict: 'waiting', reason: 'joined during the rollout' })
      }
      this.init.log.info({ version: run.envelope.head.version, edge: edge.name ?? edge.peerId, wave: wave.name }, 'an edge joined during the rollout')
    }
    if (reachedWaveGrew) await this.signHead(run, 'rolling')
  }

  private async reachNext (): Promise<void> {
    const run = this.running
    if (run === undefined) return
    if (run.reached >= run.waves.length) {
      await this.complete(null)
      return
    }
    const wave = run.waves[run.reached]
    run.reached += 1
    if (wave !== undefined) {
      wave.reachedAt = this.now()
      wave.verdicts = this.waiting(wave.edges, 'wave just reached')
      this.init.log.info({ version: run.envelope.head.version, wave: wave.name, edges: wave.edges.length, bakeMs: wave.bakeMs }, 'rollout wave reached')
    }
    this.metrics.wave.set(run.reached)
    await this.signHead(run, 'rolling')
  }

  private async complete (reason: string | null): Promise<void> {
    const run = this.running
    if (run === undefined) return
    // Released before it stops rolling: a rebuild meanwhile finds it either in rollout or released, never neither.
    await this.components.release(run.envelope)
    this.end('complete', reason)
    await this.signHead(run, 'complete')
    this.init.log.info({ version: run.envelope.head.version }, 'rollout complete: released to every edge')
  }

  private async fail (reason: string): Promise<void> {
    const run = this.running
    if (run === undefined) return
    this.init.log.warn({ version: run.envelope.head.version, reason }, 'rollout failed: the last released config is served again, and this build is held back until the fragments change')
    this.end('rolled-back', reason)
    this.failedBodySha256 = run.envelope.head.bodySha256
    await this.components.rollBack(run.envelope)
    await this.signHead(run, 'rolled-back')
  }

  private end (state: RolloutStatus['state'], reason: string | null): void {
    const run = this.running
    if (run === undefined) return
    run.state = state
    run.reason = reason
    run.endedAt = this.now()
    this.metrics.wave.set(0)
    this.metrics.ended.inc({ outcome: state })
    const status = this.status()
    if (status !== undefined) this.components.ended(status)
  }

  /** Signs the rollout as it stands (`run`: the rollout the step was taken on, even if a newer one began meanwhile). */
  private async signHead (run: Running | undefined, state: RolloutState): Promise<void> {
    if (run === undefined) return
    // The head that starts a rollout carries a small body: the first wave needs no pull.
    const carried = state === 'rolling' && run.reached === 1 ? await this.components.carried() : undefined
    this.lastIssuedAt = Math.max(this.now(), this.lastIssuedAt + 1)
    const { bytes } = sealRolloutHead({
      version: run.envelope.head,
      waves: run.waves.map((wave, index) => ({ name: wave.name, peers: listed(state, index < run.reached, wave.edges) })),
      reached: run.reached,
      state,
      issuedAt: new Date(this.lastIssuedAt)
    }, this.init.signingKey, carried)
    this.components.track.offerHead(bytes, 'self')
    // Kept and sent at once: written first, a promotion would wait for the disk. Should this
    // replica stop in between, the next leader re-signs the step before, and an edge that took
    // the version meanwhile keeps it (a signed head let it), as after any lost step.
    await Promise.all([this.components.persist(), this.components.publishHead(bytes)])
  }
}

const ENDINGS: ReadonlyArray<RolloutStatus['state']> = ['complete', 'rolled-back', 'superseded']

function rolloutMetrics (registry: Registry): { started: Counter, ended: Counter<'outcome'>, wave: Gauge } {
  const registers = [registry]
  const ended = outcomeCounter('dime_rollouts_ended_total',
    'Rollouts ended, by outcome: complete (released to every edge), rolled-back (a failed health gate or an abort), superseded (a newer version or a pin)',
    ENDINGS, registry)
  return {
    started: new Counter({ name: 'dime_rollouts_started_total', help: 'Rollouts started (a new version under a rollout policy)', registers }),
    ended,
    wave: new Gauge({ name: 'dime_rollout_waves_reached', help: 'Waves reached by the rollout in progress; 0 when none is', registers })
  }
}

function peekVersion (bytes: Uint8Array): number {
  try {
    return peekHead(bytes).version
  } catch {
    return 0
  }
}

/**
 * The peers a head lists for a wave: those of the waves reached while it
 * rolls, none otherwise. Every release decides who may serve from the
 * reached waves alone (`mayServe`), so the head of a canary wave is small
 * whatever the fleet's size, and complete and rolled-back heads list no one.
 */
function listed (state: RolloutState, reached: boolean, edges: readonly string[]): readonly string[] {
  return state === 'rolling' && reached ? edges : []
}
