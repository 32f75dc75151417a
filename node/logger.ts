import { pino, type Logger as PinoLogger } from 'pino'

export type Logger = PinoLogger

/**
 * Structured JSON lines on stderr, one logger per program, children per
 * component. Written through process.stderr (synchronous for files, pipes
 * and sockets on Linux): pino's own destination, once stderr's reader is
 * gone, retried the failed write for ever as the program exited
 * (sonic-boom's flushSync sleeps and retries on every error, not only
 * EAGAIN), so a stop on SIGTERM never ended. Lines that cannot be written
 * are dropped.
 */
export function createLogger (name: string, level = process.env.DIME_LOG_LEVEL ?? 'info'): Logger {
  if (process.stderr.listenerCount('error') === 0) process.stderr.on('error', () => {})
  return pino({ name, level }, process.stderr)
}

export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
