import test from 'ava'
import { dime } from '../fixtures/dime-process.js'
import { join } from 'node:path'
import { fileEnvelopeStore } from '../../node/file-envelope-store.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { servedRouters } from '../fixtures/kube.js'
import { meshKeys, publisherWithRoute, routeFragment, startEdge, startPublisher, writeFragment } from '../fixtures/mesh.js'
import { tempDir } from '../fixtures/temp-dir.js'
import { waitFor } from '../../simulations/wait-for.js'

test('dime status shows a publisher\'s fragments and the edges it hears from, as a table', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('the edge reported up to date', () => publisher.status().edges.length === 1 && publisher.status().edges[0]?.state === 'up-to-date' ? true : undefined)
  const admin = new URL(publisher.adminUrl() ?? '')
  const result = await dime('status', '--admin', admin.host)
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /^leader: true$/m)
  t.regex(result.stdout, /SOURCE\s+STATUS\n\s+whoami\.yaml\s+accepted/)
  t.regex(result.stdout, /PEER ID\s+NAME\s+LABELS\s+VERSION\s+STATE\s+UP TO DATE/)
  t.regex(result.stdout, /\s\d+\s+up-to-date\s+true\s/)
  t.regex(result.stdout, /pinned: -\n/)
})

test('dime status against an address where nothing listens says so and exits 2', async t => {
  const result = await dime('status', '--admin', '127.0.0.1:1')
  t.is(result.code, 2)
  t.regex(result.stderr, /cannot get http:\/\/127\.0\.0\.1:1\/status/)
})

test('dime history lists the versions with what changed; dime diff compares two; an unknown version gets the publisher\'s answer', async t => {
  const { fragments, publisher } = await publisherWithRoute(t)
  const first = await waitFor('the first version', () => publisher.status().version ?? undefined)
  await writeFragment(fragments, 'echo.yaml', routeFragment('echo', 'echo.example.com'))
  const second = await waitFor('a second version', () => (publisher.status().version ?? 0) > first ? publisher.status().version ?? undefined : undefined)
  const admin = new URL(publisher.adminUrl() ?? '').host

  const history = await dime('history', '--admin', admin)
  t.is(history.code, 0, history.stderr)
  t.regex(history.stdout, /VERSION\s+ISSUED AT\s+SHA256\s+FRAGMENTS CHANGED\s+CHANGES/)
  t.regex(history.stdout, new RegExp(`^${second}\\s.*echo\\.yaml\\s+http\\.routers \\+1, http\\.services \\+1$`, 'm'))
  t.regex(history.stdout, new RegExp(`^${first}\\s.*whoami\\.yaml`, 'm'))

  const diff = await dime('diff', String(first), String(second), '--admin', admin)
  t.is(diff.code, 0, diff.stderr)
  t.is(diff.stdout, 'http.routers:\n  + echo\nhttp.services:\n  + echo\n')

  const unknown = await dime('diff', '1', String(second), '--admin', admin)
  t.is(unknown.code, 2)
  t.regex(unknown.stderr, /HTTP 404: version 1 is not in the history/)
  const notANumber = await dime('diff', 'latest', String(second), '--admin', admin)
  t.is(notANumber.code, 2)
  t.regex(notANumber.stderr, /<from> "latest" is not a version number/)
})

test('dime pin holds the mesh at an earlier version through fragment edits and a publisher restart, and says so; dime unpin lifts it', async t => {
  const keys = meshKeys()
  const fragments = await tempDir(t)
  const stateStore = fileEnvelopeStore(join(await tempDir(t), 'publisher-state.bin'))
  await writeFragment(fragments, 'whoami.yaml', routeFragment('whoami', 'whoami.example.com'))
  const publisher = await startPublisher(t, keys, fragments, { stateStore })
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  const first = await waitFor('the first version', () => publisher.status().version ?? undefined)
  await writeFragment(fragments, 'echo.yaml', routeFragment('echo', 'echo.example.com'))
  await waitFor('echo served', async () => JSON.stringify(await servedRouters(edge)) === '["echo","whoami"]' ? true : undefined)
  const admin = new URL(publisher.adminUrl() ?? '').host

  const pinned = await dime('pin', String(first), '--admin', admin)
  t.is(pinned.code, 0, pinned.stderr)
  t.regex(pinned.stdout, new RegExp(`^pinned to version ${first} since `))
  await waitFor('the pinned config served, as a newer version', async () => JSON.stringify(await servedRouters(edge)) === '["whoami"]' ? true : undefined)
  t.true((edge.status().version ?? 0) > first)
  await writeFragment(fragments, 'third.yaml', routeFragment('third', 'third.example.com'))
  await waitFor('the new fragment taken in', () => publisher.status().fragments.some(f => f.source === 'third.yaml') ? true : undefined)
  t.deepEqual(await servedRouters(edge), ['whoami'], 'still pinned, whatever the fragments do')
  t.is(publisher.status().pinned?.version, first)
  t.is(await scrapeMetric(publisher.adminUrl() ?? '', 'dime_publisher_pinned_version'), first)

  await publisher.stop()
  const restarted = await startPublisher(t, keys, fragments, { stateStore })
  restarted.mesh.learnPeer(edge.mesh.peerId, edge.mesh.addresses())
  await waitFor('the restarted publisher publishes', () => restarted.status().version ?? undefined)
  t.is(restarted.status().pinned?.version, first, 'the pin survives the restart')
  t.deepEqual(await servedRouters(edge), ['whoami'])

  const unpinned = await dime('unpin', '--admin', new URL(restarted.adminUrl() ?? '').host)
  t.is(unpinned.code, 0, unpinned.stderr)
  await waitFor('every fragment served again', async () => JSON.stringify(await servedRouters(edge)) === '["echo","third","whoami"]' ? true : undefined)
  t.is(restarted.status().pinned, null)

  const unknown = await dime('pin', '999999', '--admin', new URL(restarted.adminUrl() ?? '').host)
  t.is(unknown.code, 2)
  t.regex(unknown.stderr, /HTTP 404: version 999999 is not in the history/)
})
