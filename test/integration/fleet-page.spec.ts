import test from 'ava'
import { chromiumMissing, launchChromium } from '../fixtures/browser.js'
import { meshKeys, publisherWithRoute, routeFragment, startEdge, startPublisher, writeFragment } from '../fixtures/mesh.js'
import { listeningBackend } from '../../simulations/backends.js'
import { tempDir } from '../fixtures/temp-dir.js'
import type { Publisher } from '../../cluster-publisher/create-publisher.js'
import { waitFor } from '../../simulations/wait-for.js'
import type { ExecutionContext } from 'ava'
import type { PublisherStatus } from '../../cluster-publisher/publisher-status.js'

const TOKEN = 'fleet-page-token'
/** Generous: a busy machine is slow, not wrong. */
const LIMIT_MS = 60_000

/** A publisher behind a token, beaconing only when it publishes, and two edges: `quiet` goes stale 3 s after the last news. */
async function fleet (t: ExecutionContext): Promise<{ publisher: Publisher, fragments: string, quiet: Awaited<ReturnType<typeof startEdge>>, other: Awaited<ReturnType<typeof startEdge>>, url: string }> {
  const { keys, fragments, publisher } = await publisherWithRoute(t, 'whoami', { adminToken: TOKEN, beaconIntervalMs: 600_000 })
  const quiet = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), staleAfterMs: 3000, publicAddress: '203.0.113.7', name: 'quiet-edge', labels: { tier: 'canary' } })
  const other = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('both edges reported', () => publisher.status().edges.length === 2 ? true : undefined)
  return { publisher, fragments, quiet, other, url: publisher.adminUrl() ?? '' }
}

