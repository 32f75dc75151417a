import type { FaultRunReport } from './faults.js'
import type { HealSummary } from './heal.js'
import type { Verdict } from './invariants.js'
import type { RunRecord } from './recorder.js'

const ROW = 18
const LEFT = 90
const WIDTH = 900
const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac']

/** About how wide a 9 px label is, per character. */
const CHAR_WIDTH = 5.2

/**
 * Labels beside their lines, each on the first of `lanes` lines where it
 * overlaps no label before it (to the left of its line near the right edge,
 * where it would be cut off): neighbouring events stay readable.
 */
function placeLabels (items: Array<{ x: number, text: string }>, lanes: number): Array<{ attributes: string, lane: number }> {
  const ends = Array.from({ length: lanes }, () => -Infinity)
  return items.map(({ x, text }) => {
    const width = text.length * CHAR_WIDTH
    const leftward = x + 2 + width > WIDTH
    const [from, to] = leftward ? [x - 2 - width, x - 2] : [x + 2, x + 2 + width]
    const free = ends.findIndex(end => end + 6 <= from)
    const lane = free >= 0 ? free : ends.indexOf(Math.min(...ends))
    ends[lane] = to
    return { attributes: leftward ? `x="${x - 2}" text-anchor="end"` : `x="${x + 2}"`, lane }
  })
}

