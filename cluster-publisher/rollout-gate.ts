import type { EdgeReport } from './fleet.js'

/**
 * A proxy that fetched nothing for this long before a wave was reached was
 * silent already: its silence after is reported, not held against the change
 * (Traefik's HTTP provider polls every 5 s by default).
 */
export const PROXY_SILENT_MS = 30_000

/** One edge of a wave, as the gate sees it. */
export interface EdgeVerdict {
  readonly peerId: string
  readonly name: string | null
  readonly verdict: 'healthy' | 'unhealthy' | 'waiting'
  /** Why it is not healthy yet, or what was seen but not held against the change. */
  readonly reason: string | null
}

export interface GateResult {
  /** pass: every edge healthy at the end of the bake; fail: an edge reported a failure, or the bake ended without every edge healthy. */
  readonly outcome: 'pass' | 'fail' | 'wait'
  readonly edges: EdgeVerdict[]
}

/** Where a wave stands in time: its bake over; the time its edges had to report over (never shorter than the bake). */
export interface WaveClock {
  readonly reachedAt: number
  readonly now: number
  readonly bakeOver: boolean
  readonly reportsDue: boolean
}

/**
 * Judges one wave of the rollout of `version` at a moment of its clock. An edge is healthy when it
 * serves the version, reported its backends healthy for it, and its proxy
 * fetched it (unless that proxy was silent before). Health is judged against
 * the edge before the change: a backend already down, or a proxy already
 * silent, is reported and does not block. A failure reported fails the wave
 * at once; missing reports fail it only once reports are due.
 */
export function judgeWave (version: number, wave: readonly string[], reports: ReadonlyMap<string, EdgeReport>, clock: WaveClock): GateResult {
  const edges = wave.map(peerId => judgeEdge(version, peerId, reports.get(peerId), clock.now - clock.reachedAt, clock.reportsDue))
  const outcome = edges.some(edge => edge.verdict === 'unhealthy') ? 'fail' : clock.bakeOver && edges.every(edge => edge.verdict === 'healthy') ? 'pass' : 'wait'
  return { outcome, edges }
}

function judgeEdge (version: number, peerId: string, report: EdgeReport | undefined, sinceReachedMs: number, reportsDue: boolean): EdgeVerdict {
  const name = report?.name ?? null
  const verdict = (state: EdgeVerdict['verdict'], reason: string | null): EdgeVerdict => ({ peerId, name, verdict: state, reason })
  const late = (reason: string): EdgeVerdict => verdict(reportsDue ? 'unhealthy' : 'waiting', reason)
  if (report === undefined) return late('has not reported')
  if (report.health?.version === version && !report.health.healthy) {
    const reasons = [
      ...report.health.failing.length > 0 ? [`backends that do not answer from this edge: ${report.health.failing.join(', ')}`] : [],
      ...(report.health.errors ?? []).length > 0 ? [`more 5xx than before the change: ${(report.health.errors ?? []).join('; ')}`] : []
    ]
    return verdict('unhealthy', reasons.join('; '))
  }
  if (report.missing) return late(`silent for ${report.lastSeenSecondsAgo} s`)
  if (report.version === null || report.version < version) return late(`serves version ${report.version ?? 'none'}, not ${version}`)
  if (report.health === null || report.health.version < version) return late(`has not reported its backends' health for version ${version}`)
  const notes: string[] = []
  if (report.health.alreadyDown.length > 0) notes.push(`down before the change too: ${report.health.alreadyDown.join(', ')}`)
  const fetch = proxyFetch(version, report, sinceReachedMs)
  if (fetch.waiting !== undefined) return late(fetch.waiting)
  if (fetch.note !== undefined) notes.push(fetch.note)
  return verdict('healthy', notes.length > 0 ? notes.join('; ') : null)
}

function proxyFetch (version: number, report: EdgeReport, sinceReachedMs: number): { waiting?: string, note?: string } {
  if (report.fetchedVersion === null || report.fetchedSecondsAgo === null) return { note: 'its proxy has not fetched the config since the edge started (not held against the change)' }
  if (report.fetchedVersion >= version) return {}
  if (report.fetchedSecondsAgo * 1000 > sinceReachedMs + PROXY_SILENT_MS) return { note: `its proxy was silent before the change (last fetch ${report.fetchedSecondsAgo} s ago; not held against it)` }
  return { waiting: `its proxy has not fetched version ${version} (it last fetched ${report.fetchedVersion})` }
}
