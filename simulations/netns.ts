import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { stopProcess } from '../cli/processes.js'
import { scrapeMetric } from './scrape.js'
import { waitFor } from './wait-for.js'

const DIME = fileURLToPath(new URL('../bin/dime.js', import.meta.url))
/** RFC 2544's benchmarking range: it exists only inside the namespaces made here. */
const SUBNET = '198.18.0'
const HOST_ADDRESS = `${SUBNET}.254`
const MESH_PORT = 4001
const SERVE_PORT = 8088
const ADMIN_PORT = 9090
/** Edges and the publisher serve on their namespace's address, which is not loopback, so their endpoints need a token. */
const TOKEN = 'netns-test-token'

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' })
}

/** Why real namespaces cannot be used here, or undefined when they can. */
export function namespacesUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  const probe = `dimeprobe${process.pid % 100000}`
  try {
    ip('netns', 'add', probe)
    ip('netns', 'del', probe)
    return undefined
  } catch (err) {
    return `cannot create a network namespace (${(err as Error).message.split('\n')[0] ?? ''})`
  }
}

interface NodeSpec { name: string, namespace: string, hostLink: string, address: string }

/**
 * A publisher and N edges as separate `dime` processes, each in its own
 * network namespace joined to a bridge by a veth pair; the host has an address
 * on the bridge too, to watch them over HTTP. A partition takes a node's link
 * down, so the real sockets see a real network fault.
 */
export class NamespaceMesh {
  readonly nodes: NodeSpec[] = []
  private readonly processes = new Map<string, ChildProcess>()
  private readonly prefix = `dm${process.pid % 10000}`
  private readonly hub = `${this.prefix}hub`

  constructor (private readonly root: string, edges: number) {
    for (let i = 0; i <= edges; i++) {
      this.nodes.push({ name: i === 0 ? 'publisher' : `edge-${i}`, namespace: `${this.prefix}n${i}`, hostLink: `${this.prefix}h${i}`, address: `${SUBNET}.${i + 1}` })
    }
  }

  get publisher (): NodeSpec { return this.nodes[0] as NodeSpec }
  get edgeNodes (): NodeSpec[] { return this.nodes.slice(1) }

