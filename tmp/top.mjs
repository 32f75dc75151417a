import { readFileSync, readdirSync } from 'node:fs'
const dir = '/tmp/prof'; const f = readdirSync(dir)[0]
const p = JSON.parse(readFileSync(`${dir}/${f}`))
const self = new Map(); const byId = new Map(p.nodes.map(n => [n.id, n]))
const dt = p.timeDeltas; const counts = new Map()
p.samples.forEach((id, i) => counts.set(id, (counts.get(id) ?? 0) + (dt[i] ?? 0)))
for (const [id, t] of counts) { const n = byId.get(id); const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-3).join('/')}:${n.callFrame.lineNumber}`; self.set(k, (self.get(k) ?? 0) + t) }
const total = [...self.values()].reduce((a, b) => a + b, 0)
console.log('total ms', (total / 1000).toFixed(0))
for (const [k, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 35)) console.log((t / 1000).toFixed(0).padStart(7), k)
