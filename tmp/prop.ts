import { measurePropagation } from '../simulations/bench/propagation.js'
const [edges, routers, rounds] = process.argv.slice(2).map(Number)
const r = await measurePropagation(edges ?? 10, routers ?? 10000, rounds ?? 3)
console.log(JSON.stringify(r))
process.exit(0)
