// npm run simulate -- [SCENARIO…|all] [--nodes N] [--seed S] [--out DIR]
// npm run simulate -- heal [--nodes N] [--partitions 5,60,600] [--rounds R] [--out DIR]
// npm run simulate -- faults [--rollouts] [--runs N] [--steps M] [--seed S] [--out DIR]
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runFaultSequences } from './faults.js'
import { measureHeal, summarise, type HealRound } from './heal.js'
import { NamespaceMesh, namespacesUnavailable } from './netns.js'
import { renderFaultsReport, renderHealReport, renderReport } from './report.js'
import { runScenario } from './run-scenario.js'
import { SCENARIOS, type Scenario } from './scenarios.js'

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nodes: { type: 'string', default: '10' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: 'simulations/results' },
    partitions: { type: 'string', default: '5,60' },
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '20' },
    steps: { type: 'string', default: '15' },
    rollouts: { type: 'boolean', default: false }
  }
})

async function scenarios (): Promise<boolean> {
  const names = positionals.length === 0 || positionals.includes('all') ? SCENARIOS.map(s => s.name) : positionals
  const unknown = names.filter(name => !SCENARIOS.some(s => s.name === name))
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario ${unknown.join(', ')}; choose from: all, heal, ${SCENARIOS.map(s => s.name).join(', ')}\n`)
    process.exit(2)
  }
  const nodes = Number(values.nodes)
  const seed = Number(values.seed)
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
    for (const late of verdict.late) process.stdout.write(`  LATE ${late}\n`)
    const ok = verdict.violations.length === 0 && verdict.late.length === 0
    process.stdout.write(`  ${ok ? 'ok' : 'FAILED'}; report ${base}.html\n`)
    failed ||= !ok
  }
  return !failed
}

/** Heal → converged after partitions of each length, real processes in network namespaces. */
async function heals (): Promise<boolean> {
  const unavailable = namespacesUnavailable()
  if (unavailable !== undefined) {
    process.stderr.write(`heal needs network namespaces: ${unavailable}\n`)
    return false
  }
  const edges = Number(values.nodes)
  const lengths = values.partitions.split(',').map(seconds => Number(seconds) * 1000)
  const rounds = Number(values.rounds)
  const root = await mkdtemp(join(tmpdir(), 'dime-heal-'))
  const mesh = new NamespaceMesh(root, edges)
  const results: HealRound[][] = []
  // Ctrl-C leaves no namespace or process behind.
  const interrupted = (): void => { mesh.tearDown(); process.exit(130) }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  try {
    await mesh.startServing()
    for (const length of lengths) {
      const measured: HealRound[] = []
      for (let round = 1; round <= (length >= 60_000 ? 1 : rounds); round++) {
        const result = await measureHeal(mesh, length, round)
        measured.push(result)
        process.stdout.write(`partition ${length / 1000} s, round ${round}: converged after ${result.convergedMs.join(', ')} ms; ${result.dialsPerMinute.map(n => Math.round(n)).join(', ')} bootstrap dials a minute while cut off\n`)
        await new Promise(resolve => setTimeout(resolve, 3000))
      }
      results.push(measured)
    }
  } finally {
    mesh.tearDown()
    await rm(root, { recursive: true, force: true })
  }
  const summaries = results.map(summarise)
  for (const s of summaries) process.stdout.write(`after ${s.partitionMs / 1000} s cut off: p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms over ${s.samples} edge heals; ${s.dialsPerEdgePerMinute} dials per edge per minute while cut off\n`)
  const base = join(values.out, `heal-n${edges}`)
  await writeFile(`${base}.json`, JSON.stringify({ edges, summaries, rounds: results }, null, 2))
  await writeFile(`${base}.html`, renderHealReport(edges, summaries))
  process.stdout.write(`report ${base}.html\n`)
  return true
}

/** Random fault sequences against the invariants; a failure prints its seed and its shrunk steps. */
async function faults (): Promise<boolean> {
  const started = Date.now()
  const report = await runFaultSequences({
    rollouts: values.rollouts,
    runs: Number(values.runs),
    maxSteps: Number(values.steps),
    seed: Number(values.seed),
    onSequence: (steps, failed) => { process.stdout.write(`  sequence of ${steps} steps: ${failed ? 'FAILED' : 'clean'}\n`) }
  })
  const minutes = Math.round((Date.now() - started) / 6000) / 10
  const rollouts = values.rollouts ? ` (${report.rollouts.inWaves} versions went out in waves, ${report.rollouts.rolledBack} were rolled back)` : ''
  process.stdout.write(`${report.sequences} sequences, ${report.steps} steps${rollouts} in ${minutes} min, seed ${report.seed}: ${report.failure === undefined ? 'every invariant held' : 'FAILED'}\n`)
  if (report.failure !== undefined) {
    process.stdout.write(`  replay: --seed ${report.failure.seed} (path ${report.failure.path})\n  shrunk steps:\n${report.failure.steps.map(step => `    ${step}`).join('\n')}\n  ${report.failure.error}\n`)
  }
  const base = join(values.out, `faults-s${report.seed}`)
  await writeFile(`${base}.json`, JSON.stringify(report, null, 2))
  await writeFile(`${base}.html`, renderFaultsReport(report))
  process.stdout.write(`report ${base}.html\n`)
  return report.failure === undefined
}

await mkdir(values.out, { recursive: true })
const ok = positionals[0] === 'heal' ? await heals() : positionals[0] === 'faults' ? await faults() : await scenarios()
process.exit(ok ? 0 : 1)
