import { createHash } from 'node:crypto'

// The fleet page, whole: no file to find at run time (the bundle in dist/ is
// all an image holds) and nothing fetched from elsewhere (the cluster may be
// cut off from the internet). The script builds the page from /events (the
// status, pushed at each change) and /history; everything the cluster wrote
// (fragment names, reasons) goes in as text, never as HTML.

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2330; --muted: #5c6578; --bg: #f6f7f9; --card: #fff; --line: #dde1e8;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --info: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ef; --muted: #9aa3b5; --bg: #14171c; --card: #1c2027; --line: #2e343f;
  --ok: #3fb950; --warn: #d29922; --bad: #f85149; --info: #58a6ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; padding: .8rem 1rem; border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.1rem; margin: 0; }
main { padding: 1rem; display: grid; gap: 1rem; max-width: 1400px; margin: 0 auto; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; min-width: 0; }
h2 { font-size: 1rem; margin: 0 0 .6rem; }
.muted { color: var(--muted); }
.nowrap { white-space: nowrap; }
.addresses { word-break: break-all; min-width: 16rem; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: .6rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem; }
.card b, button.count b { display: block; font-size: 1.15rem; overflow-wrap: anywhere; }
button.count { all: unset; cursor: pointer; display: block; border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem; }
button.count:focus-visible, button.count.selected { outline: 2px solid var(--info); }
.banner { border-radius: 6px; padding: .6rem .8rem; border: 1px solid var(--warn); color: var(--warn); display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
.banner[hidden], #message[hidden] { display: none; }
#message { border: 1px solid var(--bad); color: var(--bad); border-radius: 6px; padding: .5rem .8rem; }
.controls { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: .6rem; }
input, select, button { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 5px; padding: .3rem .5rem; }
button { cursor: pointer; }
button:disabled { cursor: not-allowed; opacity: .5; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
.badge { display: inline-block; border-radius: 999px; padding: 0 .55rem; font-size: 12px; border: 1px solid currentColor; white-space: nowrap; }
.up-to-date, .accepted { color: var(--ok); }
.behind, .kept-last-good, .pending { color: var(--warn); }
.stale, .missing, .rejected, .conflict, .unhealthy, .rolled-back { color: var(--bad); }
.healthy, .complete { color: var(--ok); }
.waiting, .rolling, .superseded { color: var(--info); }
#live.live { color: var(--ok); }
#live.down { color: var(--bad); }
@media (max-width: 700px) { .wide { display: none; } main { padding: .5rem; } section { padding: .6rem; } }
`

const SCRIPT = `
'use strict'
const view = { status: null, historyOf: undefined, sort: { key: 'peerId', dir: 1 } }
const $ = id => document.getElementById(id)

function el (tag, attributes, ...children) {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value)
    else if (value !== undefined && value !== false) node.setAttribute(name, value === true ? '' : value)
  }
  node.append(...children.map(child => child instanceof Node ? child : String(child)))
  return node
}

const badge = text => el('span', { class: 'badge ' + text.replace(/ /g, '-') }, text)
const duration = ms => ms === null ? '\\u2013' : ms < 1000 ? ms + ' ms' : (ms / 1000).toFixed(1) + ' s'
const ago = s => s < 60 ? s + ' s ago' : s < 3600 ? Math.floor(s / 60) + ' min ago' : Math.floor(s / 3600) + ' h ago'
const labelPairs = edge => Object.entries(edge.labels ?? {}).map(([key, value]) => key + '=' + value)
const shortId = id => id.length > 16 ? id.slice(0, 6) + '\\u2026' + id.slice(-6) : id
const when = iso => iso === null ? '\\u2013' : new Date(iso).toLocaleString()
const compare = (a, b) => a === b ? 0 : a === null || a === undefined ? 1 : b === null || b === undefined ? -1 : a < b ? -1 : 1

function showMessage (text) {
  $('message').textContent = text
  $('message').hidden = text === ''
}

function renderSummary (status) {
  if (status === null) return
  $('mesh').textContent = status.mesh
  $('leader').textContent = status.leader ? 'leader' : status.leadFailure !== null ? 'not publishing: ' + status.leadFailure : 'follower (not publishing)'
  $('version').textContent = status.version === null ? 'none yet' : 'v' + status.version
  $('sha').textContent = status.configSha256 === null ? '' : status.configSha256.slice(0, 12)
  $('sha').title = status.configSha256 ?? ''
  $('issued').textContent = when(status.issuedAt)
  $('pinned').hidden = status.pinned === null
  if (status.pinned !== null) $('pinned-text').textContent = 'Pinned to version ' + status.pinned.version + ' since ' + when(status.pinned.since) + ': fragment edits are not published until unpinned.'
  $('unpin').disabled = !status.leader
  const counts = { all: status.edges.length, 'up-to-date': 0, behind: 0, stale: 0, missing: 0 }
  for (const edge of status.edges) counts[edge.state]++
  for (const button of document.querySelectorAll('button.count')) {
    button.querySelector('b').textContent = counts[button.dataset.state]
    button.classList.toggle('selected', $('edge-state').value === button.dataset.state)
  }
  $('last-error').textContent = status.lastError ?? ''
}