test('the status feed and the page need the token; the feed sends the status at once as a server-sent event, until the publisher stops', async t => {
  const { publisher } = await publisherWithRoute(t, 'whoami', { adminToken: TOKEN })
  const url = publisher.adminUrl() ?? ''
  for (const path of ['/', '/events']) {
    const refused = await fetch(`${url}${path}`)
    t.is(refused.status, 401, path)
    t.true(refused.headers.get('www-authenticate')?.includes('Basic'), 'a browser is asked for the token')
  }
  const page = await fetch(`${url}/`, { headers: { authorization: `Bearer ${TOKEN}` } })
  t.is(page.status, 200)
  t.regex(page.headers.get('content-security-policy') ?? '', /default-src 'none'.*script-src 'sha256-/)
  t.notRegex(await page.text(), /(src|href)="(https?:)?\/\//, 'nothing loaded from elsewhere')

  await waitFor('a version', () => publisher.status().version ?? undefined)
  const events = await fetch(`${url}/events`, { headers: { authorization: `Bearer ${TOKEN}` } })
  t.is(events.headers.get('content-type'), 'text/event-stream')
  const reader = (events.body as ReadableStream<Uint8Array>).getReader()
  let text = ''
  while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value)
  const [event, data] = text.split('\n')
  t.is(event, 'event: status')
  const status = JSON.parse((data ?? '').replace(/^data: /, '')) as PublisherStatus
  t.is(status.version, publisher.status().version)
  t.deepEqual(status.fragments.map(f => f.source), ['whoami.yaml'])

  await publisher.stop()
  const ended = new Promise<boolean>(resolve => { void (async () => { while (!(await reader.read()).done); resolve(true) })() })
  t.true(await Promise.race([ended, new Promise<boolean>(resolve => setTimeout(() => { resolve(false) }, LIMIT_MS))]), 'stopping the publisher ends the stream')
})

test('a POST from another origin is refused, whatever credentials it carries', async t => {
  const { publisher } = await publisherWithRoute(t, 'whoami', { adminToken: TOKEN })
  const version = await waitFor('a version', () => publisher.status().version ?? undefined)
  const url = publisher.adminUrl() ?? ''
  const basic = `Basic ${Buffer.from(`operator:${TOKEN}`).toString('base64')}`
  const forged = await fetch(`${url}/pin`, { method: 'POST', headers: { authorization: basic, origin: 'https://evil.example', 'content-type': 'application/json' }, body: JSON.stringify({ version }) })
  t.is(forged.status, 403)
  t.regex(((await forged.json()) as { error: string }).error, /from https:\/\/evil\.example .* refused/)
  t.is(publisher.status().pinned, null)
  const own = await fetch(`${url}/pin`, { method: 'POST', headers: { authorization: basic, origin: url, 'content-type': 'application/json' }, body: JSON.stringify({ version }) })
  t.is(own.status, 200, 'the page\'s own origin may')
})

const browserTest = chromiumMissing === undefined ? test : test.skip
const skipped = chromiumMissing === undefined ? '' : ` (skipped: ${chromiumMissing})`

browserTest(`in Chromium, the fleet page refuses without the token, then follows a fragment edit, a stale and a missing edge live, sorts, filters, and pins and unpins${skipped}`, async t => {
  const { publisher, fragments, quiet, other, url } = await fleet(t)
  const browser = await launchChromium(t)

  const stranger = await browser.newContext({ httpCredentials: { username: 'operator', password: 'wrong' } })
  const refused = await (await stranger.newPage()).goto(url)
  t.is(refused?.status(), 401)
  t.notRegex(await refused?.text() ?? '', /Fragments/)

  const context = await browser.newContext({ httpCredentials: { username: 'operator', password: TOKEN } })
  const page = await context.newPage()
  page.on('dialog', dialog => { void dialog.accept() })
  t.is((await page.goto(url))?.status(), 200)
  const first = publisher.status().version ?? 0
  const quietPeer = quiet.peerId() ?? ''
  const otherPeer = other.peerId() ?? ''
  const row = (peer: string): string => `#edges-body tr[data-peer="${peer}"]`
  await page.locator('#live.live').waitFor({ timeout: LIMIT_MS })
  await page.locator(`${row(quietPeer)} >> text=203.0.113.7`).waitFor({ timeout: LIMIT_MS })
  await page.locator(row(otherPeer)).waitFor({ timeout: LIMIT_MS })
  t.is(await page.locator(`${row(quietPeer)} td`).first().textContent(), 'quiet-edge', 'its name instead of its peer id')
  await page.fill('#edge-filter', 'tier=canary')
  await waitFor('only the canary shown', async () => await page.locator('#edges-body tr').count() === 1 ? true : undefined)
  t.is(await page.locator('#edges-body tr').getAttribute('data-peer'), quietPeer)
  await page.fill('#edge-filter', '')
  t.is(await page.locator('#version').textContent(), `v${first}`)
  t.is(await page.locator('#fragments-body tr[data-source="whoami.yaml"] .badge').textContent(), 'accepted')
  await page.evaluate(() => { (globalThis as unknown as { notReloaded: boolean }).notReloaded = true })

  await writeFragment(fragments, 'echo.yaml', routeFragment('echo', 'echo.example.com'))
  await page.locator('#fragments-body tr[data-source="echo.yaml"] .badge.accepted').waitFor({ timeout: LIMIT_MS })
  const second = await waitFor('the edit published', () => (publisher.status().version ?? 0) > first ? publisher.status().version ?? undefined : undefined)
  await page.locator(`#version >> text=v${second}`).waitFor({ timeout: LIMIT_MS })
  await page.locator(`#history-body tr[data-version="${second}"] >> text=echo.yaml`).waitFor({ timeout: LIMIT_MS })

  await page.locator(`${row(quietPeer)} .badge.stale`).waitFor({ timeout: LIMIT_MS })
  await page.fill('#edge-filter', 'stale')
  await waitFor('only the stale edge shown', async () => await page.locator('#edges-body tr').count() === 1 ? true : undefined)
  t.is(await page.locator('#edges-body tr').getAttribute('data-peer'), quietPeer)
  await page.fill('#edge-filter', '')
  const shownPeers = async (): Promise<string[]> => await page.locator('#edges-body tr').evaluateAll(rows => rows.map(row => row.getAttribute('data-peer') ?? ''))
  await page.click('#edges-head >> text="Edge"')
  // By what the column shows: the name where given, else the peer id.
  const descending = [['quiet-edge', quietPeer], [otherPeer, otherPeer]].sort(([a = ''], [b = '']) => a < b ? 1 : -1).map(([, peer]) => peer).join()
  await waitFor('sorted by edge, descending', async () => {
    const shown = await shownPeers()
    return shown.length === 2 && shown.join() === descending ? true : undefined
  })

  await page.click(`#history-body tr[data-version="${first}"] button.pin`)
  await page.locator(`#pinned-text >> text=Pinned to version ${first}`).waitFor({ timeout: LIMIT_MS })
  t.is(publisher.status().pinned?.version, first)
  await page.click('#unpin')
  await page.locator('#pinned').waitFor({ state: 'hidden', timeout: LIMIT_MS })
  t.is(publisher.status().pinned, null)

  await other.stop()
  await page.locator(`${row(otherPeer)} .badge.missing`).waitFor({ timeout: LIMIT_MS })
  t.true(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded === true), 'all of it without a reload')
  t.is(await page.locator('#message').isHidden(), true, 'no error shown')
})

