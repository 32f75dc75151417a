import { multiaddr } from '@multiformats/multiaddr'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { createPublisher } from '../cluster-publisher/create-publisher.js'
import { directorySource } from '../cluster-publisher/sources/directory-source.js'
import { createEdge, type Edge } from '../edge-subscriber/create-edge.js'
import { silentLogger } from '../node/logger.js'
import { generateSigningKeyPem, parseSigningKey, parseTrustedKey } from '../node/signing-keys.js'
import { generateSwarmKey, parseSwarmKey } from '../node/swarm-key.js'
import { waitFor } from '../simulations/wait-for.js'
import { timingFor } from '../simulations/world.js'
import { configWithRouters } from '../simulations/bench/configs.js'
import { percentile } from '../simulations/bench/stats.js'

const RAW_TOPIC = '/dime/bench/raw/1'
const MESH = 'bench'

export interface PropagationResult {
  edges: number
  routers: number
  bodyBytes: number
  gzipBytes: number
  rounds: number
  /** From the publisher signing to each edge serving (persisted first), in ms. */
  ours: { p50: number, p99: number }
  /** The same bytes published on a plain gossipsub topic of the same mesh, to each edge's validator, in ms. */
  raw: { p50: number, p99: number }
}

/** Publishes `rounds` configs of `routers` routers to `edgeCount` edges; compares with raw gossipsub on the same mesh. */
export async function measurePropagation (edgeCount: number, routers: number, rounds: number): Promise<PropagationResult> {
  const root = await mkdtemp(join(tmpdir(), 'dime-bench-'))
  const pem = generateSigningKeyPem()
  const swarmKey = parseSwarmKey(generateSwarmKey(), 'bench')
  const fragments = join(root, 'fragments')
  await mkdir(fragments)
  await writeFile(join(fragments, 'routes.json'), configWithRouters(routers, 'r0').fragment)
  const publisher = await createPublisher({
    mesh: MESH, source: directorySource({ directory: fragments }), signingKey: parseSigningKey(pem.privatePem, 'bench'),
    swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], log: silentLogger(), timing: timingFor(edgeCount)
  })
  await publisher.start()
  const rawArrivals = new Map<string, number[]>()
  const edges: Edge[] = []
  try {
    for (let i = 0; i < edgeCount; i++) {
      edges.push(await createEdge({
        mesh: MESH, trust: [parseTrustedKey(pem.publicPem, 'bench')], bootstrap: [multiaddr(publisher.mesh.addresses()[0] ?? '')], swarmKey,
        listen: ['/ip4/127.0.0.1/tcp/0'], dataDir: join(root, `edge-${i}`), serve: { host: '127.0.0.1', port: 0 }, log: silentLogger(), timing: timingFor(edgeCount),
        topics: [{
          topic: RAW_TOPIC,
          validate (data) {
            const round = Buffer.from(data.subarray(0, 16)).toString('latin1')
            rawArrivals.set(round, [...rawArrivals.get(round) ?? [], performance.now()])
            return 'accept'
          }
        }]
      }))
    }
    await Promise.all(edges.map(async edge => { await edge.start() }))
    await waitFor('every edge to serve the first config', () =>
      publisher.latest.current() !== undefined && edges.every(edge => edge.status().version === publisher.latest.current()?.head.version) ? true : undefined, 60_000, 2)
    // Let gossipsub build its mesh before measuring.
    await new Promise(resolve => setTimeout(resolve, 2000))

    const ours: number[] = []
    const raw: number[] = []
    let body: Uint8Array = new Uint8Array()
    for (let round = 1; round <= rounds; round++) {
      const signedAt = new Promise<number>(resolve => { const off = publisher.latest.onAccepted(() => { off(); resolve(performance.now()) }) })
      const servedAt = edges.map(edge => new Promise<number>(resolve => { const off = edge.latest.onAccepted(() => { off(); resolve(performance.now()) }) }))
      const config = configWithRouters(routers, `r${round}`)
      body = config.bytes
      await writeFile(join(fragments, 'routes.json'), config.fragment)
      const t0 = await signedAt
      const ts = (await Promise.all(servedAt)).map(t => Math.round(t - t0)); for (const t of ts) ours.push(t); console.log('round', round, ts.sort((a, b) => a - b).join(' '))
      await new Promise(resolve => setTimeout(resolve, 300))

      const envelope = publisher.latest.current()?.bytes ?? new Uint8Array()
      const tag = `round-${String(round).padStart(10, '0')}`
      const sent = performance.now()
      if (process.env.NORAW) continue
      await publisher.mesh.publish(RAW_TOPIC, Buffer.concat([Buffer.from(tag, 'latin1'), envelope]))
      await waitFor('raw delivery to every edge', () => (rawArrivals.get(tag)?.length ?? 0) >= edgeCount ? true : undefined, 60_000, 2)
      for (const t of rawArrivals.get(tag) ?? []) raw.push(t - sent)
      await new Promise(resolve => setTimeout(resolve, 300))
    }
    for (const e of edges) { const m = await (await fetch(`${e.serveUrl()}/metrics`)).text(); console.log(m.split('\n').filter(l => /dime_beacons_total\{|body_bytes|envelope_offers_total\{/.test(l)).join(' ; ')) }
    return {
      edges: edgeCount,
      routers,
      bodyBytes: body.byteLength,
      gzipBytes: gzipSync(body).byteLength,
      rounds,
      ours: { p50: percentile(ours, 50), p99: percentile(ours, 99) },
      raw: { p50: percentile(raw, 50), p99: percentile(raw, 99) }
    }
  } finally {
    await Promise.all(edges.map(async edge => { await edge.stop() }))
    await publisher.stop()
    await rm(root, { recursive: true, force: true })
  }
}
