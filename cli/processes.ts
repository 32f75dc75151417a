import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { createServer } from 'node:net'
import { readFileSync } from 'node:fs'
import { packageFile } from '../node/package-files.js'

/** A TCP port free on loopback right now (for processes that must be told their port). */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/** Asks a child process to stop (SIGTERM), forces it after 5 s, and resolves once it has exited. */
export async function stopProcess (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise<void>(resolve => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5000)
    child.once('exit', () => { clearTimeout(force); resolve() })
    child.kill('SIGTERM')
  })
}

/** Whether a command is on the PATH (for tools installed from Debian's packages when missing). */
export function commandExists (command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * How bin/dime.js's first line runs node (`#!/usr/bin/env -S NAME=VALUE… node
 * FLAG…`, explained there): the one place these are written.
 */
export function dimeNodeInvocation (shebang = readFileSync(packageFile('bin/dime.js'), 'utf8').split('\n', 1)[0] ?? ''): { flags: string[], env: Record<string, string> } {
  const words = shebang.replace(/^#!\/usr\/bin\/env -S /, '').split(/\s+/).filter(Boolean)
  const node = words.indexOf('node')
  if (node < 0) throw new TypeError(`bin/dime.js's first line does not run node: ${shebang}`)
  return {
    env: Object.fromEntries(words.slice(0, node).map(word => word.split('=', 2) as [string, string])),
    flags: words.slice(node + 1)
  }
}

/**
 * Runs `node NODE_ARGS` (a script and its arguments, flags before them) as
 * bin/dime.js's first line runs dime: for programs that start `dime`, and the
 * benchmarks' baseline nodes, which run the same way. `options.env` is added
 * to this process's environment.
 */
export function spawnNodeAsDime (nodeArgs: string[], options: SpawnOptions = {}): ChildProcess {
  const { flags, env } = dimeNodeInvocation()
  return spawn(process.execPath, [...flags, ...nodeArgs], { ...options, env: { ...process.env, ...env, ...options.env } })
}
