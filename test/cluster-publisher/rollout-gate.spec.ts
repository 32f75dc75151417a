import test from 'ava'
import type { EdgeReport } from '../../cluster-publisher/fleet.js'
import { judgeWave, type WaveClock } from '../../cluster-publisher/rollout-gate.js'

const V = 20
const REACHED = 1_000_000

function report (peerId: string, extra: Partial<EdgeReport> = {}): EdgeReport {
  return {
    peerId, name: peerId, labels: {}, version: V, state: 'up-to-date', upToDate: true, stale: false, propagationMs: null, lastSeenSecondsAgo: 1,
    missing: false, publicAddress: null, meshAddresses: [], peers: 2, fetchedVersion: V, fetchedSecondsAgo: 1, takesRollouts: true,
    health: { version: V, healthy: true, failing: [], alreadyDown: [] },
    ...extra
  }
}

const during: WaveClock = { reachedAt: REACHED, now: REACHED + 5_000, bakeOver: false, reportsDue: false }
const over: WaveClock = { reachedAt: REACHED, now: REACHED + 30_000, bakeOver: true, reportsDue: true }
const judge = (reports: EdgeReport[], clock: WaveClock, wave = reports.map(r => r.peerId)): ReturnType<typeof judgeWave> =>
  judgeWave(V, wave, new Map(reports.map(r => [r.peerId, r])), clock)

test('a wave passes only once its bake is over and every edge serves the version, its backends answer and its proxy took it', t => {
  t.is(judge([report('a'), report('b')], during).outcome, 'wait')
  t.is(judge([report('a'), report('b')], over).outcome, 'pass')
})

test('an edge reporting failing backends fails the wave at once, naming them', t => {
  const gate = judge([report('a'), report('b', { health: { version: V, healthy: false, failing: ['http/api'], alreadyDown: [] } })], during)
  t.is(gate.outcome, 'fail')
  t.deepEqual(gate.edges.map(edge => [edge.peerId, edge.verdict, edge.reason]), [['a', 'healthy', null], ['b', 'unhealthy', 'backends that do not answer from this edge: http/api']])
})

test('an edge that does not report in time counts as unhealthy, and the gate says which and why', t => {
  const reasons = (reports: EdgeReport[], wave?: string[]): Array<string | null> => judge(reports, over, wave).edges.map(edge => edge.reason)
  t.deepEqual(reasons([], ['gone']), ['has not reported'])
  t.deepEqual(reasons([report('a', { version: V - 1 })]), [`serves version ${V - 1}, not ${V}`])
  t.deepEqual(reasons([report('a', { missing: true, lastSeenSecondsAgo: 50 })]), ['silent for 50 s'])
  t.deepEqual(reasons([report('a', { health: null })]), [`has not reported its backends' health for version ${V}`])
  t.deepEqual(reasons([report('a', { fetchedVersion: V - 1, fetchedSecondsAgo: 3 })]), [`its proxy has not fetched version ${V} (it last fetched ${V - 1})`])
  t.is(judge([], during, ['gone']).outcome, 'wait', 'before reports are due, silence only waits')
})

test('health is judged against the edge before the change: a backend down before, or a proxy silent before, is reported and does not block', t => {
  const gate = judge([
    report('a', { health: { version: V, healthy: true, failing: [], alreadyDown: ['http/legacy'] } }),
    report('b', { fetchedVersion: V - 1, fetchedSecondsAgo: 600 }),
    report('c', { fetchedVersion: null, fetchedSecondsAgo: null })
  ], over)
  t.is(gate.outcome, 'pass')
  t.deepEqual(gate.edges.map(edge => edge.reason), [
    'down before the change too: http/legacy',
    'its proxy was silent before the change (last fetch 600 s ago; not held against it)',
    'its proxy has not fetched the config since the edge started (not held against the change)'
  ])
})
