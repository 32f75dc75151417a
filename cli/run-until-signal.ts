import type { Logger } from '../node/logger.js'

export interface Runnable {
  start(): Promise<void>
  stop(): Promise<void>
}

/**
 * Starts a program and stops it cleanly on SIGTERM or SIGINT (a second
 * signal exits at once). SIGHUP calls `reload`, when given; a failed reload
 * is logged and changes nothing.
 */
export async function runUntilSignal (program: Runnable, log: Logger, reload?: () => void): Promise<void> {
  let stopping = false
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal; exiting now')
      process.exit(1)
    }
    stopping = true
    log.info({ signal }, 'stopping')
    program.stop().then(
      () => { log.info('stopped'); process.exit(0) },
      (err: unknown) => { log.error({ err }, 'error while stopping'); process.exit(1) })
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  if (reload !== undefined) {
    process.on('SIGHUP', () => {
      try {
        reload()
      } catch (err) {
        log.error({ err: (err as Error).message }, 'reload failed; keeping the previous settings')
      }
    })
  }
  await program.start()
}
