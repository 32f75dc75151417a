import { execFile, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { freePort, spawnNodeAsDime, stopProcess } from '../../cli/processes.js'
import { sealEnvelope } from '../../node/envelope.js'
import { generateSigningKeyPem, parseSigningKey } from '../../node/signing-keys.js'
import { generateSwarmKey } from '../../node/swarm-key.js'
import { waitFor } from '../wait-for.js'
import { configWithRouters } from './configs.js'
import { residentMb } from './node-processes.js'

const run = promisify(execFile)
const DIME = fileURLToPath(new URL('../../bin/dime.js', import.meta.url))
const MESH = 'bench'

export interface LoadResult { requestsPerSecond: number, p50Ms: number, p99Ms: number }
export interface EdgeProcessResult { coldStartMs: number, rssMb: number }

function toMs (value: string, unit: string): number {
  return Number(value) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1)
}

/** wrk with keep-alive connections, as Traefik's poller would use them, only far harder. */
export async function wrk (url: string, seconds = 5): Promise<LoadResult> {
  const { stdout } = await run('wrk', ['-t2', '-c32', `-d${seconds}s`, '--latency', url], { timeout: (seconds + 30) * 1000 })
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]
  const p50 = /\s50%\s+([\d.]+)(us|ms|s)/.exec(stdout)
  const p99 = /\s99%\s+([\d.]+)(us|ms|s)/.exec(stdout)
  if (rps === undefined || p50 === null || p99 === null) throw new Error(`cannot read wrk output:\n${stdout}`)
  return { requestsPerSecond: Number(rps), p50Ms: toMs(p50[1] ?? '', p50[2] ?? ''), p99Ms: toMs(p99[1] ?? '', p99[2] ?? '') }
}

/**
 * A real `dime edge` process whose data directory holds a verified envelope
 * with `routers` routers and no peers to reach: measures the time from spawn
 * to serving the persisted config, its resident memory, and, optionally, runs
 * `load` against its /config.
 */
export async function edgeProcess<T> (routers: number, load: (url: string, body: Uint8Array) => Promise<T>): Promise<EdgeProcessResult & { load: T }> {
  const root = await mkdtemp(join(tmpdir(), 'dime-bench-edge-'))
  const pem = generateSigningKeyPem()
  await writeFile(join(root, 'publisher.pub'), pem.publicPem)
  await writeFile(join(root, 'swarm.key'), generateSwarmKey())
  await mkdir(join(root, 'data'))
  const config = configWithRouters(routers, 'bench')
  const envelope = sealEnvelope({ mesh: MESH, version: 1, issuedAt: new Date(), body: config.bytes }, parseSigningKey(pem.privatePem, 'bench'))
  await writeFile(join(root, 'data', 'envelope.bin'), envelope.bytes)
  const port = await freePort()
  const started = performance.now()
  const child = spawnNodeAsDime([DIME, 'edge', '--mesh', MESH, '--trust', join(root, 'publisher.pub'), '--swarm-key', join(root, 'swarm.key'),
    '--data-dir', join(root, 'data'), '--listen', '/ip4/127.0.0.1/tcp/0', '--serve', `127.0.0.1:${port}`], { stdio: 'ignore', env: { DIME_LOG_LEVEL: 'warn' } })
  try {
    const url = `http://127.0.0.1:${port}/config`
    await waitFor(`${url} to answer 200`, async () => (await fetch(url)).status === 200 ? true : undefined, 30_000, 5)
    const coldStartMs = performance.now() - started
    const loaded = await load(url, config.bytes)
    return { coldStartMs, rssMb: await residentMb(child.pid), load: loaded }
  } finally {
    await stopProcess(child)
    await rm(root, { recursive: true, force: true })
  }
}

/** nginx serving the same bytes from a file, on the same machine, as the baseline for /config. */
export async function nginxServing<T> (body: Uint8Array, load: (url: string) => Promise<T>): Promise<T> {
  const root = await mkdtemp(join(tmpdir(), 'dime-bench-nginx-'))
  const port = await freePort()
  await writeFile(join(root, 'config.json'), body)
  await writeFile(join(root, 'nginx.conf'), `worker_processes 2;
daemon off;
pid ${root}/nginx.pid;
error_log ${root}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${root}; proxy_temp_path ${root}; fastcgi_temp_path ${root}; uwsgi_temp_path ${root}; scgi_temp_path ${root};
  server {
    listen 127.0.0.1:${port};
    location = /config { default_type application/json; alias ${root}/config.json; }
  }
}
`)
  const child = spawn('nginx', ['-p', root, '-c', join(root, 'nginx.conf')], { stdio: 'ignore' })
  try {
    await waitFor('nginx to answer 200', async () => (await fetch(`http://127.0.0.1:${port}/config`)).status === 200 ? true : undefined, 10_000, 5)
    return await load(`http://127.0.0.1:${port}/config`)
  } finally {
    await stopProcess(child)
    await rm(root, { recursive: true, force: true })
  }
}