const EDGE_COLUMNS = [
  ['peerId', 'Edge'], ['labels', 'Labels'], ['state', 'State'], ['version', 'Version'], ['propagationMs', 'Took to arrive'], ['fetchedVersion', 'Traefik fetched'],
  ['lastSeenSecondsAgo', 'Last heard'], ['publicAddress', 'Public address'], ['peers', 'Peers', 'wide'], ['meshAddresses', 'Mesh addresses', 'wide']
]

function renderEdgeHeader () {
  $('edges-head').replaceChildren(el('tr', {}, ...EDGE_COLUMNS.map(([key, title, wide]) => el('th', {
    class: wide, 'aria-sort': view.sort.key === key ? (view.sort.dir === 1 ? 'ascending' : 'descending') : undefined
  }, el('button', { type: 'button', onclick: () => { view.sort = { key, dir: view.sort.key === key ? -view.sort.dir : 1 }; renderEdgeHeader(); renderEdges() } }, title)))))
}

function renderEdges () {
  const status = view.status
  if (status === null) return
  const words = $('edge-filter').value.trim().toLowerCase().split(/\\s+/).filter(word => word !== '')
  const only = $('edge-state').value
  const rows = status.edges
    .filter(edge => only === 'all' || edge.state === only)
    .filter(edge => {
      const text = [edge.peerId, edge.name ?? '', ...labelPairs(edge), edge.state, 'v' + edge.version, edge.publicAddress ?? '', ...edge.meshAddresses].join(' ').toLowerCase()
      return words.every(word => text.includes(word))
    })
  const { key, dir } = view.sort
  const sortValue = (edge, column) => column === 'peerId' ? edge.name ?? edge.peerId : column === 'labels' ? labelPairs(edge).join(' ') : edge[column]
  rows.sort((a, b) => compare(sortValue(a, key), sortValue(b, key)) * dir || compare(a.peerId, b.peerId))
  $('edges-body').replaceChildren(...rows.map(edge => el('tr', { 'data-peer': edge.peerId },
    el('td', { class: 'mono nowrap', title: edge.peerId }, edge.name ?? shortId(edge.peerId)),
    el('td', { class: 'mono' }, labelPairs(edge).join(' ')),
    el('td', {}, badge(edge.state)),
    el('td', {}, edge.version === null ? 'none' : 'v' + edge.version),
    el('td', {}, duration(edge.propagationMs)),
    el('td', { class: 'nowrap' }, edge.fetchedVersion === null ? '\\u2013' : 'v' + edge.fetchedVersion + ', ' + ago(edge.fetchedSecondsAgo)),
    el('td', { class: 'nowrap' }, ago(edge.lastSeenSecondsAgo)),
    el('td', { class: 'mono' }, edge.publicAddress ?? '\\u2013'),
    el('td', { class: 'wide' }, edge.peers ?? '\\u2013'),
    el('td', { class: 'wide mono addresses' }, edge.meshAddresses.join(' ')))))
  $('edges-shown').textContent = rows.length === status.edges.length ? '' : rows.length + ' of ' + status.edges.length + ' shown'
  $('edges-none').hidden = status.edges.length > 0
}

function renderFragments (status) {
  $('fragments-body').replaceChildren(...status.fragments.map(fragment => el('tr', { 'data-source': fragment.source },
    el('td', { class: 'mono' }, fragment.source),
    el('td', {}, badge(fragment.status)),
    el('td', {}, [fragment.problem, fragment.reason].filter(text => text !== undefined && text !== '').join(': ')))))
  const waiting = [...status.pending.map(item => ({ ...item, kind: 'pending' })), ...status.skipped.map(item => ({ ...item, kind: 'skipped' }))]
  $('pending-body').replaceChildren(...waiting.map(item => el('tr', {},
    el('td', { class: 'mono' }, item.source), el('td', {}, badge(item.kind)), el('td', {}, item.reason))))
  $('pending').hidden = waiting.length === 0
}

