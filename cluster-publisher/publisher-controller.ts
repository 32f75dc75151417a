import { Gauge, type Counter, type Registry } from 'prom-client'
import { outcomeCounter } from '../node/metrics.js'
import { canonicalBytes } from '../node/canonical-json.js'
import type { LatestEnvelope } from '../node/latest-envelope.js'
import type { Logger } from '../node/logger.js'
import type { ConfigPublisher } from './config-publisher.js'
import { brokenFragments, buildDesiredConfig, countRouters, recoverLastGood, type FragmentReport, type FragmentStatus } from './desired-config.js'
import type { Fragment, SkippedObject } from './fragment-files.js'
import type { FragmentValidator } from './fragment-schema.js'
import type { JsonObject } from './json.js'
import type { FragmentSource } from './sources/fragment-source.js'
import type { HeldFragment, Pin, PublisherState } from './publisher-state.js'

function canonicalText (content: JsonObject | undefined): string {
  return content === undefined ? '' : new TextDecoder().decode(canonicalBytes(content))
}

/** Told of every fragment whose status or reason changed, and of routes that became pending. */
export interface FragmentReporter {
  fragmentChanged(report: FragmentReport, previous: FragmentReport | undefined): void
  routePending(pending: SkippedObject): void
  /** The mesh was pinned to a version (`dime pin`), or unpinned (undefined). */
  pinChanged(pin: Pin | undefined): void
}

export interface PublisherControllerComponents {
  source: Pick<FragmentSource, 'snapshot'>
  /** The newest envelope known: signed here, restored from the state store, or learned from the mesh. */
  latest: Pick<LatestEnvelope, 'current' | 'restore' | 'settled'>
  signer: Pick<ConfigPublisher, 'publish'>
  /** Asked what it holds when a broken fragment's last good content is not known here. */
  mesh: { syncWithPeers: () => Promise<number> }
  /**
   * The durable state the latest envelope is stored in (survives restarts, shared by the replicas),
   * with each fragment's last good content beside the envelope. Absent: the envelope is in memory only.
   */
  state?: Pick<PublisherState, 'loadLastGood' | 'loadPin' | 'loadHeld' | 'rewrite'> | undefined
}

export interface PublisherControllerInit {
  validate: FragmentValidator
  log: Logger
  registry: Registry
  reporters?: FragmentReporter[] | undefined
  /** Publish a config with no routers even when the published one has some. */
  allowEmpty?: boolean | undefined
}

/** How one sync ended. */
export type SyncOutcome =
  /** A new version was signed and announced. */
  | 'published'
  /** The config is what the newest envelope already holds. */
  | 'unchanged'
  /** A fragment is broken and its last good content is known neither here nor from the mesh yet: nothing is published. */
  | 'waiting-for-mesh'
  /** The build has no routers where the published config has some (see `allowEmpty`). */
  | 'refused-empty'

/**
 * The publisher's reconcile logic, as a Kubernetes controller's sync handler:
 * each `sync()` recomputes the whole config from the source's current view and
 * publishes it when its bytes changed. A broken fragment keeps its last good
 * content. At the start of a term of leadership that content is not in
 * memory: it is restored exactly from the durable state, or else recovered
 * from the newest config known (what that config holds beyond the fragments
 * that are fine now), restored or learned from the mesh. Until one of those is known,
 * a build with a broken fragment is held back rather than published without
 * what that fragment last contributed; a build where every fragment is fine
 * needs nothing recovered and goes out at once.
 */
export class PublisherController {
  private readonly reporters: FragmentReporter[]
  private lastGood: ReadonlyMap<string, JsonObject> = new Map()
  private newestKnown = false
  private recovered = false
  private fragments: FragmentReport[] = []
  private skipped: SkippedObject[] = []
  private pending: SkippedObject[] = []
  private published = false
  private lastError: string | null = null
  private pin: (Pin & { config: JsonObject }) | undefined
  /** Fragments whose change failed its rollout: while a fragment still says that, its content before the change is built instead. */
  private held = new Map<string, HeldFragment>()
  private readonly metrics: ReturnType<typeof controllerMetrics>

