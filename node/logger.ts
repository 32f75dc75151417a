import { pino, type Logger as PinoLogger } from 'pino'

export type Logger = PinoLogger

/** Structured JSON lines on stderr, one logger per program, children per component. */
export function createLogger (name: string, level = process.env.DIME_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level }, pino.destination(2))
}

export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
