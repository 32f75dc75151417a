import test from 'ava'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { relayedReportsProtocol } from '../../node/constants.js'
import { encodeFrame, signedReport } from '../../node/mesh/report-relay.js'
import { encodeAnnouncement } from '../../node/peer-announcement.js'
import { scrapeMetric } from '../../simulations/scrape.js'
import { waitFor } from '../../simulations/wait-for.js'
import { MESH, publisherWithRoute } from '../fixtures/mesh.js'
import { dialMember, rawNode } from '../fixtures/raw-node.js'

function announcementOf (peerId: string): Uint8Array {
  return encodeAnnouncement({ peerId, version: null, bodySha256: null, receivedAt: null, stale: false, addresses: [], announcedAt: new Date().toISOString() })
}

test('relayed reports: one signed by its author is listed by the publisher; one about another peer, or garbage, is refused and counted, and the publisher goes on', async t => {
  const { keys, publisher } = await publisherWithRoute(t)
  const key = await generateKeyPair('Ed25519')
  const member = await rawNode(t, keys.swarmKey, key)
  await dialMember(member, publisher.mesh.addresses()[0])
  const self = peerIdFromPrivateKey(key).toString()
  const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const send = async (frames: Uint8Array[]): Promise<void> => {
    const stream = await member.dialProtocol(multiaddr(publisher.mesh.addresses()[0] ?? ''), relayedReportsProtocol(MESH))
    const framed = lpStream(stream)
    for (const frame of frames) await framed.write(frame)
    await stream.close().catch(() => {})
  }
  const refused = async (): Promise<number> => await scrapeMetric(publisher.adminUrl() ?? '', 'dime_relayed_reports_total', { outcome: 'refused' })
  const listed = async (): Promise<string[]> => ((await (await fetch(`${publisher.adminUrl() ?? ''}/status`)).json()) as { edges: Array<{ peerId: string }> }).edges.map(edge => edge.peerId)

  // Signed by this member but about another peer: the relay cannot vouch for it.
  const forged = await signedReport(key, announcementOf(stranger))
  await send([encodeFrame(forged)])
  await waitFor('the forged report is refused', async () => await refused() >= 1 ? true : undefined)
  await send([new TextEncoder().encode('{"announcement": 1}')])
  await waitFor('the malformed report is refused', async () => await refused() >= 2 ? true : undefined)

  await send([encodeFrame(await signedReport(key, announcementOf(self)))])
  await waitFor('the signed report is listed', async () => (await listed()).includes(self) ? true : undefined)
  t.false((await listed()).includes(stranger))
  t.is(await scrapeMetric(publisher.adminUrl() ?? '', 'dime_relayed_reports_total', { outcome: 'received' }), 1)
})
