import { spawn, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnNodeAsDime } from '../../cli/processes.js'
import { generateSwarmKey } from '../../node/swarm-key.js'
import { bundledScript, inTempDir, spawnNode } from './node-processes.js'
import { edgeProcess } from './serving.js'
import { percentile } from './stats.js'

const DIME = fileURLToPath(new URL('../../bin/dime.js', import.meta.url))

export interface Spread { p50: number, min: number, max: number }

function spread (values: number[]): Spread {
  return { p50: percentile(values, 50), min: Math.min(...values), max: Math.max(...values) }
}

async function repeat (runs: number, once: () => Promise<number>): Promise<Spread> {
  const values: number[] = []
  for (let i = 0; i < runs; i++) values.push(await once())
  return spread(values)
}

/** Wall time from spawn to exit of a node process, in ms. */
async function exitTime (what: string, start: () => ChildProcess): Promise<number> {
  const started = performance.now()
  await new Promise<void>((resolve, reject) => {
    start().once('exit', code => {
      if (code === 0) resolve()
      else reject(new Error(`${what} exited ${String(code)}`))
    })
  })
  return performance.now() - started
}

/** Spawn to listening of the bare libp2p node (the baseline), in ms. */
async function bareStart (): Promise<number> {
  return await inTempDir('dime-bench-bare-start-', async root => {
    await writeFile(join(root, 'swarm.key'), generateSwarmKey())
    const node = spawnNode('bare', [await bundledScript('bare-libp2p-node'), join(root, 'swarm.key')])
    try {
      return (await node.line('listening', line => line.msg === 'listening')).time as number - node.started
    } finally {
      await node.stop()
    }
  })
}

export interface StartTimes {
  nodeNothing: Spread
  help: Spread
  bareLibp2p: Spread
  /** Edge restart (publisher down) to the first 200 on /config from its persisted config, by routers. */
  edgeFirst200: Array<{ routers: number, ms: Spread }>
}

export async function measureStartTimes (runs: number, routerCounts: number[]): Promise<StartTimes> {
  const edgeFirst200 = []
  for (const routers of routerCounts) {
    edgeFirst200.push({ routers, ms: await repeat(runs, async () => (await edgeProcess(routers, async () => undefined)).coldStartMs) })
  }
  return {
    nodeNothing: await repeat(runs, async () => await exitTime('node -e 0', () => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }))),
    help: await repeat(runs, async () => await exitTime('dime --help', () => spawnNodeAsDime([DIME, '--help'], { stdio: 'ignore' }))),
    bareLibp2p: await repeat(runs, bareStart),
    edgeFirst200
  }
}