browserTest(`in Chromium, the fleet page shows a rollout's waves and each edge's health, and promotes and aborts it${skipped}`, async t => {
  const backend = await listeningBackend()
  t.teardown(backend.close)
  const live = backend.url
  const keys = meshKeys()
  const fragments = await tempDir(t)
  await writeFragment(fragments, 'app.yaml', routeFragment('app', 'app.example.com', live))
  const publisher = await startPublisher(t, keys, fragments, { adminToken: TOKEN, rollout: 'waves:\n  - {name: canary, edges: {tier: canary}, bake: 1h}\n  - {name: everyone}\n' })
  await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), name: 'canary-1', labels: { tier: 'canary' } })
  await startEdge(t, keys, { bootstrap: publisher.mesh.addresses(), name: 'other' })
  await waitFor('both edges reported', () => publisher.status().edges.filter(edge => edge.version !== null).length === 2 ? true : undefined)
  const browser = await launchChromium(t)
  const context = await browser.newContext({ httpCredentials: { username: 'operator', password: TOKEN } })
  const page = await context.newPage()
  page.on('dialog', dialog => { void dialog.accept() })
  await page.goto(publisher.adminUrl() ?? '')
  await page.locator('#rollout-policy >> text=waves canary, everyone').waitFor({ timeout: LIMIT_MS })
  // The first version went out before any edge was known: every wave was skipped.
  t.regex(await page.locator('#rollout-summary').textContent() ?? '', /complete 0 of 0 waves reached/)

  await writeFragment(fragments, 'more.yaml', routeFragment('more', 'more.example.com', live))
  await page.locator('#rollout-body tr[data-wave="canary"] .badge.healthy').waitFor({ timeout: LIMIT_MS })
  t.regex(await page.locator('#rollout-summary').textContent() ?? '', /rolling 1 of 2 waves reached, \d+ s left in the bake/)
  t.is(await page.locator('#rollout-body tr[data-wave="canary"] td').nth(2).textContent(), 'canary-1')
  await page.click('#promote-all')
  await page.locator('#rollout-summary .badge.complete').waitFor({ timeout: LIMIT_MS })

  await writeFragment(fragments, 'third.yaml', routeFragment('third', 'third.example.com', live))
  await page.locator('#rollout-summary .badge.rolling').waitFor({ timeout: LIMIT_MS })
  await page.click('#abort')
  await page.locator('#rollout-summary .badge.rolled-back').waitFor({ timeout: LIMIT_MS })
  t.is(await page.locator('#rollout-reason').textContent(), 'aborted by the operator')
  t.true(await page.locator('#promote').isDisabled(), 'nothing to promote once it has ended')
  t.is(await page.locator('#message').isHidden(), true, 'no error shown')
})