  constructor (private readonly components: PublisherControllerComponents, private readonly init: PublisherControllerInit) {
    this.reporters = init.reporters ?? []
    this.metrics = controllerMetrics(init.registry)
  }

  /**
   * Starts a term of leadership: what was remembered of fragments is dropped,
   * and the state store is read again (another replica may have published
   * since). Restored from a durable store, the newest config is known at once.
   */
  async beginTerm (): Promise<void> {
    this.lastGood = new Map()
    this.recovered = false
    this.published = false
    const notRestored = await this.components.latest.restore()
    if (notRestored !== undefined) this.init.log.info({ reason: notRestored }, 'publisher state not restored')
    const { state } = this.components
    this.newestKnown = state !== undefined && this.components.latest.current() !== undefined
    const remembered = this.newestKnown ? await state?.loadLastGood() : undefined
    const pin = this.newestKnown ? await state?.loadPin() : undefined
    this.held = new Map(Object.entries((this.newestKnown ? await state?.loadHeld() : undefined) ?? {}))
    const config = pin === undefined ? undefined : this.previousConfig()
    this.setPin(pin === undefined || config === undefined ? undefined : { ...pin, config })
    // While pinned the body is the pinned version's, which the contents need not rebuild.
    if (remembered !== undefined && (this.pin !== undefined || this.rebuilds(remembered))) {
      this.lastGood = new Map(Object.entries(remembered))
      this.recovered = true
    }
  }

  /**
   * Holds the mesh at an earlier version's config (its canonical body), which
   * the next sync signs anew as the newest version, whatever the fragments
   * do, until `unpin`. The durable state takes the pin with that envelope
   * (so it never names a pin beside another config), or at once when the
   * newest config is that one already.
   */
  async pinTo (version: number, body: Uint8Array): Promise<Pin> {
    const pin = { version, since: new Date().toISOString() }
    this.setPin({ ...pin, config: JSON.parse(new TextDecoder().decode(body)) as JsonObject })
    if (Buffer.from(body).equals(this.components.latest.current()?.body ?? new Uint8Array())) await this.components.state?.rewrite()
    return pin
  }

  /** Lifts the pin (false when there was none); the next sync builds from the fragments again. */
  async unpin (): Promise<boolean> {
    if (this.pin === undefined) return false
    this.setPin(undefined)
    await this.components.state?.rewrite()
    return true
  }

  pinned (): Pin | undefined {
    return this.pin === undefined ? undefined : { version: this.pin.version, since: this.pin.since }
  }

  private setPin (pin: (Pin & { config: JsonObject }) | undefined): void {
    const changed = pin?.version !== this.pin?.version || pin?.since !== this.pin?.since
    this.pin = pin
    this.metrics.pinned.set(pin?.version ?? 0)
    if (changed) for (const reporter of this.reporters) reporter.pinChanged(this.pinned())
  }

  /** Each fragment's last good content, as kept beside the envelope it went into. */
  lastGoodContent (): ReadonlyMap<string, JsonObject> {
    return this.lastGood
  }

  /**
   * A rollout failed: each fragment whose content differs between the failed
   * build and the one it was to replace is held at its content before (or
   * left out, if it is new) until it changes again, so the same change is
   * not rolled out again with the next edit of another fragment.
   */
  async holdBack (failed: ReadonlyMap<string, JsonObject>, before: ReadonlyMap<string, JsonObject>): Promise<string[]> {
    const changed = [...new Set([...failed.keys(), ...before.keys()])].filter(source => canonicalText(failed.get(source)) !== canonicalText(before.get(source)))
    for (const source of changed) {
      const bad = failed.get(source)
      if (bad === undefined) continue
      const good = before.get(source)
      this.held.set(source, { bad: canonicalText(bad), ...(good !== undefined ? { good } : {}) })
    }
    await this.components.state?.rewrite()
    return changed.filter(source => failed.has(source))
  }

  heldFragments (): ReadonlyMap<string, HeldFragment> {
    return this.held
  }

