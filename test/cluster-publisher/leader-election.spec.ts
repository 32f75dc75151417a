import test, { type ExecutionContext } from 'ava'
import { CoordinationV1Api } from '@kubernetes/client-node'
import { LeaderElector } from '../../cluster-publisher/kubernetes/leader-election.js'
import { silentLogger } from '../../node/logger.js'
import { waitFor } from '../../simulations/wait-for.js'
import { fakeKubeApi, NAMESPACE } from '../fixtures/kube.js'
import type { FakeKubeApi } from '../../simulations/fake-kube-api.js'

/** Generous: a busy machine is slow, not wrong. */
const SETTLE_MS = 30_000

function elector (t: ExecutionContext, api: FakeKubeApi, identity: string, now?: () => number): LeaderElector {
  const elector = new LeaderElector({ leases: api.kubeConfig().makeApiClient(CoordinationV1Api) }, {
    namespace: NAMESPACE,
    leaseName: 'dime-publisher',
    identity,
    log: silentLogger(),
    leaseDurationMs: 1500,
    renewDeadlineMs: 1000,
    retryPeriodMs: 100,
    ...(now !== undefined ? { now } : {})
  })
  t.teardown(async () => { await elector.stop() })
  return elector
}

function holder (api: FakeKubeApi): string | undefined {
  return (api.get('leases', NAMESPACE, 'dime-publisher') as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity
}

test('one of two replicas leads; stopping releases the Lease and the other takes over', async t => {
  const api = await fakeKubeApi(t)
  const a = elector(t, api, 'a')
  const b = elector(t, api, 'b')
  a.start()
  await waitFor('a leads', () => a.isLeader() ? true : undefined, SETTLE_MS)
  b.start()
  await new Promise(resolve => setTimeout(resolve, 500))
  t.false(b.isLeader(), 'b waits while a renews')
  await a.stop()
  t.not(holder(api), 'a')
  await waitFor('b takes over', () => b.isLeader() ? true : undefined, SETTLE_MS)
  t.is(holder(api), 'b')
})

test('a replica that steps down gives the Lease up at once and stays out of the race while paused', async t => {
  const api = await fakeKubeApi(t)
  const a = elector(t, api, 'a')
  const stopped: string[] = []
  a.onStoppedLeading(() => { stopped.push('a') })
  a.start()
  await waitFor('a leads', () => a.isLeader() ? true : undefined, SETTLE_MS)
  await a.stepDown(1500)
  t.false(a.isLeader())
  t.deepEqual(stopped, ['a'])
  t.is(holder(api), undefined, 'the Lease is released, not left to expire')
  await new Promise(resolve => setTimeout(resolve, 700))
  t.false(a.isLeader(), 'nobody else wants it, yet a does not take it back while paused')
  await waitFor('a campaigns again after the pause', () => a.isLeader() ? true : undefined, SETTLE_MS)
})

test('a Lease whose holder stopped renewing is taken after one lease duration of this replica\'s own clock', async t => {
  const api = await fakeKubeApi(t)
  // The holder's renewTime is far in the past by any clock: only the time this replica watched it unchanged counts.
  api.apply('leases', { metadata: { name: 'dime-publisher', namespace: NAMESPACE }, spec: { holderIdentity: 'gone', leaseDurationSeconds: 2, renewTime: '2020-01-01T00:00:00.000000Z' } })
  let clock = 1_000_000
  const b = elector(t, api, 'b', () => clock)
  b.start()
  await waitFor('b has read the Lease', () => api.calls.some(call => call.resource === 'leases') ? true : undefined, SETTLE_MS)
  await new Promise(resolve => setTimeout(resolve, 300))
  t.false(b.isLeader())
  clock += 2_000
  await waitFor('b takes the expired Lease', () => b.isLeader() ? true : undefined, SETTLE_MS)
  t.is(holder(api), 'b')
})