function renderRollout (status) {
  const rollout = status.rollout
  const policy = status.rolloutPolicy
  $('rollout-policy').textContent = policy.where === null ? 'No rollout policy: every version goes to every edge at once.' : 'Policy ' + policy.where + ': waves ' + policy.waves.join(', ') + '.'
  $('rollout-policy-error').textContent = policy.error ?? ''
  $('rollout').hidden = rollout === null
  const rolling = rollout !== null && rollout.state === 'rolling'
  for (const id of ['promote', 'promote-all', 'abort']) {
    $(id).disabled = !rolling || !status.leader
    $(id).title = status.leader ? '' : 'only the leader acts on a rollout'
  }
  if (rollout === null) return
  const left = rollout.bakeEndsAt === null ? '' : ', ' + Math.max(0, Math.ceil((Date.parse(rollout.bakeEndsAt) - Date.now()) / 1000)) + ' s left in the bake'
  $('rollout-summary').replaceChildren('v' + rollout.version + (rollout.from === null ? '' : ' replacing v' + rollout.from) + ': ', badge(rollout.state), ' ' + rollout.reached + ' of ' + rollout.waves.length + ' waves reached' + left)
  $('rollout-reason').textContent = rollout.reason ?? ''
  $('rollout-reason').className = rollout.state === 'rolled-back' ? 'rolled-back' : 'muted'
  const rows = rollout.waves.flatMap((wave, i) => {
    const reached = i < rollout.reached
    const edges = wave.edges.length > 0 ? wave.edges : [{ peerId: '', name: null, verdict: 'not reached', reason: null }]
    return edges.map((edge, j) => el('tr', { 'data-wave': wave.name },
      el('td', {}, j === 0 ? wave.name : ''),
      el('td', { class: 'nowrap' }, j === 0 ? (reached ? 'reached ' + when(wave.reachedAt) : 'not reached') + ', bake ' + duration(wave.bakeMs) : ''),
      el('td', { class: 'mono', title: edge.peerId }, edge.name ?? shortId(edge.peerId)),
      el('td', {}, reached ? badge(edge.verdict) : '\u2013'),
      el('td', {}, edge.reason ?? '')))
  })
  const skipped = rollout.skipped.map(name => el('tr', {}, el('td', {}, name), el('td', {}, 'skipped: no edge'), el('td', {}), el('td', {}), el('td', {})))
  const last = rollout.last.length === 0 ? [] : [el('tr', {}, el('td', {}, 'last'), el('td', {}, 'when it completes'), el('td', {}, rollout.last.length + ' edge(s) of an earlier release or in no wave'), el('td', {}), el('td', {}))]
  $('rollout-body').replaceChildren(...rows, ...skipped, ...last)
}

async function promote (all) {
  const question = all ? 'Release this version to every edge now, skipping the remaining waves?' : 'Reach the next wave now, without waiting for the bake?'
  if (confirm(question)) await post('rollout/promote', { all })
}

async function abort () {
  if (confirm('Abort the rollout? Every edge that took this version serves the last released config again.')) await post('rollout/abort', {})
}

async function loadHistory () {
  const status = view.status
  if (status === null || view.historyOf === status.version) return
  view.historyOf = status.version
  const response = await fetch('history', { headers: { accept: 'application/json' } })
  if (!response.ok) {
    view.historyOf = undefined
    return showMessage('history: HTTP ' + response.status)
  }
  const { versions } = await response.json()
  $('history-body').replaceChildren(...versions.map(entry => el('tr', { 'data-version': entry.version },
    el('td', {}, 'v' + entry.version),
    el('td', {}, when(entry.issuedAt)),
    el('td', { class: 'mono wide', title: entry.sha256 }, entry.sha256.slice(0, 12)),
    el('td', { class: 'mono' }, entry.fragmentsChanged.join(', ')),
    el('td', { class: 'mono' }, entry.summary),
    el('td', {}, el('button', { type: 'button', class: 'pin', disabled: !status.leader || !entry.bodyHeld, title: status.leader ? 'serve this version again, whatever the fragments do' : 'only the leader pins', onclick: () => pin(entry.version) }, 'Pin')))))
}

async function post (path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const answer = await response.json().catch(() => ({}))
  showMessage(response.ok ? '' : path + ': ' + (answer.error ?? answer.message ?? 'HTTP ' + response.status))
}

async function pin (version) {
  if (confirm('Pin the mesh to version ' + version + '? The publisher signs it again as the newest version and keeps serving it until unpinned.')) await post('pin', { version })
}

async function unpin () {
  if (confirm('Unpin? The fragments as they are now are published again.')) await post('unpin', {})
}

function render () {
  const status = view.status
  renderSummary(status)
  renderEdges()
  renderFragments(status)
  renderRollout(status)
  loadHistory().catch(err => { view.historyOf = undefined; showMessage('history: ' + err.message) })
}

function connect () {
  const events = new EventSource('events')
  events.addEventListener('status', event => { view.status = JSON.parse(event.data); render() })
  events.onopen = () => { $('live').textContent = 'live'; $('live').className = 'live' }
  events.onerror = () => { $('live').textContent = 'reconnecting\\u2026'; $('live').className = 'down' }
}