  /** The fragments as built: a held one that still says what failed gives its content before; one that changed again is let go. */
  private withHeld (fragments: readonly Fragment[]): Fragment[] {
    return fragments.flatMap(fragment => {
      const held = this.held.get(fragment.source)
      if (held === undefined || !('content' in fragment)) return [fragment]
      if (canonicalText(fragment.content) !== held.bad) {
        this.held.delete(fragment.source)
        return [fragment]
      }
      return held.good === undefined ? [] : [{ source: fragment.source, content: held.good }]
    })
  }

  /** Whether these contents, merged, give exactly the newest envelope's body (so they are what went into it). */
  private rebuilds (contents: Record<string, JsonObject>): boolean {
    const body = this.components.latest.current()?.body
    const fragments = Object.entries(contents).map(([source, content]) => ({ source, content }))
    const { config } = buildDesiredConfig(fragments, new Map(), () => undefined)
    return body !== undefined && Buffer.from(canonicalBytes(config)).equals(body)
  }

  /** A newer config arrived from the mesh: a build held back for want of it may go on. */
  learnedFromMesh (): void {
    this.newestKnown = true
  }

  /** Whether this term has not built yet, or its builds are held back until the mesh's newest config is known (a peer connecting may tell it). */
  waitingForMesh (): boolean {
    return !this.recovered
  }

  /** One rebuild; throws on a transient failure (the caller retries with backoff). */
  async sync (): Promise<SyncOutcome> {
    try {
      const outcome = await this.syncOnce()
      this.metrics.waiting.set(outcome === 'waiting-for-mesh' ? 1 : 0)
      this.metrics.reconciles.inc({ outcome })
      return outcome
    } catch (err) {
      this.metrics.reconciles.inc({ outcome: 'error' })
      this.lastError = (err as Error).message
      throw err
    }
  }

  private async syncOnce (): Promise<SyncOutcome> {
    const observed = await this.components.source.snapshot()
    const snapshot = { ...observed, fragments: this.withHeld(observed.fragments) }
    const { validate } = this.init
    if (this.pin !== undefined) {
      // The fragments' statuses stay current; what they last contributed is left as it was, for the unpin.
      this.observe(buildDesiredConfig(snapshot.fragments, this.lastGood, validate).fragments, snapshot.skipped, snapshot.pending)
      return await this.publish(this.pin.config)
    }
    const unrecovered = this.recovered ? [] : brokenFragments(snapshot.fragments, validate).filter(source => !this.lastGood.has(source))
    if (unrecovered.length > 0) {
      if (!this.newestKnown && await this.components.mesh.syncWithPeers() > 0) {
        await this.components.latest.settled()
        this.newestKnown = true
      }
      if (!this.newestKnown) {
        this.observe(buildDesiredConfig(snapshot.fragments, this.lastGood, validate).fragments, snapshot.skipped, snapshot.pending)
        this.lastError = `waiting for the mesh's newest config before publishing: ${unrecovered.join(', ')} ${unrecovered.length === 1 ? 'is' : 'are'} broken and what ${unrecovered.length === 1 ? 'it' : 'they'} last contributed is known only there`
        this.init.log.warn({ fragments: unrecovered }, this.lastError)
        return 'waiting-for-mesh'
      }
      const [carrier] = unrecovered
      const newest = this.previousConfig()
      if (newest !== undefined && carrier !== undefined) this.lastGood = recoverLastGood(snapshot.fragments, this.lastGood, newest, validate, carrier)
    }
    // From the first build of a term on, every fragment's last good content is remembered here.
    this.recovered = true

    const desired = buildDesiredConfig(snapshot.fragments, this.lastGood, validate)
    this.lastGood = desired.lastGood
    this.observe(desired.fragments, snapshot.skipped, snapshot.pending)

    const had = this.init.allowEmpty !== true && countRouters(desired.config) === 0 ? countRouters(this.previousConfig() ?? {}) : 0
    if (had > 0) {
      this.lastError = `not publishing a config with no routers in place of one with ${had} (pass --allow-empty to allow it)`
      this.init.log.warn({ routers: had }, this.lastError)
      return 'refused-empty'
    }
    return await this.publish(desired.config)
  }

