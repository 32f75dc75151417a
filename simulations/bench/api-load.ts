import { multiaddr } from '@multiformats/multiaddr'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublisher } from '../../cluster-publisher/create-publisher.js'
import { FRAGMENT_LABEL } from '../../cluster-publisher/constants.js'
import { kubernetesParts } from '../../cluster-publisher/kubernetes/kubernetes-parts.js'
import { createEdge, type Edge } from '../../edge-subscriber/create-edge.js'
import { silentLogger } from '../../node/logger.js'
import { generateSigningKeyPem, parseSigningKey, parseTrustedKey } from '../../node/signing-keys.js'
import { generateSwarmKey, parseSwarmKey } from '../../node/swarm-key.js'
import { FakeKubeApi } from '../fake-kube-api.js'
import { timingFor } from '../world.js'

export interface ApiLoadResult {
  edges: number
  /** Requests to the API server per minute in steady state, with leader election on. */
  requestsPerMinute: number
  /** Open watches. */
  watches: number
  /** The proof of concept: every edge listed the ConfigMaps every 10 s. */
  proofOfConceptPerMinute: number
}

const NAMESPACE = 'traefik'
const POC_POLL_SECONDS = 10

/** A leader-elect publisher on the fake API server with `edgeCount` edges; counts API requests over `windowMs`. */
export async function measureApiLoad (edgeCount: number, windowMs: number): Promise<ApiLoadResult> {
  const root = await mkdtemp(join(tmpdir(), 'dime-bench-api-'))
  const api = new FakeKubeApi()
  await api.start()
  api.apply('configmaps', { metadata: { name: 'routes', namespace: NAMESPACE, labels: { [FRAGMENT_LABEL]: 'true' } }, data: { 'routes.yaml': 'http:\n  routers:\n    r: { rule: "Host(`r.example.com`)", service: s }\n' } })
  api.apply('pods', { metadata: { name: 'publisher-0', namespace: NAMESPACE } })
  const pem = generateSigningKeyPem()
  const swarmKey = parseSwarmKey(generateSwarmKey(), 'bench')
  const parts = kubernetesParts({ kubeConfig: api.kubeConfig(), namespaces: [NAMESPACE], pod: { namespace: NAMESPACE, name: 'publisher-0' }, leaseName: 'dime-publisher', log: silentLogger() })
  const publisher = await createPublisher({
    mesh: 'bench', ...parts,
    signingKey: parseSigningKey(pem.privatePem, 'bench'), swarmKey, listen: ['/ip4/127.0.0.1/tcp/0'], log: silentLogger(), timing: timingFor(edgeCount)
  })
  const edges: Edge[] = []
  try {
    await publisher.start()
    const deadline = Date.now() + 30_000
    while (publisher.status().version === null && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    for (let i = 0; i < edgeCount; i++) {
      const edge = await createEdge({
        mesh: 'bench', trust: [parseTrustedKey(pem.publicPem, 'bench')], bootstrap: [multiaddr(publisher.mesh.addresses()[0] ?? '')], swarmKey,
        listen: ['/ip4/127.0.0.1/tcp/0'], dataDir: join(root, `edge-${i}`), serve: { host: '127.0.0.1', port: 0 }, log: silentLogger(), timing: timingFor(edgeCount)
      })
      edges.push(edge)
      await edge.start()
    }
    const before = api.calls.length
    await new Promise(resolve => setTimeout(resolve, windowMs))
    const during = api.calls.slice(before)
    return {
      edges: edgeCount,
      requestsPerMinute: during.length * 60_000 / windowMs,
      watches: api.calls.filter(call => call.verb === 'watch').length,
      proofOfConceptPerMinute: edgeCount * 60 / POC_POLL_SECONDS
    }
  } finally {
    await Promise.all(edges.map(async edge => { await edge.stop() }))
    await publisher.stop()
    await api.stop()
    await rm(root, { recursive: true, force: true })
  }
}
