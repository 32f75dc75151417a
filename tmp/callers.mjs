import { readFileSync, readdirSync } from 'node:fs'
const dir = '/tmp/prof'; const f = readdirSync(dir).sort()[0]
const p = JSON.parse(readFileSync(`${dir}/${f}`))
const byId = new Map(p.nodes.map(n => [n.id, n])); const parent = new Map()
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const counts = new Map(); p.samples.forEach((id, i) => counts.set(id, (counts.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)))
const target = process.argv[2]; const agg = new Map()
for (const [id, t] of counts) { const n = byId.get(id); if (n.callFrame.functionName !== target) continue
  let chain = []; let cur = parent.get(id); while (cur !== undefined && chain.length < 6) { const c = byId.get(cur).callFrame; chain.push(`${c.functionName}@${c.url.split('/').slice(-2).join('/')}`); cur = parent.get(cur) }
  const k = chain.join(' < '); agg.set(k, (agg.get(k) ?? 0) + t) }
for (const [k, t] of [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log((t / 1000).toFixed(0).padStart(6), k)
