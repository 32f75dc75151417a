import test from 'ava'
import { LeadFailedError, leadershipTransitions, type LeadershipTransitionsInit } from '../../cluster-publisher/leadership-transitions.js'
import { silentLogger } from '../../node/logger.js'

/** Transitions whose lead() and follow() record their calls;. */
function recorded (lead: () => Promise<void> = async () => {}): { calls: string[], failed: Array<[LeadFailedError, number]>, changes: boolean[], init: LeadershipTransitionsInit } {
  const calls: string[] = []
  const failed: Array<[LeadFailedError, number]> = []
  const changes: boolean[] = []
  return {
    calls,
    failed,
    changes,
    init: {
      lead: async () => { calls.push('lead'); await lead() },
      follow: async () => { calls.push('follow') },
      onChange: leading => { changes.push(leading) },
      onLeadFailed: (err, failures) => { failed.push([err, failures]) },
      log: silentLogger()
    }
  }
}

test('a win leads only once lead() has succeeded', async t => {
  let finish = (): void => {}
  const { calls, changes, init } = recorded(async () => { await new Promise<void>(resolve => { finish = resolve }) })
  const transitions = leadershipTransitions(init)
  const winning = transitions.set(true)
  await new Promise(resolve => setImmediate(resolve))
  t.deepEqual(calls, ['lead'])
  t.false(transitions.leading(), 'not leading while the mesh starts')
  t.deepEqual(changes, [])
  finish()
  await winning
  t.true(transitions.leading())
  t.deepEqual(changes, [true])
  t.is(transitions.failure(), undefined)
})

test('a failing lead() is undone, never claims leadership, names its cause and is handed back with a count', async t => {
  let fail = true
  const { calls, changes, failed, init } = recorded(async () => { if (fail) throw new Error('listen EADDRINUSE: address already in use 0.0.0.0:4001') })
  const transitions = leadershipTransitions(init)
  await transitions.set(true)
  t.false(transitions.leading())
  t.deepEqual(calls, ['lead', 'follow'], 'the partial start is undone')
  t.deepEqual(changes, [], 'the leader gauge never said 1')
  t.true(transitions.failure() instanceof LeadFailedError)
  t.regex(transitions.failure()?.message ?? '', /could not become the publisher: listen EADDRINUSE/)
  t.deepEqual(failed.map(([err, failures]) => [err.name, failures]), [['LeadFailedError', 1]])

  await transitions.set(true)
  t.deepEqual(failed.map(([, failures]) => failures), [1, 2], 'failures in a row are counted')

  fail = false
  await transitions.set(true)
  t.true(transitions.leading())
  t.is(transitions.failure(), undefined, 'a win that succeeds clears the failure')
  t.deepEqual(changes, [true])
})

test('a loss that arrives while the win is starting waits for it, then undoes it', async t => {
  let finish = (): void => {}
  const { calls, changes, init } = recorded(async () => { await new Promise<void>(resolve => { finish = resolve }) })
  const transitions = leadershipTransitions(init)
  const winning = transitions.set(true)
  const losing = transitions.set(false)
  await new Promise(resolve => setImmediate(resolve))
  t.deepEqual(calls, ['lead'], 'follow waits for lead')
  finish()
  await Promise.all([winning, losing])
  t.deepEqual(calls, ['lead', 'follow'])
  t.deepEqual(changes, [true, false])
  t.false(transitions.leading())
})

test('a loss while the win fails leaves nothing to undo twice', async t => {
  const { calls, failed, init } = recorded(async () => { throw new Error('no port') })
  const transitions = leadershipTransitions(init)
  await Promise.all([transitions.set(true), transitions.set(false)])
  t.deepEqual(calls, ['lead', 'follow'])
  t.is(failed.length, 1)
  t.false(transitions.leading())
})

test('a change to the state already held does nothing', async t => {
  const { calls, init } = recorded()
  const transitions = leadershipTransitions(init)
  await transitions.set(false)
  await transitions.set(true)
  await transitions.set(true)
  t.deepEqual(calls, ['lead'])
})
