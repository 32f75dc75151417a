import test from 'ava'
import { StatusFeed } from '../../cluster-publisher/console/status-feed.js'
import { waitFor } from '../../simulations/wait-for.js'

test('the feed sends the status at once, then only when it changes, to everyone watching; a late subscriber makes no one miss a change', async t => {
  let status = { version: 1 }
  const feed = new StatusFeed(() => status)
  t.teardown(() => { feed.close() })
  const first: string[] = []
  const second: string[] = []
  const unsubscribe = feed.subscribe(json => first.push(json))
  t.deepEqual(first, ['{"version":1}'])
  status = { version: 2 }
  feed.subscribe(json => second.push(json))
  t.deepEqual(first, ['{"version":1}', '{"version":2}'], 'the change before the new subscriber came reached the first')
  t.deepEqual(second, ['{"version":2}'])
  status = { version: 3 }
  await waitFor('the change sent', () => second.length === 2 ? true : undefined)
  t.deepEqual(first, ['{"version":1}', '{"version":2}', '{"version":3}'])
  unsubscribe()
  status = { version: 4 }
  await waitFor('the next change sent', () => second.length === 3 ? true : undefined)
  t.is(first.length, 3, 'nothing after unsubscribing')
  t.is(second.at(-1), '{"version":4}')
})
