import { measurePropagation } from '../simulations/bench/propagation.js'
const r = await measurePropagation(50, 10000, 2)
console.log(JSON.stringify(r.ours))
const T = (globalThis as any).T as [string, number][]
const by = new Map<string, number[]>(); for (const [k, v] of T) by.set(k, [...by.get(k) ?? [], v])
for (const [k, v] of by) { v.sort((a, b) => a - b); console.log(k, v.length, 'p50', v[Math.floor(v.length / 2)]?.toFixed(0), 'p90', v[Math.floor(v.length * 0.9)]?.toFixed(0), 'max', v[v.length - 1]?.toFixed(0)) }
process.exit(0)
