// The baseline of the all-processes benchmarks: a libp2p node with the same
// transports and services as a dime node (TCP, pnet, Noise, Yamux, identify,
// ping, gossipsub with the mesh's IP-colocation setting) and nothing of dime's.
// Bundled by the benchmark with esbuild, as `npm run build` bundles the programs, so it runs as they do.
//
//   node bare-libp2p-node.js SWARM_KEY_FILE [BOOTSTRAP_MULTIADDR…]
//
// JSON lines on stdout: {"msg":"listening","address"}, {"msg":"published","seq","time"},
// {"msg":"received","seq","time"}; stdin takes "publish SEQ BYTES" lines.
import '../../node/polyfills.js'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

const TOPIC = 'bench'
const [swarmKeyFile, ...bootstrap] = process.argv.slice(2)
if (swarmKeyFile === undefined) throw new Error('usage: bare-libp2p-node SWARM_KEY_FILE [BOOTSTRAP…]')

const now = (): number => performance.timeOrigin + performance.now()
const say = (line: Record<string, unknown>): void => { process.stdout.write(`${JSON.stringify(line)}\n`) }

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionProtector: preSharedKey({ psk: readFileSync(swarmKeyFile) }),
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionManager: { inboundConnectionThreshold: 100, maxIncomingPendingConnections: 100 },
  services: {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false, scoreParams: { IPColocationFactorWeight: 0 } })
  }
})
node.services.pubsub.subscribe(TOPIC)
node.services.pubsub.addEventListener('message', event => {
  say({ msg: 'received', seq: new DataView(event.detail.data.buffer, event.detail.data.byteOffset).getUint32(0), time: now() })
})
for (const address of bootstrap) void node.dial(multiaddr(address)).catch(err => { say({ msg: 'dial failed', address, err: (err as Error).message }) })
say({ msg: 'listening', address: node.getMultiaddrs()[0]?.toString(), time: now() })

createInterface({ input: process.stdin }).on('line', line => {
  const [command, seq, bytes] = line.split(' ')
  if (command !== 'publish') return
  const data = new Uint8Array(Number(bytes))
  new DataView(data.buffer).setUint32(0, Number(seq))
  say({ msg: 'published', seq: Number(seq), time: now() })
  void node.services.pubsub.publish(TOPIC, data)
})
process.once('SIGTERM', () => { void (async () => { await node.stop(); process.exit(0) })() })
