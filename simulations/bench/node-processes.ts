import { build } from 'esbuild'
import { ESM_BANNER } from '../../scripts/esm-banner.mjs'
import type { ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { spawnNodeAsDime, stopProcess } from '../../cli/processes.js'
import { generateSigningKeyPem } from '../../node/signing-keys.js'
import { generateSwarmKey } from '../../node/swarm-key.js'

const DIME = fileURLToPath(new URL('../../bin/dime.js', import.meta.url))
const MESH = 'bench'
const START_LIMIT_MS = 60_000
/** Each node dials the first one (the publisher) and up to this many earlier nodes, chosen at random. */
const EARLIER_PEERS = 3
/** Linux's clock ticks per second, in which /proc/PID/stat counts CPU time. */
const CLOCK_TICKS = 100

export type LogLine = Record<string, unknown> & { msg?: string, time?: number }

/** A process's resident memory (VmRSS), in MiB; 0 once it is gone (so a peak taken over samples stays a number). */
export async function residentMb (pid: number | undefined): Promise<number> {
  const status = await readFile(`/proc/${pid ?? 0}/status`, 'utf8').catch(() => '')
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
}

const bundles = new Map<string, Promise<string>>()

/** A script of this folder (`bare-libp2p-node`, `edge-host`), bundled as the programs are (npm run build), once per run: the path of the bundle. */
export async function bundledScript (name: string): Promise<string> {
  const bundle = bundles.get(name) ?? (async () => {
    const script = join(tmpdir(), `dime-bench-${name}.js`)
    await build({
      entryPoints: [fileURLToPath(new URL(`${name}.ts`, import.meta.url))],
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      banner: { js: ESM_BANNER },
      logLevel: 'warning'
    })
    return script
  })()
  bundles.set(name, bundle)
  return await bundle
}

/** Runs `work` in a fresh temporary directory, removed afterwards. */
/** Waits `ms` (at once when it is not positive: a round that overran waits for nothing). */
export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

export async function inTempDir<T> (prefix: string, work: (root: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), prefix))
  try {
    return await work(root)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

/** A child process whose JSON log lines (stdout or stderr) are kept for the benchmark to read. */
export class LoggedProcess {
  readonly lines: LogLine[] = []
  /** What it wrote that is not a JSON line (a crash), for the error message. */
  private output = ''
  readonly started = performance.timeOrigin + performance.now()

  constructor (readonly name: string, readonly child: ChildProcess) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue
      createInterface({ input: stream }).on('line', text => {
        try {
          this.lines.push(JSON.parse(text) as LogLine)
        } catch {
          this.output += `${text}\n`
        }
      })
    }
  }

  async line (what: string, matches: (line: LogLine) => boolean, timeoutMs = START_LIMIT_MS): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.lines.find(matches)
      if (found !== undefined) return found
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}) before ${what}:\n${this.output.slice(-2000)}`)
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${this.name}: ${what}`)
      await new Promise(resolve => setTimeout(resolve, 5))
    }
  }

  async rssMb (): Promise<number> {
    return await residentMb(this.child.pid)
  }

  /** CPU time used so far (user and system, every thread), in seconds. */
  async cpuSeconds (): Promise<number> {
    const stat = await readFile(`/proc/${this.child.pid ?? 0}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  }

  async stop (): Promise<void> {
    await stopProcess(this.child)
  }
}

/** A mesh of node processes: node 0 publishes, the others are its edges. */
export interface ProcessMesh {
  readonly nodes: LoggedProcess[]
  readonly edges: LoggedProcess[]
  stop(): Promise<void>
}

/** The earlier nodes node `index` dials: always node 0, and a few others picked by a seeded generator (the same for every kind of mesh). */
export function dialPattern (index: number, random: () => number): number[] {
  const earlier = Array.from({ length: index - 1 }, (_, i) => i + 1)
  const picked = [0]
  while (picked.length <= EARLIER_PEERS && earlier.length > 0) {
    picked.push(...earlier.splice(Math.floor(random() * earlier.length), 1))
  }
  return picked
}

/** A small seeded generator (mulberry32), so both kinds of mesh get the same dial pattern. */
export function seeded (seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6D2B79F5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** Further node flags for every process, e.g. DIME_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile a run. */
const EXTRA_NODE_FLAGS = process.env.DIME_BENCH_NODE_FLAGS?.split(' ').filter(flag => flag !== '') ?? []

/** Each process's CPU time so far, in seconds. */
export async function cpuOf (nodes: LoggedProcess[]): Promise<number[]> {
  return await Promise.all(nodes.map(async node => await node.cpuSeconds()))
}

/** How many edges a publisher's /status lists at its newest version, once all `size` are or after `limitMs` (reports follow a change within seconds), and how many it names missing. */
export async function listedAtNewest (admin: string, size: number, limitMs: number): Promise<{ newest: number, missing: number }> {
  const deadline = Date.now() + limitMs
  for (;;) {
    const status = await (await fetch(`${admin}/status`)).json() as { version: number | null, edges: Array<{ version: number | null, missing?: boolean }> }
    const newest = status.edges.filter(edge => edge.version === status.version).length
    if (newest >= size || Date.now() > deadline) return { newest, missing: status.edges.filter(edge => edge.missing === true).length }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
}

export function spawnNode (name: string, args: string[], env: Record<string, string> = {}): LoggedProcess {
  return new LoggedProcess(name, spawnNodeAsDime([...EXTRA_NODE_FLAGS, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env }))
}

async function stopAll (nodes: LoggedProcess[]): Promise<void> {
  await Promise.all(nodes.map(async node => { await node.stop() }))
}

/** Bare libp2p nodes (the baseline): node 0 publishes on command. */
export async function startBareMesh (root: string, size: number, seed: number): Promise<ProcessMesh> {
  const swarmKey = join(root, 'swarm.key')
  await writeFile(swarmKey, generateSwarmKey())
  const random = seeded(seed)
  const script = await bundledScript('bare-libp2p-node')
  const nodes: LoggedProcess[] = []
  const addresses: string[] = []
  try {
    for (let i = 0; i <= size; i++) {
      const node = spawnNode(`bare-${i}`, [script, swarmKey, ...(i === 0 ? [] : dialPattern(i, random).map(n => addresses[n] ?? ''))])
      nodes.push(node)
      addresses.push(String((await node.line('listening', line => line.msg === 'listening')).address))
    }
  } catch (err) {
    await stopAll(nodes)
    throw err
  }
  return { nodes, edges: nodes.slice(1), stop: async () => { await stopAll(nodes) } }
}

export interface DimeMesh extends ProcessMesh {
  readonly publisher: LoggedProcess
  /** Writes the fragment the publisher reads (atomically: it never reads half a file). */
  writeFragment(text: string): Promise<void>
  /** Each edge's URL of /config, read from its log. */
  readonly configUrls: string[]
}

export interface DimeMeshOptions {
  logLevel?: string
  /** Further flags of the publisher (a rollout policy). */
  publisherArgs?: string[]
  /** Further flags of the n-th edge, from 1 (its labels). */
  edgeArgs?: (index: number) => string[]
}

/** A `dime publisher --fragments` process and what edges need to join it. */
export interface PublisherProcess {
  readonly process: LoggedProcess
  /** Its mesh address, with its peer id. */
  readonly address: string
  readonly swarmKeyFile: string
  /** The public key edges trust. */
  readonly trustFile: string
  /** Writes the fragment the publisher reads (atomically: it never reads half a file). */
  readonly writeFragment: (text: string) => Promise<void>
}

/** New keys, the fragment, and a publisher with its admin endpoint on a loopback port, under `root`. */
export async function startPublisherProcess (root: string, fragment: string, options: DimeMeshOptions = {}): Promise<PublisherProcess> {
  const keys = join(root, 'keys')
  const fragments = join(root, 'fragments')
  await mkdir(keys, { recursive: true })
  await mkdir(fragments, { recursive: true })
  const pem = generateSigningKeyPem()
  await writeFile(join(keys, 'publisher.key'), pem.privatePem, { mode: 0o600 })
  await writeFile(join(keys, 'publisher.pub'), pem.publicPem)
  await writeFile(join(keys, 'swarm.key'), generateSwarmKey())
  const writeFragment = async (text: string): Promise<void> => {
    await writeFile(join(root, 'fragment.tmp'), text)
    await rename(join(root, 'fragment.tmp'), join(fragments, 'bench.json'))
  }
  await writeFragment(fragment)
  const publisher = spawnNode('publisher', [DIME, 'publisher', ...commonFlags(join(keys, 'swarm.key')), '--fragments', fragments, '--key', join(keys, 'publisher.key'),
    '--data-dir', join(root, 'publisher'), '--admin', '127.0.0.1:0', ...options.publisherArgs ?? []], { DIME_LOG_LEVEL: options.logLevel ?? 'info' })
  try {
    return { process: publisher, address: await meshAddress(publisher), swarmKeyFile: join(keys, 'swarm.key'), trustFile: join(keys, 'publisher.pub'), writeFragment }
  } catch (err) {
    await publisher.stop()
    throw err
  }
}

function commonFlags (swarmKeyFile: string): string[] {
  return ['--mesh', MESH, '--swarm-key', swarmKeyFile, '--listen', '/ip4/127.0.0.1/tcp/0']
}

/**
 * A `dime publisher --fragments` and `size` `dime edge` processes, each edge
 * dialling the publisher and a few earlier edges. Resolves once every edge
 * serves the first version.
 */
export async function startDimeMesh (root: string, size: number, seed: number, fragment: string, options: DimeMeshOptions = {}): Promise<DimeMesh> {
  const { process: publisher, address, swarmKeyFile, trustFile, writeFragment } = await startPublisherProcess(root, fragment, options)
  const env = { DIME_LOG_LEVEL: options.logLevel ?? 'info' }
  const nodes = [publisher]
  const addresses: string[] = [address]
  const configUrls: string[] = []
  const random = seeded(seed)
  try {
    for (let i = 1; i <= size; i++) {
      const edge = spawnNode(`edge-${i}`, [DIME, 'edge', ...commonFlags(swarmKeyFile), '--trust', trustFile, '--data-dir', join(root, `edge-${i}`), '--serve', '127.0.0.1:0',
        ...dialPattern(i, random).flatMap(n => ['--bootstrap', addresses[n] ?? '']), ...options.edgeArgs?.(i) ?? []], env)
      nodes.push(edge)
      configUrls.push(String((await edge.line('serving /config', line => line.msg === 'serving Traefik config')).url))
      addresses.push(await meshAddress(edge))
    }
    const first = await publisher.line('a published config', line => line.msg === 'config published')
    await Promise.all(nodes.slice(1).map(async edge => await edge.line(`serving version ${String(first.version)}`, line => line.msg === 'serving config' && line.version === first.version)))
  } catch (err) {
    await stopAll(nodes)
    throw err
  }
  return { nodes, publisher, edges: nodes.slice(1), configUrls, writeFragment, stop: async () => { await stopAll(nodes) } }
}

async function meshAddress (node: LoggedProcess): Promise<string> {
  const line = await node.line('mesh node listening', line => line.msg === 'mesh node listening')
  const address = (line.addresses as string[])[0] ?? ''
  return address.includes('/p2p/') ? address : `${address}/p2p/${String(line.peerId)}`
}