function escape (text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

const STEP_COLOUR = '#1f5fbf'
/** Rollout steps come close together (a verdict right after a wave): their labels take turns on this many lines. */
const STEP_LANES = 4
/** Bars of a version whose rollout was rolled back are hatched over their colour. */
const HATCH = '<defs><pattern id="rolled-back" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="2" height="6" fill="#000" opacity="0.45"/></pattern></defs>'
const shortVersion = (version: number): string => `v…${String(version).slice(-5)}`

/**
 * What each colour, band, line and dot of the timeline means: every version
 * with its colour (and whether its rollout was rolled back), then the rest.
 */
function legend (versions: number[], colour: (version: number) => string, run: RunRecord): string {
  const swatch = (fill: string, extra = '', hatched = false): string => `<svg width="14" height="12" aria-hidden="true">${hatched ? HATCH : ''}<rect width="14" height="12" fill="${fill}"${extra}/>${hatched ? '<rect width="14" height="12" fill="url(#rolled-back)"/>' : ''}</svg>`
  const line = (stroke: string, dash: string): string => `<svg width="14" height="12" aria-hidden="true"><line x1="7" x2="7" y1="0" y2="12" stroke="${stroke}" stroke-width="2" stroke-dasharray="${dash}"/></svg>`
  const items = versions.map(version => {
    const published = run.published.find(p => p.version === version)
    const notes = [
      published === undefined ? '' : `signed at ${Math.round(published.t / 100) / 10} s`,
      run.rolledBack.includes(version) ? 'rolled back: hatched' : ''
    ].filter(note => note !== '').join(', ')
    return `<li>${swatch(colour(version), '', run.rolledBack.includes(version))} ${escape(shortVersion(version))}${notes === '' ? '' : ` <span class="muted">(${escape(notes)})</span>`}</li>`
  })
  items.push(
    `<li>${swatch('#d62728', ' opacity="0.18"')} a partition: links cut</li>`,
    `<li>${line('#555', '3,3')} an event (a publish, a kill, a restart, a join)</li>`,
    ...run.rolloutSteps.length > 0 ? [`<li>${line(STEP_COLOUR, '1,2')} a rollout step the publisher signed: a wave reached, complete, or rolled back (the verdict)</li>`] : [],
    '<li><svg width="14" height="12" aria-hidden="true"><circle cx="7" cy="6" r="4" fill="#2ca02c"/></svg> every edge of an expectation served its version</li>'
  )
  return `<ul class="legend">${items.join('')}</ul>`
}

/**
 * A self-contained HTML page: a timeline per edge coloured by the version it
 * serves, with a legend saying which colour is which version, partition
 * windows shaded, marks (publishes, kills, restarts) and rollout steps (waves
 * reached, the verdict) as labelled lines, convergence per expectation, and
 * the verdict on the invariants.
 */
export function renderReport (run: RunRecord, verdict: Verdict): string {
  const edges = [...new Set(run.served.map(change => change.edge))].sort()
  const x = (t: number): number => LEFT + (t / Math.max(1, run.durationMs)) * (WIDTH - LEFT - 10)
  const versions = [...new Set([...run.published.map(p => p.version), ...run.served.map(change => change.version)])].sort((a, b) => a - b)
  const colour = (version: number): string => PALETTE[versions.indexOf(version) % PALETTE.length] ?? '#999'
  const stepLanes = run.rolloutSteps.length > 0 ? STEP_LANES : 0
  const top = 44 + stepLanes * 12
  const height = top + edges.length * ROW + 30

  const windows = run.windows.map(w => `<rect x="${x(w.start)}" y="${top - 6}" width="${Math.max(1, x(w.end ?? run.durationMs) - x(w.start))}" height="${edges.length * ROW + 6}" fill="#d62728" opacity="0.18"><title>${escape(w.label)}</title></rect>`)
  // Labels alternate between two lines so neighbouring events stay readable.
  const markLabels = placeLabels(run.marks.map(m => ({ x: x(m.t), text: m.label })), 2)
  const marks = run.marks.map((m, i) => {
    const { attributes, lane } = markLabels[i] ?? { attributes: '', lane: 0 }
    return `<line x1="${x(m.t)}" x2="${x(m.t)}" y1="${top - 10 - lane * 12}" y2="${top + edges.length * ROW}" stroke="#555" stroke-dasharray="3,3"><title>${escape(m.label)} at ${m.t} ms</title></line><text ${attributes} y="${top - 12 - lane * 12}" font-size="9" fill="#555">${escape(m.label)}</text>`
  })
  const stepText = (label: string): string => label.replace(/rolled-back$/, 'rolled back (the verdict)')
  const stepLabels = placeLabels(run.rolloutSteps.map(step => ({ x: x(step.t), text: stepText(step.label) })), STEP_LANES)
  const steps = run.rolloutSteps.map((step, i) => {
    const rolledBack = step.label.endsWith('rolled-back')
    const { attributes, lane } = stepLabels[i] ?? { attributes: '', lane: 0 }
    const y = 10 + lane * 12
    return `<line x1="${x(step.t)}" x2="${x(step.t)}" y1="${y + 2}" y2="${top + edges.length * ROW}" stroke="${rolledBack ? '#d62728' : STEP_COLOUR}" stroke-dasharray="1,2"><title>${escape(step.label)} at ${step.t} ms</title></line><text ${attributes} y="${y}" font-size="9" fill="${rolledBack ? '#d62728' : STEP_COLOUR}" font-weight="${rolledBack ? 'bold' : 'normal'}">${escape(stepText(step.label))}</text>`
  })
  const rows = edges.map((edge, i) => {
    const y = top + i * ROW
    const changes = run.served.filter(change => change.edge === edge)
    const bars = changes.map((change, j) => {
      const end = changes[j + 1]?.t ?? run.durationMs
      const box = `x="${x(change.t)}" y="${y + 2}" width="${Math.max(1, x(end) - x(change.t))}" height="${ROW - 4}"`
      const hatch = run.rolledBack.includes(change.version) ? `<rect ${box} fill="url(#rolled-back)"/>` : ''
      return `<rect ${box} fill="${colour(change.version)}"><title>${escape(edge)}: version ${change.version} from ${change.t} ms (${escape(change.origin.replace(/:.*/, ''))})</title></rect>${hatch}`
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
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:${WIDTH + 40}px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}.ok{color:#2ca02c}.bad{color:#d62728}.muted{color:#666}.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3em 1.2em}.legend svg{vertical-align:middle}</style></head>
<body>
<h1>${escape(run.scenario)}</h1>
<p>${run.nodes} edges and a publisher, seed ${run.seed}, ${Math.round(run.durationMs / 100) / 10} s; ${run.published.length} versions published, ${run.served.length} changes served.</p>
${violations}
<h2>Timeline</h2>
<p>One row per edge, coloured by the version it serves (the legend below says which colour is which version). Hover for details.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" role="img" aria-label="timeline">${HATCH}${windows.join('')}${rows.join('')}${marks.join('')}${steps.join('')}${convergence.join('')}${axis.join('')}</svg>
${legend(versions, colour, run)}
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
