import type { ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort, spawnNodeAsDime, stopProcess } from '../../cli/processes.js'
import { ConfigPublisher } from '../../cluster-publisher/config-publisher.js'
import { HeadAnnouncer } from '../../cluster-publisher/head-announcer.js'
import type { JsonObject } from '../../cluster-publisher/json.js'
import { memoryEnvelopeStore } from '../../node/envelope-store.js'
import { PUBLISHER_MAX_CONNECTIONS } from '../../node/constants.js'
import { trustPolicy } from '../../node/envelope.js'
import { LatestEnvelope } from '../../node/latest-envelope.js'
import { silentLogger } from '../../node/logger.js'
import { peerKeyFromSigningKey } from '../../node/mesh/identity.js'
import { createMeshNode, type MeshNode } from '../../node/mesh/mesh-node.js'
import { generateSigningKeyPem, parseSigningKey } from '../../node/signing-keys.js'
import { generateSwarmKey, parseSwarmKey } from '../../node/swarm-key.js'
import { waitFor } from '../wait-for.js'
import { residentMb } from './node-processes.js'
import { configWithRouters, routersForSize } from './configs.js'

const DIME = fileURLToPath(new URL('../../bin/dime.js', import.meta.url))
const MESH = 'bench'
const RSS_SAMPLE_MS = 50

export interface BurstResult {
  edges: number
  versions: number
  bodyBytes: number
  /** One version alone, from signing to every edge serving it, in ms: the baseline. */
  singleMs: number
  /** From the first version of the burst signed to every edge serving the last, in ms. */
  convergeMs: number
  /** From the last version signed to every edge serving it, in ms. */
  afterLastMs: number
  /** Versions each edge accepted during the burst (the newest always among them). */
  acceptedPerEdge: { min: number, max: number }
  /** Resident memory of the edge processes: the largest before the burst, and the largest seen during it. */
  rssMb: { idle: number, peak: number }
}

interface EdgeProcess { child: ChildProcess, url: string }

async function servedVersion (edge: EdgeProcess): Promise<number | undefined> {
  try {
    const response = await fetch(`${edge.url}/config`, { method: 'HEAD' })
    return response.status === 200 ? Number(response.headers.get('x-dime-version')) : undefined
  } catch {
    return undefined
  }
}

async function acceptedCount (edge: EdgeProcess): Promise<number> {
  const text = await (await fetch(`${edge.url}/metrics`)).text()
  return Number(/dime_envelope_offers_total\{outcome="accepted"\} (\d+)/.exec(text)?.[1] ?? 0)
}

async function rssMb (edge: EdgeProcess): Promise<number> {
  return await residentMb(edge.child.pid)
}

/**
 * A publisher signing `versions` configs of about `bodyBytes` each within a
 * second, to `edgeCount` real `dime edge` processes on loopback. The
 * publisher is built from its own parts (signer, announcer, mesh node)
 * because the real one coalesces changes and would never sign this fast.
 */
export async function measureBurst (edgeCount: number, versions: number, bodyBytes: number): Promise<BurstResult> {
  const root = await mkdtemp(join(tmpdir(), 'dime-bench-burst-'))
  const pem = generateSigningKeyPem()
  const swarmKeyText = generateSwarmKey()
  await writeFile(join(root, 'publisher.pub'), pem.publicPem)
  await writeFile(join(root, 'swarm.key'), swarmKeyText)
  const signingKey = parseSigningKey(pem.privatePem, 'bench')
  const log = silentLogger()
  const latest = new LatestEnvelope({ trust: trustPolicy(MESH, [signingKey]), store: memoryEnvelopeStore(), log })
  const mesh: MeshNode = await createMeshNode({
    latest, swarmKey: parseSwarmKey(swarmKeyText, 'bench'), listen: ['/ip4/127.0.0.1/tcp/0'], privateKey: await peerKeyFromSigningKey(signingKey), makeDeltas: true, maxConnections: PUBLISHER_MAX_CONNECTIONS, forwardReports: false, log
  })
  const announcer = new HeadAnnouncer({ latest, mesh }, { signingKey, log })
  const signer = new ConfigPublisher({ latest, announce: async () => await announcer.announce() }, { signingKey })
  const routers = routersForSize(bodyBytes)
  const configs = Array.from({ length: versions + 2 }, (_, i) => JSON.parse(configWithRouters(routers, `v${i}`).fragment) as JsonObject)
  const edges: EdgeProcess[] = []
  try {
    await mesh.start()
    await signer.publish(configs[0] ?? {})
    for (let i = 0; i < edgeCount; i++) {
      const port = await freePort()
      await mkdir(join(root, `edge-${i}`))
      const child = spawnNodeAsDime([DIME, 'edge', '--mesh', MESH, '--trust', join(root, 'publisher.pub'), '--swarm-key', join(root, 'swarm.key'),
        '--data-dir', join(root, `edge-${i}`), '--listen', '/ip4/127.0.0.1/tcp/0', '--serve', `127.0.0.1:${port}`, '--bootstrap', mesh.addresses()[0] ?? ''],
      { stdio: 'ignore', env: { DIME_LOG_LEVEL: 'warn' } })
      edges.push({ child, url: `http://127.0.0.1:${port}` })
    }
    const allServe = async (version: number): Promise<void> => {
      await waitFor(`every edge to serve version ${version}`, async () =>
        (await Promise.all(edges.map(servedVersion))).every(served => served === version) ? true : undefined, 60_000, 10)
    }
    const newest = (): number => latest.current()?.head.version ?? 0
    await allServe(newest())
    await new Promise(resolve => setTimeout(resolve, 3000))

    let started = performance.now()
    await signer.publish(configs[1] ?? {})
    await allServe(newest())
    const singleMs = performance.now() - started
    await new Promise(resolve => setTimeout(resolve, 2000))

    const idle = Math.max(...await Promise.all(edges.map(rssMb)))
    let peak = idle
    const sampler = setInterval(() => {
      void Promise.all(edges.map(rssMb)).then(values => { peak = Math.max(peak, ...values) })
    }, RSS_SAMPLE_MS)
    const acceptedBefore = await Promise.all(edges.map(acceptedCount))
    const gapMs = 1000 / versions
    const burstStarted = performance.now()
    for (let i = 0; i < versions; i++) {
      started = performance.now()
      await signer.publish(configs[i + 2] ?? {})
      const left = gapMs - (performance.now() - started)
      if (i < versions - 1 && left > 0) await new Promise(resolve => setTimeout(resolve, left))
    }
    await allServe(newest())
    const convergeMs = performance.now() - burstStarted
    const afterLastMs = performance.now() - started
    await new Promise(resolve => setTimeout(resolve, 500))
    clearInterval(sampler)
    const accepted = (await Promise.all(edges.map(acceptedCount))).map((count, i) => count - (acceptedBefore[i] ?? 0))
    return {
      edges: edgeCount,
      versions,
      bodyBytes: latest.current()?.body.byteLength ?? 0,
      singleMs,
      convergeMs,
      afterLastMs,
      acceptedPerEdge: { min: Math.min(...accepted), max: Math.max(...accepted) },
      rssMb: { idle, peak }
    }
  } finally {
    await Promise.all(edges.map(async edge => { await stopProcess(edge.child) }))
    await mesh.stop()
    await rm(root, { recursive: true, force: true })
  }
}
