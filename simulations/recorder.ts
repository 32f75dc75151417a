import type { Publisher } from '../cluster-publisher/create-publisher.js'
import { sha256Hex, type Envelope } from '../node/envelope.js'
import type { Edge } from '../edge-subscriber/create-edge.js'

/** An edge started serving a config (from the mesh, or restored from disk). */
export interface ServedChange { t: number, edge: string, version: number, sha: string, origin: string }
/** The publisher signed a new version. */
export interface Published { t: number, version: number, sha: string }
/** What an edge's /config answered when sampled over HTTP. */
export interface Sample { t: number, edge: string, status: number, sha?: string }
/** A period something was cut. */
export interface Window { label: string, start: number, end?: number }
/** A moment worth marking (a kill, a restart, a join; a rollout's steps and verdict). */
export interface Mark { t: number, label: string }
/** From `from` on, these edges must serve `version` or newer within `boundMs`. */
export interface Expectation { label: string, edges: string[], version: number, from: number, boundMs: number }

export interface RunRecord {
  scenario: string
  nodes: number
  seed: number
  durationMs: number
  served: ServedChange[]
  published: Published[]
  samples: Sample[]
  windows: Window[]
  marks: Mark[]
  /** Each step of a rollout as the publisher signed it: a wave reached, complete, rolled back. */
  rolloutSteps: Mark[]
  /** Versions whose rollout was rolled back. */
  rolledBack: number[]
  expectations: Expectation[]
  errors: string[]
}

const SAMPLE_EVERY_MS = 250

/** Collects everything that happens in a run, in milliseconds since it started. */
export class Recorder {
  readonly served: ServedChange[] = []
  readonly published: Published[] = []
  readonly samples: Sample[] = []
  readonly windows: Window[] = []
  readonly marks: Mark[] = []
  readonly rolloutSteps: Mark[] = []
  readonly rolledBack: number[] = []
  readonly expectations: Expectation[] = []
  readonly errors: string[] = []
  private readonly startedAt = Date.now()
  private readonly timers: NodeJS.Timeout[] = []

  now (): number {
    return Date.now() - this.startedAt
  }

  watchEdge (name: string, edge: Edge): void {
    edge.onServing((envelope, origin) => {
      this.served.push({ t: this.now(), edge: name, version: envelope.head.version, sha: envelope.head.bodySha256, origin })
    })
  }

  /** Every version the publisher holds as newest (the ones it signs, any it learns from the mesh), those it rolls out, and each step of their rollouts. */
  watchPublisher (publisher: Publisher): void {
    const signed = (envelope: Envelope): void => {
      if (!this.published.some(p => p.version === envelope.head.version)) this.published.push({ t: this.now(), version: envelope.head.version, sha: envelope.head.bodySha256 })
    }
    publisher.latest.onAccepted(signed)
    publisher.rolloutTrack.candidates.onAccepted(signed)
    let last = ''
    publisher.rolloutTrack.onChange(() => {
      const head = publisher.rolloutTrack.head()
      if (head === undefined) return
      const step = head.state === 'rolling' ? `wave ${head.waves[head.reached - 1]?.name ?? head.reached} reached` : head.state
      const label = `v…${String(head.version).slice(-5)} ${step}`
      if (label === last) return
      last = label
      this.rolloutSteps.push({ t: this.now(), label })
      if (head.state === 'rolled-back') this.rolledBack.push(head.version)
    })
  }

  /** Samples every running edge's /config over HTTP, as Traefik would see it. */
  sampleEdges (running: () => Array<{ name: string, edge: Edge }>): void {
    this.timers.push(setInterval(() => {
      for (const { name, edge } of running()) {
        const url = edge.serveUrl()
        if (url === undefined) continue
        fetch(`${url}/config`).then(async response => {
          const body = Buffer.from(await response.arrayBuffer())
          this.samples.push({ t: this.now(), edge: name, status: response.status, ...(response.status === 200 ? { sha: sha256Hex(body) } : {}) })
        }, () => {})
      }
    }, SAMPLE_EVERY_MS))
  }

  mark (label: string): void {
    this.marks.push({ t: this.now(), label })
  }

  open (label: string): () => void {
    const window: Window = { label, start: this.now() }
    this.windows.push(window)
    return () => { window.end = this.now() }
  }

  expect (label: string, edges: string[], version: number, boundMs: number): void {
    this.expectations.push({ label, edges, version, from: this.now(), boundMs })
  }

  /** Whether every edge of every expectation has served its version (or a newer one). */
  allMet (): boolean {
    return this.expectations.every(expectation => expectation.edges.every(edge =>
      this.served.some(change => change.edge === edge && change.version >= expectation.version)))
  }

  stop (): void {
    for (const timer of this.timers) clearInterval(timer)
  }

  record (scenario: string, nodes: number, seed: number): RunRecord {
    return {
      scenario, nodes, seed, durationMs: this.now(),
      served: this.served, published: this.published, samples: this.samples,
      windows: this.windows, marks: this.marks, rolloutSteps: this.rolloutSteps, rolledBack: this.rolledBack, expectations: this.expectations, errors: this.errors
    }
  }
}
