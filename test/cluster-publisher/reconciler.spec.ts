import test from 'ava'
import { Reconciler } from '../../cluster-publisher/reconciler.js'
import { silentLogger } from '../../node/logger.js'
import { waitFor } from '../../simulations/wait-for.js'

test('a burst of changes becomes one run, and changes during a run one more', async t => {
  let runs = 0
  let release = (): void => {}
  const reconciler = new Reconciler({
    reconcile: async () => { runs++; if (runs === 1) await new Promise<void>(resolve => { release = resolve }) },
    log: silentLogger(),
    delayMs: 20,
    maxWaitMs: 200
  })
  t.teardown(async () => { await reconciler.stop() })
  reconciler.start()
  for (let i = 0; i < 50; i++) reconciler.markDirty()
  await waitFor('the first run', () => runs === 1 ? true : undefined)
  for (let i = 0; i < 50; i++) reconciler.markDirty()
  release()
  await waitFor('one more run for what came meanwhile', () => runs === 2 ? true : undefined)
  await new Promise(resolve => setTimeout(resolve, 200))
  t.is(runs, 2)
})

test('a failed run is retried with backoff until it succeeds, with no change needed', async t => {
  const at: number[] = []
  const reconciler = new Reconciler({
    reconcile: async () => { at.push(Date.now()); if (at.length < 3) throw new Error('API server unreachable') },
    log: silentLogger(),
    delayMs: 1,
    retryMinMs: 50,
    retryMaxMs: 1000
  })
  t.teardown(async () => { await reconciler.stop() })
  reconciler.start()
  await waitFor('the third, successful run', () => at.length === 3 ? true : undefined)
  const [first = 0, second = 0, third = 0] = at
  t.true(second - first >= 45, 'waited at least the first backoff')
  t.true(third - second >= 95, 'the backoff doubled')
})

test('nothing runs before start or after stop, and stop waits for the run in progress', async t => {
  let runs = 0
  let finished = false
  const reconciler = new Reconciler({
    reconcile: async () => { runs++; await new Promise(resolve => setTimeout(resolve, 100)); finished = true },
    log: silentLogger(),
    delayMs: 1
  })
  reconciler.markDirty()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.is(runs, 0)
  reconciler.start()
  await waitFor('a run', () => runs === 1 ? true : undefined)
  await reconciler.stop()
  t.true(finished)
  reconciler.markDirty()
  await new Promise(resolve => setTimeout(resolve, 50))
  t.is(runs, 1)
})