  /** Builds the network: hub bridge, one namespace and veth pair per node, and the host's own link. */
  setUp (): void {
    ip('netns', 'add', this.hub)
    // br0 joins everyone; a group moved to br1 is split from the rest but not from each other.
    for (const bridge of ['br0', 'br1']) {
      ip('-n', this.hub, 'link', 'add', bridge, 'type', 'bridge')
      ip('-n', this.hub, 'link', 'set', bridge, 'up')
    }
    ip('link', 'add', `${this.prefix}r`, 'type', 'veth', 'peer', 'name', `${this.prefix}rh`)
    ip('link', 'set', `${this.prefix}rh`, 'netns', this.hub)
    ip('-n', this.hub, 'link', 'set', `${this.prefix}rh`, 'master', 'br0', 'up')
    ip('addr', 'add', `${HOST_ADDRESS}/24`, 'dev', `${this.prefix}r`)
    ip('link', 'set', `${this.prefix}r`, 'up')
    for (const node of this.nodes) {
      ip('netns', 'add', node.namespace)
      ip('-n', node.namespace, 'link', 'set', 'lo', 'up')
      ip('link', 'add', `${node.hostLink}x`, 'type', 'veth', 'peer', 'name', node.hostLink)
      ip('link', 'set', `${node.hostLink}x`, 'netns', node.namespace)
      ip('-n', node.namespace, 'link', 'set', `${node.hostLink}x`, 'name', 'eth0')
      ip('-n', node.namespace, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0')
      ip('-n', node.namespace, 'link', 'set', 'eth0', 'up')
      ip('link', 'set', node.hostLink, 'netns', this.hub)
      ip('-n', this.hub, 'link', 'set', node.hostLink, 'master', 'br0', 'up')
    }
  }

  /** Stops every process and removes every namespace and link made here. */
  tearDown (): void {
    for (const child of this.processes.values()) child.kill('SIGKILL')
    for (const namespace of [...this.nodes.map(node => node.namespace), this.hub]) {
      try { ip('netns', 'del', namespace) } catch {}
    }
    try { ip('link', 'del', `${this.prefix}r`) } catch {}
  }

  /**
   * Builds the network, starts the publisher and the first `edges` edges (the
   * rest are left for the caller), and resolves with the first version once
   * every one of them serves it.
   */
  async startServing (edges = this.edgeNodes.length): Promise<number> {
    this.setUp()
    await this.writeKeysAndFragments()
    await this.writeFragment('first')
    this.startPublisher()
    const started = this.edgeNodes.slice(0, edges)
    for (const edge of started) this.startEdge(edge)
    const first = await waitFor('the publisher publishes', async () => await this.publishedVersion(), 60_000, 200)
    await waitFor('every edge serves the first version', async () =>
      (await Promise.all(started.map(async edge => await this.servedVersion(edge)))).every(v => v === first) ? true : undefined, 90_000, 100)
    return first
  }

  async writeKeysAndFragments (): Promise<void> {
    execFileSync(process.execPath, [DIME, 'keygen', '--out', join(this.root, 'keys')], { stdio: 'pipe' })
    await writeFile(join(this.root, 'keys', 'token'), `${TOKEN}\n`, { mode: 0o600 })
    await mkdir(join(this.root, 'fragments'), { recursive: true })
  }

  async writeFragment (router: string): Promise<void> {
    await this.writeFragmentText(`http:\n  routers:\n    ${router}:\n      rule: "Host(\`${router}.example.com\`)"\n      service: s\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: "http://192.0.2.1:80"\n`)
  }

  async writeFragmentText (text: string): Promise<void> {
    await writeFile(join(this.root, 'fragments', 'routes.yaml'), text)
  }

  /** Bytes a node's network interface has received, from the kernel's counters. */
  receivedBytes (node: NodeSpec): number {
    return Number(execFileSync('ip', ['netns', 'exec', node.namespace, 'cat', '/sys/class/net/eth0/statistics/rx_bytes'], { encoding: 'utf8' }))
  }

  startPublisher (): void {
    const keys = join(this.root, 'keys')
    this.run(this.publisher, ['publisher', '--fragments', join(this.root, 'fragments'), '--key', join(keys, 'publisher.key'),
      '--swarm-key', join(keys, 'swarm.key'), '--listen', `/ip4/${this.publisher.address}/tcp/${MESH_PORT}`, '--admin', `${this.publisher.address}:${ADMIN_PORT}`,
      '--token-file', join(keys, 'token')])
  }

  startEdge (node: NodeSpec): void {
    const keys = join(this.root, 'keys')
    this.run(node, ['edge', '--trust', join(keys, 'publisher.pub'), '--swarm-key', join(keys, 'swarm.key'),
      '--bootstrap', `/ip4/${this.publisher.address}/tcp/${MESH_PORT}`, '--listen', `/ip4/${node.address}/tcp/${MESH_PORT}`,
      '--data-dir', join(this.root, node.name), '--serve', `${node.address}:${SERVE_PORT}`, '--token-file', join(keys, 'token')])
  }

  async stop (node: NodeSpec): Promise<void> {
    const child = this.processes.get(node.name)
    if (child !== undefined) await stopProcess(child)
  }

  /**
   * Splits these nodes from the rest (they still reach each other) or joins them
   * back. The host watches from br0, so it cannot see the split group meanwhile.
   */
  split (nodes: NodeSpec[], apart: boolean): void {
    for (const node of nodes) ip('-n', this.hub, 'link', 'set', node.hostLink, 'master', apart ? 'br1' : 'br0')
  }

  /** Cuts the path between two nodes only (each drops what it would send the other), or heals it. */
  cutBetween (a: NodeSpec, b: NodeSpec, cut: boolean): void {
    for (const [from, to] of [[a, b], [b, a]] as const) ip('-n', from.namespace, 'route', cut ? 'add' : 'del', 'blackhole', `${to.address}/32`)
  }

  /** Takes a node's link to the bridge down (cut) or up (heal). */
  link (node: NodeSpec, up: boolean): void {
    ip('-n', this.hub, 'link', 'set', node.hostLink, up ? 'up' : 'down')
  }

  /** The version an edge serves (X-Dime-Version, from a HEAD request), or undefined when it serves none or cannot be reached. */
  async servedVersion (node: NodeSpec): Promise<number | undefined> {
    try {
      const response = await fetch(`http://${node.address}:${SERVE_PORT}/config`, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(1000) })
      return response.status === 200 ? Number(response.headers.get('x-dime-version')) : undefined
    } catch {
      return undefined
    }
  }

  /** A counter's value summed over its series in a node's /metrics (0 when unreachable). */
  async counter (node: NodeSpec, name: string, labels: Record<string, string> = {}): Promise<number> {
    const port = node === this.publisher ? ADMIN_PORT : SERVE_PORT
    return await scrapeMetric(`http://${node.address}:${port}`, name, labels, { authorization: `Bearer ${TOKEN}` }).catch(() => 0)
  }

  async publishedVersion (): Promise<number | undefined> {
    try {
      const response = await fetch(`http://${this.publisher.address}:${ADMIN_PORT}/status`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(1000) })
      return ((await response.json()) as { version: number | null }).version ?? undefined
    } catch {
      return undefined
    }
  }

  private run (node: NodeSpec, args: string[]): void {
    const child = spawn('ip', ['netns', 'exec', node.namespace, process.execPath, DIME, ...args], { stdio: 'ignore' })
    this.processes.set(node.name, child)
  }
}
