import type { PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import { lpStream } from '@libp2p/utils'

/**
 * Asks a peer over `protocol` by opening a stream and reading the one
 * length-prefixed frame it answers with (at most `maxBytes`); the stream is
 * closed, or aborted on any failure, which is thrown.
 */
export async function readOneFrame (connectionManager: ConnectionManager, peer: PeerId, protocol: string, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const signal = AbortSignal.timeout(timeoutMs)
  const stream = await connectionManager.openStream(peer, protocol, { signal })
  try {
    const answer = (await lpStream(stream, { maxDataLength: maxBytes }).read({ signal })).subarray()
    await stream.close({ signal })
    return answer
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** Answers a stream with one length-prefixed frame and closes it; on a failure the stream is aborted and the error thrown. */
export async function writeOneFrame (stream: Stream, frame: Uint8Array, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    await lpStream(stream).write(frame, { signal })
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
