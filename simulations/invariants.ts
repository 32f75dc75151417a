import type { Expectation, RunRecord } from './recorder.js'

export interface Convergence {
  label: string
  /** Per edge, milliseconds from the expectation to serving the version (null: never). */
  edges: Record<string, number | null>
  worstMs: number | null
  boundMs: number
}

export interface Verdict {
  /** Broken invariants, and expectations never met: a failed run, however fast the machine. */
  violations: string[]
  /** Expectations met, but later than their bound: a measurement, reported by `npm run simulate`. */
  late: string[]
  convergence: Convergence[]
}

/**
 * The invariants every run must keep (DESIGN.md): no edge serves a config the
 * publisher did not sign; none steps back to an older version; none answers
 * anything but 200 once it has served a config; every expectation of
 * convergence is met; nothing crashed. Whether it was met within its bound
 * depends on the machine as much as on the code, so it is reported apart.
 */
export function checkRun (run: RunRecord): Verdict {
  const violations: string[] = [...run.errors.map(error => `crash: ${error}`)]
  const signed = new Map(run.published.map(p => [p.version, p.sha]))
  const signedShas = new Set(run.published.map(p => p.sha))

  for (const change of run.served) {
    if (signed.get(change.version) !== change.sha) {
      violations.push(`${change.edge} served version ${change.version} (${change.sha.slice(0, 12)}), which the publisher never signed`)
    }
  }
  const highest = new Map<string, number>()
  for (const change of run.served) {
    const before = highest.get(change.edge) ?? 0
    if (change.version < before) violations.push(`${change.edge} went back from version ${before} to ${change.version} at ${change.t} ms`)
    highest.set(change.edge, Math.max(before, change.version))
  }
  const servedOnce = new Set<string>()
  for (const sample of run.samples.sort((a, b) => a.t - b.t)) {
    if (sample.status === 200) {
      servedOnce.add(sample.edge)
      if (sample.sha !== undefined && !signedShas.has(sample.sha)) violations.push(`${sample.edge} answered bytes the publisher never signed at ${sample.t} ms`)
    } else if (servedOnce.has(sample.edge)) {
      violations.push(`${sample.edge} answered ${sample.status} at ${sample.t} ms after it had served a config`)
    }
  }
  const convergence = run.expectations.map(expectation => converged(run, expectation))
  const late: string[] = []
  for (const result of convergence) {
    for (const [edge, ms] of Object.entries(result.edges)) {
      if (ms === null) violations.push(`${result.label}: ${edge} never served the expected version`)
      else if (ms > result.boundMs) late.push(`${result.label}: ${edge} took ${ms} ms (bound ${result.boundMs} ms)`)
    }
  }
  return { violations, late, convergence }
}

function converged (run: RunRecord, expectation: Expectation): Convergence {
  const edges: Record<string, number | null> = {}
  for (const edge of expectation.edges) {
    const reached = run.served.find(change => change.edge === edge && change.version >= expectation.version)
    edges[edge] = reached === undefined ? null : Math.max(0, reached.t - expectation.from)
  }
  const times = Object.values(edges)
  return {
    label: expectation.label,
    edges,
    worstMs: times.includes(null) ? null : Math.max(0, ...times as number[]),
    boundMs: expectation.boundMs
  }
}
