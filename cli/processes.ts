import { execFileSync, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'

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

/** How bin/dime.js's shebang and the Containerfile run node (see bin/dime.js); for programs that spawn `dime`. */
export const DIME_NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=50']
/** The environment they add to the process's. */
export const DIME_NODE_ENV = { MALLOC_ARENA_MAX: '2' }
