import type { Command } from 'commander'
import type { ChildProcess } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packageFile } from '../../node/package-files.js'
import { generateSigningKeyPem } from '../../node/signing-keys.js'
import { generateSwarmKey } from '../../node/swarm-key.js'
import { alignColumns } from '../columns.js'
import { UsageError } from '../usage-error.js'
import { KEY_FILES } from './keygen.js'

const DIME = packageFile('bin/dime.js')
const FRAGMENTS = packageFile('manifests/fragments')
const REFRESH_MS = 1000

interface DemoFlags {
  edges: string
}

interface EdgeProcess {
  name: string
  serve: string
}

export function demoCommand (program: Command): void {
  program.command('demo')
    .description('Run a publisher and edges on loopback with throw-away keys, and show which edge serves which version')
    .option('--edges <n>', 'how many edges to start', '3')
    .action(async (flags: DemoFlags) => {
      await runDemo(positiveInteger(flags.edges, '--edges'))
    })
}

function positiveInteger (value: string, flag: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive whole number, got "${value}"`)
  return n
}

async function runDemo (edgeCount: number): Promise<void> {
  // Loaded here: every other command, `dime --help` included, starts without it.
  const { freePort, spawnNodeAsDime, stopProcess } = await import('../processes.js')
  const root = mkdtempSync(join(tmpdir(), 'dime-demo-'))
  const keys = join(root, 'keys')
  const fragments = join(root, 'fragments')
  const logs = join(root, 'logs')
  mkdirSync(keys)
  mkdirSync(logs)
  cpSync(FRAGMENTS, fragments, { recursive: true })
  const pem = generateSigningKeyPem()
  writeFileSync(join(keys, KEY_FILES.privateKey), pem.privatePem, { mode: 0o600 })
  writeFileSync(join(keys, KEY_FILES.publicKey), pem.publicPem)
  writeFileSync(join(keys, KEY_FILES.swarmKey), generateSwarmKey(), { mode: 0o600 })

  const children: ChildProcess[] = []
  const start = (name: string, args: string[]): void => {
    const log = openSync(join(logs, `${name}.log`), 'a')
    children.push(spawnNodeAsDime([DIME, ...args], { stdio: ['ignore', log, log] }))
  }

  const [meshPort, adminPort] = [await freePort(), await freePort()]
  const bootstrap = `/ip4/127.0.0.1/tcp/${meshPort}`
  start('publisher', ['publisher', '--fragments', fragments, '--key', join(keys, KEY_FILES.privateKey),
    '--swarm-key', join(keys, KEY_FILES.swarmKey), '--listen', bootstrap, '--admin', `127.0.0.1:${adminPort}`, '--data-dir', join(root, 'publisher')])
  const edges: EdgeProcess[] = []
  for (let i = 1; i <= edgeCount; i++) {
    const edge = { name: `edge-${i}`, serve: `127.0.0.1:${await freePort()}` }
    edges.push(edge)
    start(edge.name, ['edge', '--trust', join(keys, KEY_FILES.publicKey), '--bootstrap', bootstrap,
      '--swarm-key', join(keys, KEY_FILES.swarmKey), '--listen', `/ip4/127.0.0.1/tcp/${await freePort()}`,
      '--data-dir', join(root, edge.name), '--serve', edge.serve])
  }

  process.stdout.write(`cdn-on-a-dime demo in ${root}
  publisher   mesh ${bootstrap}, admin http://127.0.0.1:${adminPort}/status
  fleet page  http://127.0.0.1:${adminPort}/ (open it in a browser)
${edges.map(edge => `  ${edge.name.padEnd(10)}  curl -i http://${edge.serve}/config`).join('\n')}
  logs        ${logs}
Edit or break a fragment in ${fragments} and watch the edges follow.
Stop the publisher (kill ${children[0]?.pid ?? ''}) and the edges keep serving. Ctrl-C ends the demo.

`)
  const table = liveTable(process.stdout.isTTY)
  const timer = setInterval(() => { void showEdges(edges, table) }, REFRESH_MS)

  await new Promise<void>(resolve => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  clearInterval(timer)
  await Promise.all(children.map(async child => { await stopProcess(child) }))
  rmSync(root, { recursive: true, force: true })
  process.stdout.write('\ndemo stopped; temporary keys, data and logs removed\n')
}

async function showEdges (edges: EdgeProcess[], table: (lines: string[]) => void): Promise<void> {
  const rows = await Promise.all(edges.map(async edge => {
    try {
      const response = await fetch(`http://${edge.serve}/status`, { signal: AbortSignal.timeout(REFRESH_MS) })
      const status = await response.json() as { version: number | null, configSha256: string | null, peers: string[], stale: boolean }
      return [edge.name, edge.serve, String(status.version ?? '-'), (status.configSha256 ?? '-').slice(0, 12), String(status.peers.length), status.stale ? 'yes' : 'no']
    } catch {
      return [edge.name, edge.serve, 'down', '-', '-', '-']
    }
  }))
  table(alignColumns(['EDGE', 'SERVES ON', 'VERSION', 'SHA-256', 'PEERS', 'STALE'], rows))
}

/** Redraws in place on a terminal; elsewhere prints the table only when it changes. */
function liveTable (isTerminal: boolean): (lines: string[]) => void {
  let previous: string[] = []
  return (lines) => {
    if (!isTerminal) {
      if (lines.join('\n') !== previous.join('\n')) process.stdout.write(`${lines.join('\n')}\n\n`)
    } else {
      const rewind = previous.length > 0 ? `\x1b[${previous.length}A` : ''
      process.stdout.write(`${rewind}${lines.map(line => `${line}\x1b[K`).join('\n')}\n`)
    }
    previous = lines
  }
}