for (const button of document.querySelectorAll('button.count')) {
  button.addEventListener('click', () => { $('edge-state').value = button.dataset.state; renderSummary(view.status); renderEdges() })
}
$('edge-filter').addEventListener('input', renderEdges)
$('edge-state').addEventListener('change', () => { renderSummary(view.status); renderEdges() })
$('unpin').addEventListener('click', unpin)
$('promote').addEventListener('click', () => promote(false))
$('promote-all').addEventListener('click', () => promote(true))
$('abort').addEventListener('click', abort)
renderEdgeHeader()
connect()
`

const countButton = (state: string, title: string): string =>
  `<button type="button" class="count" data-state="${state}"><span class="muted">${title}</span><b>–</b></button>`

const BODY = `
<header><h1>dime · <span id="mesh">…</span></h1><span id="leader" class="muted"></span><span id="live" class="down">connecting…</span></header>
<main>
  <div id="message" role="alert" hidden></div>
  <div id="pinned" class="banner" hidden><span id="pinned-text"></span><button type="button" id="unpin">Unpin</button></div>
  <section aria-labelledby="newest-title">
    <h2 id="newest-title">Newest version</h2>
    <div class="cards">
      <div class="card"><span class="muted">Version</span><b id="version">–</b></div>
      <div class="card"><span class="muted">SHA-256</span><b id="sha" class="mono"></b></div>
      <div class="card"><span class="muted">Issued</span><b id="issued">–</b></div>
      ${countButton('all', 'Edges')}${countButton('up-to-date', 'Up to date')}${countButton('behind', 'Behind')}${countButton('stale', 'Stale')}${countButton('missing', 'Missing')}
    </div>
    <p id="last-error" class="stale"></p>
  </section>
  <section aria-labelledby="rollout-title">
    <h2 id="rollout-title">Rollout</h2>
    <p id="rollout-policy" class="muted"></p>
    <p id="rollout-policy-error" class="stale"></p>
    <div id="rollout" hidden>
      <p id="rollout-summary"></p>
      <p id="rollout-reason"></p>
      <div class="controls">
        <button type="button" id="promote">Promote to the next wave</button>
        <button type="button" id="promote-all">Release to every edge</button>
        <button type="button" id="abort">Abort and roll back</button>
      </div>
      <div class="scroll"><table id="rollout-waves"><thead><tr><th>Wave</th><th>State</th><th>Edge</th><th>Health</th><th>Why</th></tr></thead><tbody id="rollout-body"></tbody></table></div>
    </div>
  </section>
  <section aria-labelledby="edges-title">
    <h2 id="edges-title">Edges <span id="edges-shown" class="muted"></span></h2>
    <div class="controls">
      <input id="edge-filter" type="search" placeholder="Filter: peer, address, version, state" aria-label="Filter edges">
      <select id="edge-state" aria-label="Show edges">
        <option value="all">All</option><option value="up-to-date">Up to date</option><option value="behind">Behind</option>
        <option value="stale">Stale</option><option value="missing">Missing</option>
      </select>
    </div>
    <div class="scroll"><table id="edges"><thead id="edges-head"></thead><tbody id="edges-body"></tbody></table></div>
    <p id="edges-none" class="muted" hidden>No edge has reported yet.</p>
  </section>
  <section aria-labelledby="fragments-title">
    <h2 id="fragments-title">Fragments</h2>
    <div class="scroll"><table id="fragments"><thead><tr><th>Source</th><th>Status</th><th>Why</th></tr></thead><tbody id="fragments-body"></tbody></table></div>
    <div id="pending" hidden>
      <h2>Pending and skipped</h2>
      <div class="scroll"><table><thead><tr><th>Object</th><th></th><th>Waiting for</th></tr></thead><tbody id="pending-body"></tbody></table></div>
    </div>
  </section>
  <section aria-labelledby="history-title">
    <h2 id="history-title">History</h2>
    <div class="scroll"><table id="history"><thead><tr><th>Version</th><th>Issued</th><th class="wide">SHA-256</th><th>Fragments changed</th><th>Changes</th><th></th></tr></thead><tbody id="history-body"></tbody></table></div>
  </section>
</main>`

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

export const FLEET_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dime fleet</title>
<style>${STYLE}</style>
</head>
<body>${BODY}
<script>${SCRIPT}</script>
</body>
</html>
`

/** Only this page's own style and script run, and it talks only to the endpoint that served it. */
export const FLEET_PAGE_POLICY = [
  "default-src 'none'",
  `style-src ${hash(STYLE)}`,
  `script-src ${hash(SCRIPT)}`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join('; ')
