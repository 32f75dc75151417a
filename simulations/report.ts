import type { FaultRunReport } from './faults.js'
import type { HealSummary } from './heal.js'
import type { Verdict } from './invariants.js'
import type { RunRecord } from './recorder.js'

const ROW = 18
const LEFT = 90
const WIDTH = 900
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac']

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

/**
 * A self-contained HTML page: a timeline per edge coloured by the version it
 * serves, partition windows shaded, marks (publishes, kills, restarts) as
 * lines, convergence per expectation, and the verdict.
 */
export function renderReport (run: RunRecord, verdict: Verdict): string {
  const edges = [...new Set(run.served.map(change => change.edge))].sort()
  const x = (t: number): number => LEFT + (t / Math.max(1, run.durationMs)) * (WIDTH - LEFT - 10)
  const versions = [...new Set(run.published.map(p => p.version))].sort((a, b) => a - b)
  const colour = (version: number): string => PALETTE[versions.indexOf(version) % PALETTE.length] ?? '#999'
  const top = 44
  const height = top + edges.length * ROW + 30

  const windows = run.windows.map(w => `<rect x="${x(w.start)}" y="${top - 6}" width="${Math.max(1, x(w.end ?? run.durationMs) - x(w.start))}" height="${edges.length * ROW + 6}" fill="#d62728" opacity="0.18"><title>${escape(w.label)}</title></rect>`)
  // Labels alternate between two lines so neighbouring events stay readable.
  const marks = run.marks.map((m, i) => `<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${top - 10 - (i % 2) * 12}" y2="${top + edges.length * ROW}" stroke="#555" stroke-dasharray="3,3"><title>${escape(m.label)} at ${m.t} ms</title></line><text x="${x(m.t) + 2}" y="${top - 12 - (i % 2) * 12}" font-size="9" fill="#555">${escape(m.label)}</text>`)
  const rows = edges.map((edge, i) => {
    const y = top + i * ROW
    const changes = run.served.filter(change => change.edge === edge)
    const bars = changes.map((change, j) => {
      const end = changes[j + 1]?.t ?? run.durationMs
      return `<rect x="${x(change.t)}" y="${y + 2}" width="${Math.max(1, x(end) - x(change.t))}" height="${ROW - 4}" fill="${colour(change.version)}"><title>${escape(edge)}: version ${change.version} from ${change.t} ms (${escape(change.origin.replace(/:.*/, ''))})</title></rect>`
    })
    return `<text x="4" y="${y + ROW - 5}" font-size="11">${escape(edge)}</text>${bars.join('')}`
  })
  const convergence = verdict.convergence.flatMap(c => {
    const times = Object.values(c.edges)
    const reachedAt = run.expectations.find(e => e.label === c.label)?.from ?? 0
    return c.worstMs === null ? [] : [`<circle cx="${x(reachedAt + c.worstMs)}" cy="${top + edges.length * ROW + 12}" r="4" fill="#2ca02c"><title>${escape(c.label)}: all converged after ${c.worstMs} ms (${times.length} edges)</title></circle>`]
  })
  const axis = [0, 0.25, 0.5, 0.75, 1].map(f => `<text x="${x(f * run.durationMs)}" y="${height - 4}" font-size="9" text-anchor="${f === 1 ? 'end' : 'middle'}">${Math.round(f * run.durationMs / 100) / 10} s</text>`)

  const summary = verdict.convergence.map(c => {
    const times = Object.values(c.edges).filter((ms): ms is number => ms !== null).sort((a, b) => a - b)
    const p50 = times[Math.floor(times.length / 2)]
    return `<tr><td>${escape(c.label)}</td><td>${Object.keys(c.edges).length}</td><td>${p50 ?? '–'}</td><td>${c.worstMs ?? 'never'}</td><td>${c.boundMs}</td><td>${c.worstMs !== null && c.worstMs <= c.boundMs ? 'ok' : 'MISSED'}</td></tr>`
  })
  const violations = verdict.violations.length === 0 ? '<p class="ok">No invariant violated.</p>' : `<ul class="bad">${verdict.violations.map(v => `<li>${escape(v)}</li>`).join('')}</ul>`

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(run.scenario)}: simulation report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:${WIDTH + 40}px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.ok{color:#2ca02c}.bad{color:#d62728}</style></head>
<body>
<h1>${escape(run.scenario)}</h1>
<p>${run.nodes} edges and a publisher, seed ${run.seed}, ${Math.round(run.durationMs / 100) / 10} s; ${run.published.length} versions published, ${run.served.length} changes served.</p>
${violations}
<h2>Timeline</h2>
<p>One row per edge, coloured by the version it serves; red bands are partitions; dashed lines are events; green dots mark when each expectation was met by every edge. Hover for details.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" role="img" aria-label="timeline">${windows.join('')}${rows.join('')}${marks.join('')}${convergence.join('')}${axis.join('')}</svg>
<h2>Convergence</h2>
<table><tr><th>expectation</th><th>edges</th><th>p50 ms</th><th>worst ms</th><th>bound ms</th><th></th></tr>${summary.join('')}</table>
</body></html>
`
}

/** The heal measurement as a page: per partition length, how long every edge took to converge after the heal, and what trying cost meanwhile. */
export function renderHealReport (edges: number, summaries: HealSummary[]): string {
  const rows = summaries.map(s => `<tr><td>${s.partitionMs / 1000} s</td><td>${s.rounds}</td><td>${s.samples}</td><td>${s.p50Ms}</td><td>${s.p99Ms}</td><td>${s.maxMs}</td><td>${s.dialsPerEdgePerMinute}</td></tr>`)
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>heal: simulation report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:900px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}</style></head>
<body>
<h1>Heal → converged</h1>
<p>A publisher and ${edges} edges as separate processes in network namespaces. The publisher's link goes down (packets dropped, as on a cut overlay route), a version is published on its side, and the link comes back after the partition; each edge's time from the heal to serving that version is one sample.</p>
<table><tr><th>partition</th><th>rounds</th><th>samples</th><th>p50 ms</th><th>p99 ms</th><th>max ms</th><th>bootstrap dials per edge per minute while cut off</th></tr>${rows.join('')}</table>
</body></html>
`
}

/** The fault sequences as a page: how many ran clean, and the shrunk failing one with what replays it. */
export function renderFaultsReport (report: FaultRunReport): string {
  const failure = report.failure === undefined
    ? '<p class="ok">Every invariant held after every step of every sequence.</p>'
    : `<div class="bad"><p>A sequence failed. Replay it with <code>npm run simulate -- faults --seed ${report.failure.seed}</code> (path ${escape(report.failure.path)}). Shrunk steps:</p><ol>${report.failure.steps.map(step => `<li>${escape(step)}</li>`).join('')}</ol><pre>${escape(report.failure.error)}</pre></div>`
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>faults: simulation report</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:900px}.ok{color:#2ca02c}.bad{color:#d62728}pre{white-space:pre-wrap}</style></head>
<body>
<h1>Fault sequences</h1>
<p>Seed ${report.seed}: ${report.sequences} sequences (${report.runs} asked for, more when a failure is shrunk), ${report.steps} steps. Each sequence starts two publisher replicas (sharing their state, one leading) and three edges, then runs random steps: fragment edits, breaks and deletions, a leader restart or change, edge restarts and joins, cuts and heals, clock skew, key rotation. After every step: no edge serves anything unsigned, older or empty, or bytes that are not canonical; with nothing cut, every edge converges to what the fragments say, a broken fragment's last good content included.</p>
${failure}
</body></html>
`
}
