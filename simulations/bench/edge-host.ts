// Many edges in one process: the real edge code (createEdge), each with its
// own libp2p node, data folder and /config server on loopback, so a fleet
// larger than one process per edge allows runs in a few. Bundled by the
// benchmark with esbuild.
//
//   node edge-host.js SETUP_JSON
//
// SETUP_JSON: {"first","count","root","mesh","swarmKeyFile","trustFile","bootstrap":[…],"startGapMs"}.
// JSON lines on stdout: {"msg":"started","edges"} once all run;
// {"msg":"served","edge","version","time"} for each version an edge starts serving;
// {"msg":"stats","edges":[{"connections","knownPeers","version"}…],"rssMb"} after a "stats" line on stdin.
import '../../node/polyfills.js'
import { multiaddr } from '@multiformats/multiaddr'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { createEdge, type Edge } from '../../edge-subscriber/create-edge.js'
import { silentLogger } from '../../node/logger.js'
import { parseTrustedKey } from '../../node/signing-keys.js'
import { parseSwarmKey } from '../../node/swarm-key.js'

export interface EdgeHostSetup {
  /** The fleet-wide index of this host's first edge. */
  first: number
  count: number
  root: string
  mesh: string
  swarmKeyFile: string
  trustFile: string
  bootstrap: string[]
  /** Wait between two edges' starts, so the publisher is not asked by all at once. */
  startGapMs: number
}

const setup = JSON.parse(process.argv[2] ?? '{}') as EdgeHostSetup
const say = (line: Record<string, unknown>): void => { process.stdout.write(`${JSON.stringify(line)}\n`) }
const swarmKey = parseSwarmKey(readFileSync(setup.swarmKeyFile, 'utf8'), setup.swarmKeyFile)
const trust = [parseTrustedKey(readFileSync(setup.trustFile, 'utf8'), setup.trustFile)]

const edges: Edge[] = []
for (let i = setup.first; i < setup.first + setup.count; i++) {
  const edge = await createEdge({
    mesh: setup.mesh,
    trust,
    bootstrap: setup.bootstrap.map(address => multiaddr(address)),
    swarmKey,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dataDir: join(setup.root, `edge-${i}`),
    serve: { host: '127.0.0.1', port: 0 },
    log: silentLogger(),
    name: `edge-${i}`
  })
  edge.onServing(envelope => { say({ msg: 'served', edge: i, version: envelope.head.version, time: performance.timeOrigin + performance.now() }) })
  await edge.start()
  edges.push(edge)
  await new Promise(resolve => setTimeout(resolve, setup.startGapMs))
}
say({ msg: 'started', edges: edges.length })

createInterface({ input: process.stdin }).on('line', line => {
  if (line.trim() !== 'stats') return
  say({
    msg: 'stats',
    edges: edges.map(edge => ({ connections: edge.mesh.peers().length, knownPeers: edge.mesh.knownPeers(), version: edge.latest.current()?.head.version ?? null })),
    rssMb: process.memoryUsage().rss / 2 ** 20
  })
})

process.once('SIGTERM', () => {
  void Promise.allSettled(edges.map(async edge => { await edge.stop() })).then(() => { process.exit(0) })
})
