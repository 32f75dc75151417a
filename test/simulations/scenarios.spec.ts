import test from 'ava'
import { renderReport } from '../../simulations/report.js'
import { runScenario } from '../../simulations/run-scenario.js'
import { SCENARIOS } from '../../simulations/scenarios.js'
import { checkRun } from '../../simulations/invariants.js'
import type { RunRecord } from '../../simulations/recorder.js'

const EDGES = 5

// One after another: each scenario is a whole mesh, and their timings are what is checked.
for (const scenario of SCENARIOS) {
  test.serial(`scenario ${scenario.name}: no invariant is violated and every expectation converges`, async t => {
    const { record, verdict } = await runScenario(scenario, EDGES, 7)
    t.deepEqual(verdict.violations, [])
    t.true(verdict.convergence.length > 0, 'the scenario expects something')
    // How fast is the machine's business as much as the code's: reported, not asserted (npm run simulate checks bounds).
    for (const late of verdict.late) t.log(`late: ${late}`)
    t.true(record.samples.length > 0, 'edges were sampled over HTTP')
    const html = renderReport(record, verdict)
    t.regex(html, /<svg[^>]*role="img"/)
    t.regex(html, /No invariant violated/)
  })
}

const run: RunRecord = {
  scenario: 'made up', nodes: 1, seed: 1, durationMs: 1000,
  published: [{ t: 0, version: 2, sha: 'a'.repeat(64) }, { t: 100, version: 3, sha: 'b'.repeat(64) }],
  served: [
    { t: 10, edge: 'e1', version: 2, sha: 'a'.repeat(64), origin: 'gossip' },
    { t: 200, edge: 'e1', version: 3, sha: 'b'.repeat(64), origin: 'gossip' }
  ],
  samples: [{ t: 50, edge: 'e1', status: 200, sha: 'a'.repeat(64) }],
  windows: [], marks: [], rolloutSteps: [], rolledBack: [], errors: [],
  expectations: [{ label: 'v3', edges: ['e1'], version: 3, from: 100, boundMs: 500 }]
}

test('the invariant checker accepts a clean run', t => {
  const verdict = checkRun(run)
  t.deepEqual(verdict.violations, [])
  t.is(verdict.convergence[0]?.worstMs, 100)
})

test('the invariant checker catches each kind of violation', t => {
  const bad: RunRecord = {
    ...run,
    served: [...run.served,
      { t: 300, edge: 'e1', version: 2, sha: 'a'.repeat(64), origin: 'gossip' },
      { t: 400, edge: 'e2', version: 9, sha: 'c'.repeat(64), origin: 'gossip' }],
    samples: [...run.samples, { t: 500, edge: 'e1', status: 503 }, { t: 600, edge: 'e2', status: 200, sha: 'c'.repeat(64) }],
    expectations: [...run.expectations, { label: 'slow', edges: ['e1'], version: 3, from: 0, boundMs: 50 }, { label: 'never', edges: ['e3'], version: 3, from: 0, boundMs: 50 }],
    errors: ['TypeError: boom']
  }
  const violations = checkRun(bad).violations.join('\n')
  t.regex(violations, /crash: TypeError: boom/)
  t.regex(violations, /e2 served version 9 .* which the publisher never signed/)
  t.regex(violations, /e1 went back from version 3 to 2/)
  t.regex(violations, /e1 answered 503 .* after it had served a config/)
  t.regex(violations, /e2 answered bytes the publisher never signed/)
  t.regex(violations, /never: e3 never served the expected version/)
  t.notRegex(violations, /slow/)
  t.regex(checkRun(bad).late.join('\n'), /slow: e1 took 200 ms \(bound 50 ms\)/)
})