  private async publish (config: JsonObject): Promise<SyncOutcome> {
    const result = await this.components.signer.publish(config, this.pin !== undefined)
    if (result.envelope !== undefined) this.metrics.version.set(result.envelope.head.version)
    this.published = true
    this.lastError = this.held.size > 0
      ? `held back after their change failed its rollout, until they change again: ${[...this.held.keys()].join(', ')} (their content before it is published)`
      : result.changed || result.heldBack !== true ? null : HELD_BACK
    if (!result.changed) return 'unchanged'
    this.init.log.info({ version: result.envelope.head.version, sha256: result.envelope.head.bodySha256, recipients: result.recipients }, 'config published')
    return 'published'
  }

  /** Parsed only when needed (recovery, or a build with no routers): a large config takes a while. */
  private previousConfig (): JsonObject | undefined {
    const previous = this.components.latest.current()
    return previous === undefined ? undefined : JSON.parse(new TextDecoder().decode(previous.body)) as JsonObject
  }

  /** Takes in a build's view of the fragments, telling the reporters of what changed. */
  private observe (next: FragmentReport[], skipped: SkippedObject[], nextPending: SkippedObject[]): void {
    const before = new Map(this.fragments.map(fragment => [fragment.source, fragment]))
    for (const fragment of next) {
      const old = before.get(fragment.source)
      if (old?.status === fragment.status && old.reason === fragment.reason) continue
      if (fragment.status === 'accepted' && old === undefined) continue
      for (const reporter of this.reporters) reporter.fragmentChanged(fragment, old)
    }
    const wasPending = new Set(this.pending.map(item => item.source))
    for (const item of nextPending) {
      if (!wasPending.has(item.source)) for (const reporter of this.reporters) reporter.routePending(item)
    }
    this.fragments = next
    this.skipped = skipped
    this.pending = nextPending
    this.metrics.pending.set(nextPending.length)
    for (const status of FRAGMENT_STATUSES) this.metrics.fragments.set({ status }, next.filter(fragment => fragment.status === status).length)
  }

  view (): { fragments: FragmentReport[], skipped: SkippedObject[], pending: SkippedObject[], published: boolean, lastError: string | null } {
    return { fragments: this.fragments, skipped: this.skipped, pending: this.pending, published: this.published, lastError: this.lastError }
  }
}

const HELD_BACK = 'this build failed its rollout and is held back: the last released config stays served until the fragments change'

const FRAGMENT_STATUSES: readonly FragmentStatus[] = ['accepted', 'kept-last-good', 'rejected']
const OUTCOMES: ReadonlyArray<SyncOutcome | 'error'> = ['published', 'unchanged', 'waiting-for-mesh', 'refused-empty', 'error']

/** Every label value is exported from the start, at 0: alerts and dashboards read 0 rather than nothing. */
function controllerMetrics (registry: Registry): { fragments: Gauge<'status'>, version: Gauge, pending: Gauge, waiting: Gauge, pinned: Gauge, reconciles: Counter<'outcome'> } {
  const registers = [registry]
  const reconciles = outcomeCounter('dime_publisher_reconciles_total',
    'Rebuilds by outcome: published, unchanged, waiting-for-mesh (a broken fragment\'s last good content not known yet), refused-empty (see --allow-empty), error (retried with backoff)',
    OUTCOMES, registry)
  const fragments = new Gauge({ name: 'dime_publisher_fragments', help: 'Fragments by status in the latest build', labelNames: ['status'] as const, registers })
  for (const status of FRAGMENT_STATUSES) fragments.set({ status }, 0)
  return {
    fragments,
    reconciles,
    version: new Gauge({ name: 'dime_publisher_config_version', help: 'Version of the newest config', registers }),
    pending: new Gauge({ name: 'dime_publisher_pending_routes', help: 'Annotated Services not routed yet (no LoadBalancer address)', registers }),
    waiting: new Gauge({ name: 'dime_publisher_waiting_for_mesh', help: '1 while a broken fragment\'s last good content is known only to the mesh and nothing is published', registers }),
    pinned: new Gauge({ name: 'dime_publisher_pinned_version', help: 'The version the mesh is pinned to (dime pin), 0 when not pinned', registers })
  }
}
