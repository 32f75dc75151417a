import test from 'ava'
import { StatusWriter, type StatusTarget } from '../../cluster-publisher/kubernetes/status-writer.js'
import type { RouteStatusView } from '../../cluster-publisher/route-status.js'
import { silentLogger } from '../../node/logger.js'
import { waitFor } from '../../simulations/wait-for.js'

const view: RouteStatusView = { addresses: ['203.0.113.7'], fragments: [], pending: [] }

test('only objects whose status differs from what they should say are written; a failed write is retried', async t => {
  const objects = new Map<string, unknown>([['a', { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } }], ['b', {}]])
  const writes: string[] = []
  let failNext = true
  const writer = new StatusWriter({
    targets: (current): StatusTarget[] => [...objects.keys()].map(name => ({
      what: `Ingress traefik/${name}`,
      current: objects.get(name),
      desired: { loadBalancer: { ingress: current.addresses.map(ip => ({ ip })) } },
      write: async () => {
        writes.push(name)
        if (failNext) { failNext = false; throw new Error('409 Conflict') }
        objects.set(name, { loadBalancer: { ingress: current.addresses.map(ip => ({ ip })) } })
      }
    })),
    log: silentLogger(),
    resyncMs: 60_000,
    retryMinMs: 20
  })
  t.teardown(async () => { await writer.stop() })
  writer.start(() => view)
  await waitFor('b written after the conflict', () => writes.length === 2 ? true : undefined)
  t.deepEqual(writes, ['b', 'b'], 'a already said the right thing and was never written')
  writer.poke()
  await new Promise(resolve => setTimeout(resolve, 300))
  t.deepEqual(writes, ['b', 'b'], 'nothing differs any more')
})
