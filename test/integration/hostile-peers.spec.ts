import test from 'ava'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { canonicalBytes } from '../../node/canonical-json.js'
import { beaconTopic, configTopic, statusTopic, syncProtocol } from '../../node/constants.js'
import { sealEnvelope } from '../../node/envelope.js'
import { sealBeacon } from '../../node/head-beacon.js'
import { generateSwarmKey, parseSwarmKey } from '../../node/swarm-key.js'
import { MESH, meshKeys, publisherWithRoute, startEdge } from '../fixtures/mesh.js'
import { rawNode } from '../fixtures/raw-node.js'
import { waitFor } from '../../simulations/wait-for.js'

test('a node without the swarm key cannot connect at all', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const stranger = await rawNode(t, parseSwarmKey(generateSwarmKey(), 'stranger'))
  await t.throwsAsync(stranger.dial(multiaddr(publisher.mesh.addresses()[0] ?? '')))
  t.deepEqual(publisher.mesh.peers(), [])
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  await waitFor('an honest edge still connects', () => edge.mesh.peers().length > 0 ? true : undefined)
})

test('a member gossiping forgeries, garbage, replays and rollbacks is rejected, counted and scored down', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const edge = await startEdge(t, keys, { bootstrap: publisher.mesh.addresses() })
  const served = await waitFor('the edge serves', () => {
    const version = edge.status().version
    return version !== null && version === publisher.status().version ? version : undefined
  })

  const hostile = await rawNode(t, keys.swarmKey)
  for (const topic of [configTopic(MESH), beaconTopic(MESH), statusTopic(MESH)]) hostile.services.pubsub.subscribe(topic)
  await hostile.dial(multiaddr(edge.mesh.addresses()[0] ?? ''))
  await waitFor('the hostile member joins the topic', () => hostile.services.pubsub.getSubscribers(configTopic(MESH)).length > 0 ? true : undefined)

  const forger = meshKeys().signingKey
  const body = canonicalBytes({ http: { routers: { evil: { rule: 'Host(`evil`)', service: 'evil' } } } })
  const forged = sealEnvelope({ mesh: MESH, version: served + 1000, issuedAt: new Date(), body }, forger)
  const current = edge.latest.current()
  // A replay of the served envelope, and an older version the edge must never go back to.
  const replay = current?.bytes ?? new Uint8Array()
  const rollback = sealEnvelope({ mesh: MESH, version: 1, issuedAt: new Date(), body }, keys.signingKey)
  await hostile.services.pubsub.publish(configTopic(MESH), replay)
  await hostile.services.pubsub.publish(configTopic(MESH), rollback.bytes)
  await hostile.services.pubsub.publish(configTopic(MESH), forged.bytes)
  await hostile.services.pubsub.publish(configTopic(MESH), new TextEncoder().encode('garbage'))
  await hostile.services.pubsub.publish(beaconTopic(MESH), sealBeacon(forged.head, new Date(), forger))
  await hostile.services.pubsub.publish(statusTopic(MESH), canonicalBytes({ peerId: edge.mesh.peerId, lies: true }))

  const metrics = await waitFor('the edge counts every rejection', async () => {
    const text = await (await fetch(`${edge.serveUrl() ?? ''}/metrics`)).text()
    return /outcome="untrusted-key"\} [1-9]/.test(text) && /outcome="invalid"\} [1-9]/.test(text) ? text : undefined
  })
  t.regex(metrics, /dime_envelope_offers_total\{outcome="older-version"\} [1-9]/)
  // Scores are recomputed on gossipsub's heartbeat.
  await waitFor('the sender is graylisted', () => edge.mesh.score(hostile.peerId.toString()) < -80 ? true : undefined)
  t.is(edge.status().version, served)
  t.false((await (await fetch(`${edge.serveUrl() ?? ''}/config`)).text()).includes('evil'))
})

test('hostile sync streams (oversized length, truncation, garbage) are dropped and the node keeps answering', async t => {
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
  // An honest request on the same connection still gets the envelope.
  const stream = await hostile.dialProtocol(target, syncProtocol(MESH))
  const framed = lpStream(stream, { maxDataLength: 1024 * 1024 })
  await framed.write(canonicalBytes({ have: 0 }))
  const reply = await framed.read()
  t.is(Buffer.from(reply.subarray(0, 4)).toString('latin1'), 'DIME')
  t.is(publisher.mesh.peers().length, 1)
})
