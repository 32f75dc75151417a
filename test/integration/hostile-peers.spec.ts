import test from 'ava'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { brotliCompressSync } from 'node:zlib'
import { compressBody } from '../../node/body-codec.js'
import { canonicalBytes } from '../../node/canonical-json.js'
import { beaconTopic, ENVELOPE_MAGIC, SIGNATURE_DOMAIN, statusTopic, syncProtocol } from '../../node/constants.js'
import { sealEnvelope, sha256Hex, type Envelope } from '../../node/envelope.js'
import { sealBeacon } from '../../node/head-beacon.js'
import { encodeFrame } from '../../node/signed-frame.js'
import { decodeSyncReply, encodeSyncReply, type SyncReply } from '../../node/sync-messages.js'
import { generateSwarmKey, parseSwarmKey } from '../../node/swarm-key.js'
import { MESH, meshKeys, publisherWithRoute, startEdge } from '../fixtures/mesh.js'
import { dialMember, rawNode } from '../fixtures/raw-node.js'
import { waitFor } from '../../simulations/wait-for.js'

async function metricsOf (url: string | undefined): Promise<string> {
  return await (await fetch(`${url ?? ''}/metrics`)).text()
}

test('a node without the swarm key cannot connect at all', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const stranger = await rawNode(t, parseSwarmKey(generateSwarmKey(), 'stranger'))
  await t.throwsAsync(stranger.dial(multiaddr(publisher.mesh.addresses()[0] ?? '')))
  t.deepEqual(publisher.mesh.peers(), [])
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('an honest edge still connects', () => edge.mesh.peers().length > 0 ? true : undefined)
})

test('a member gossiping forged, garbage and replayed beacons is rejected, counted and scored down', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  const served = await waitFor('the edge serves', () => {
    const version = edge.status().version
    return version !== null && version === publisher.status().version ? version : undefined
  })

  // Two senders: once one rejection graylists a sender (at gossipsub's next heartbeat, which a busy
  // machine may run between two of its messages), nothing more from it is even validated.
  const [hostile, vandal] = await Promise.all([rawNode(t, keys.swarmKey), rawNode(t, keys.swarmKey)])
  for (const node of [hostile, vandal]) {
    for (const topic of [beaconTopic(MESH), statusTopic(MESH)]) node.services.pubsub.subscribe(topic)
    await dialMember(node, edge.mesh.addresses()[0])
    await waitFor('the hostile member joins the topic', () => node.services.pubsub.getSubscribers(beaconTopic(MESH)).length > 0 ? true : undefined)
  }

  const forger = meshKeys().signingKey
  const body = canonicalBytes({ http: { routers: { evil: { rule: 'Host(`evil`)', service: 'evil' } } } })
  const forged = sealEnvelope({ mesh: MESH, version: served + 1000, issuedAt: new Date(), body }, forger)
  const current = edge.latest.current()?.head ?? forged.head
  // A replay is judged against the newest beacon heard: let a genuine one arrive first.
  await waitFor('a genuine beacon heard', async () => /dime_beacons_total\{outcome="accepted"\} [1-9]/.test(await metricsOf(edge.serveUrl())) ? true : undefined)
  // A genuine beacon from long ago, replayed (ignored, at no cost to the sender's score), then a forgery.
  await hostile.services.pubsub.publish(beaconTopic(MESH), sealBeacon(current, new Date(0), keys.signingKey))
  await waitFor('the replay is counted', async () => /dime_beacons_total\{outcome="replayed"\} [1-9]/.test(await metricsOf(edge.serveUrl())) ? true : undefined)
  await hostile.services.pubsub.publish(beaconTopic(MESH), sealBeacon(forged.head, new Date(), forger))
  await vandal.services.pubsub.publish(beaconTopic(MESH), new TextEncoder().encode('garbage'))
  await vandal.services.pubsub.publish(statusTopic(MESH), canonicalBytes({ peerId: edge.mesh.peerId, lies: true }))

  const metrics = await waitFor('the edge counts every refusal', async () => {
    const text = await metricsOf(edge.serveUrl())
    return ['untrusted-key', 'invalid', 'replayed', 'accepted'].every(outcome => new RegExp(`dime_beacons_total\\{outcome="${outcome}"\\} [1-9]`).test(text)) ? text : undefined
  })
  // Genuine beacons are still heard through all this.
  const accepted = (text: string): number => Number(/dime_beacons_total\{outcome="accepted"\} (\d+)/.exec(text)?.[1] ?? 0)
  const before = accepted(metrics)
  await waitFor('another genuine beacon accepted', async () => accepted(await metricsOf(edge.serveUrl())) > before ? true : undefined)
  // Scores are recomputed on gossipsub's heartbeat.
  await waitFor('both senders are graylisted', () => [hostile, vandal].every(node => edge.mesh.score(node.peerId.toString()) < -80) ? true : undefined)
  t.is(edge.status().version, served)
  t.false((await (await fetch(`${edge.serveUrl() ?? ''}/config`)).text()).includes('evil'))
})

