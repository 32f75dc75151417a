import test from 'ava'
import { runFaultSequences } from '../../simulations/faults.js'

// A few seeded sequences per run of the suite; `npm run simulate -- faults --runs N` runs many more.
test.serial('random sequences of faults keep every invariant, and every edge converges after the last heal', async t => {
  const report = await runFaultSequences({ runs: 2, maxSteps: 8, seed: 20261202 })
  t.is(report.failure, undefined, report.failure === undefined ? '' : `seed ${report.failure.seed}, path ${report.failure.path}:\n  ${report.failure.steps.join('\n  ')}\n${report.failure.error}`)
  t.is(report.sequences, 2)
  t.true(report.steps > 0, 'the sequences ran steps')
  t.log(`${report.sequences} sequences, ${report.steps} steps, all clean`)
})
