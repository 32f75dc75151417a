import test from 'ava'
import { dime } from '../fixtures/dime-process.js'
import { publisherWithRoute, startEdge } from '../fixtures/mesh.js'
import { waitFor } from '../../simulations/wait-for.js'

test('dime status shows a publisher\'s fragments and the edges it hears from, as a table', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('the edge reported', () => publisher.status().edges.length === 1 ? true : undefined)
  const admin = new URL(publisher.adminUrl() ?? '')
  const result = await dime('status', '--admin', admin.host)
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /^leader: true$/m)
  t.regex(result.stdout, /SOURCE\s+STATUS\n\s+whoami\.yaml\s+accepted/)
  t.regex(result.stdout, /PEER ID\s+VERSION\s+UP TO DATE/)
})

test('dime status against an address where nothing listens says so and exits 2', async t => {
  const result = await dime('status', '--admin', '127.0.0.1:1')
  t.is(result.code, 2)
  t.regex(result.stderr, /cannot get http:\/\/127\.0\.0\.1:1\/status/)
})
