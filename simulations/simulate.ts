// npm run simulate -- [SCENARIO…|all] [--nodes N] [--seed S] [--out DIR]
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { renderReport } from './report.js'
import { runScenario } from './run-scenario.js'
import { SCENARIOS, type Scenario } from './scenarios.js'

async function main (): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { nodes: { type: 'string', default: '10' }, seed: { type: 'string', default: '1' }, out: { type: 'string', default: 'simulations/results' } }
  })
  const names = positionals.length === 0 || positionals.includes('all') ? SCENARIOS.map(s => s.name) : positionals
  const unknown = names.filter(name => !SCENARIOS.some(s => s.name === name))
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; choose from: all, ${SCENARIOS.map(s => s.name).join(', ')}\n`)
    process.exit(2)
  }
  const nodes = Number(values.nodes)
  const seed = Number(values.seed)
  await mkdir(values.out, { recursive: true })
  let failed = false
  for (const name of names) {
    const scenario = SCENARIOS.find(s => s.name === name) as Scenario
    process.stdout.write(`${name} (${nodes} edges, seed ${seed}): ${scenario.description}\n`)
    const { record, verdict } = await runScenario(scenario, nodes, seed)
    const base = join(values.out, `${name}-n${nodes}-s${seed}`)
    await writeFile(`${base}.json`, JSON.stringify({ ...record, verdict }, null, 2))
    await writeFile(`${base}.html`, renderReport(record, verdict))
    for (const c of verdict.convergence) process.stdout.write(`  ${c.label}: worst ${c.worstMs ?? 'never'} ms of ${c.boundMs} ms, ${Object.keys(c.edges).length} edges\n`)
    for (const violation of verdict.violations) process.stdout.write(`  VIOLATION ${violation}\n`)
    process.stdout.write(`  ${verdict.violations.length === 0 ? 'ok' : 'FAILED'}; report ${base}.html\n`)
    failed ||= verdict.violations.length > 0
  }
  process.exit(failed ? 1 : 0)
}

await main()
