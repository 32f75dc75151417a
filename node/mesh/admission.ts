import type { ConnectionGater, PeerId } from '@libp2p/interface'

/**
 * Limits the mesh to known peer ids (`--allow-peer`). The swarm key already
 * keeps strangers out; this keeps out a member whose key leaked elsewhere.
 * With no list, every holder of the swarm key is admitted.
 */
export function allowListGater (allowed: ReadonlySet<string> | undefined, inner: ConnectionGater = {}): ConnectionGater {
  const refused = (peer: PeerId): boolean => allowed !== undefined && !allowed.has(peer.toString())
  return {
    ...inner,
    denyDialPeer: async (peer) => refused(peer) || (await inner.denyDialPeer?.(peer) ?? false),
    denyInboundEncryptedConnection: async (peer, connection) => refused(peer) || (await inner.denyInboundEncryptedConnection?.(peer, connection) ?? false),
    denyOutboundEncryptedConnection: async (peer, connection) => refused(peer) || (await inner.denyOutboundEncryptedConnection?.(peer, connection) ?? false)
  }
}