test('hostile sync requests (oversized length, truncation, garbage) are dropped and the node keeps answering', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  await waitFor('a first config', () => publisher.status().version ?? undefined)
  const hostile = await rawNode(t, keys.swarmKey)
  const target = multiaddr(publisher.mesh.addresses()[0] ?? '')
  const attacks: Array<Uint8Array> = [
    Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), // a length prefix of 4 GiB
    Uint8Array.from([0x10, 0x7b]), // promises 16 bytes, sends 1, then closes
    Uint8Array.from([0x05, 0x6e, 0x6f, 0x70, 0x65, 0x21]), // 5 bytes that are not a request
    canonicalBytes({ have: -1 })
  ]
  for (const attack of attacks) {
    const stream = await hostile.dialProtocol(target, syncProtocol(MESH))
    stream.send(attack)
    await stream.close().catch(() => {})
  }
  // An honest request on the same connection still gets the head and the compressed body.
  const stream = await hostile.dialProtocol(target, syncProtocol(MESH))
  const framed = lpStream(stream, { maxDataLength: 1024 * 1024 })
  await framed.write(canonicalBytes({ have: 0 }))
  t.deepEqual(decodeSyncReply((await framed.read()).subarray()), { form: 'full' })
  t.is(Buffer.from((await framed.read()).subarray(0, 4)).toString('latin1'), 'DIME')
  t.true((await framed.read()).byteLength > 0)
  t.is(publisher.mesh.peers().length, 1)
})

test('a member answering sync with forgeries, tampered bodies, bombs, bad deltas and old heads is refused and counted', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  const served = await waitFor('the edge serves', () => {
    const version = edge.status().version
    return version !== null && version === publisher.status().version ? version : undefined
  })

  // The hostile member answers every sync request with whatever `answer` says.
  let answer: (deltaBase: boolean) => Promise<{ reply: SyncReply, head?: Uint8Array, payload?: Uint8Array }> = async () => ({ reply: { form: 'none' } })
  const hostile = await rawNode(t, keys.swarmKey)
  await hostile.handle(syncProtocol(MESH), async (stream) => {
    const framed = lpStream(stream, { maxDataLength: 1024 * 1024 })
    const request = JSON.parse(new TextDecoder().decode((await framed.read()).subarray())) as { deltaBase?: number }
    const { reply, head, payload } = await answer(request.deltaBase !== undefined)
    await framed.writeV([encodeSyncReply(reply), ...head !== undefined ? [head] : [], ...payload !== undefined ? [payload] : []])
    await stream.close().catch(() => {})
  })
  await dialMember(hostile, edge.mesh.addresses()[0])
  const hostileId = hostile.peerId.toString()
  await waitFor('the edge sees the hostile member', () => edge.mesh.peers().includes(hostileId) ? true : undefined)

  const newer = (body: Uint8Array, version = served + 1): Envelope => sealEnvelope({ mesh: MESH, version, issuedAt: new Date(), body }, keys.signingKey)
  const goodBody = canonicalBytes({ http: { routers: { fine: { rule: 'Host(`fine`)', service: 'fine' } } } })
  const good = newer(goodBody)
  const full = async (envelope: Envelope, payload: Uint8Array): Promise<{ reply: SyncReply, head: Uint8Array, payload: Uint8Array }> =>
    ({ reply: { form: 'full' }, head: envelope.headBytes, payload })

  answer = async () => await full(sealEnvelope({ mesh: MESH, version: served + 1, issuedAt: new Date(), body: goodBody }, meshKeys().signingKey), await compressBody(goodBody))
  t.is(await edge.mesh.syncWith(hostileId), 'reject')

  // Same size as the signed body, other bytes.
  answer = async () => await full(good, await compressBody(canonicalBytes({ http: { routers: { fine: { rule: 'Host(`evil`)', service: 'fine' } } } })))
  t.is(await edge.mesh.syncWith(hostileId), 'reject')

  // 64 MiB of zeros in a few kilobytes, for a body whose signed size is small.
  answer = async () => await full(good, brotliCompressSync(Buffer.alloc(64 * 1024 * 1024)))
  t.is(await edge.mesh.syncWith(hostileId), 'reject')

  answer = async () => ({ reply: { form: 'full' }, head: newer(goodBody, 1).headBytes, payload: await compressBody(goodBody) })
  t.is(await edge.mesh.syncWith(hostileId), 'ignore')

  const huge = encodeFrame(ENVELOPE_MAGIC, SIGNATURE_DOMAIN, { ...good.head, bodySize: 65 * 1024 * 1024 }, keys.signingKey)
  answer = async () => ({ reply: { form: 'full' }, head: huge, payload: new Uint8Array(8) })
  t.is(await edge.mesh.syncWith(hostileId), 'ignore')

  const metrics = await metricsOf(edge.serveUrl())
  for (const outcome of ['untrusted-key', 'bad-signature', 'invalid', 'older-version', 'too-large']) {
    t.regex(metrics, new RegExp(`dime_envelope_offers_total\\{outcome="${outcome}"\\} [1-9]`), outcome)
  }
  t.is(edge.status().version, served)

  // A delta that does not give the signed body is dropped, and the whole body asked for instead.
  answer = async (wantsDelta) => wantsDelta
    ? { reply: { form: 'delta', base: served }, head: good.headBytes, payload: await compressBody(canonicalBytes([{ op: 'add', path: '/evil', value: 1 }])) }
    : await full(good, await compressBody(goodBody))
  t.is(await edge.mesh.syncWith(hostileId), 'accept')
  await edge.latest.settled()
  t.is(edge.status().configSha256, sha256Hex(goodBody))
})
