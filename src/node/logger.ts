// Structured logs (pino). JSON by default; `pretty` for people at a terminal. Keys and tokens are
// never passed to the logger; the redact list guards against a slip.
import { pino, type Logger } from 'pino'
import pretty from 'pino-pretty'

export type LogFormat = 'json' | 'pretty'

export function createLogger (name: string, format: LogFormat, level = 'info', fd = 2): Logger {
  const options = { name, level, redact: { paths: ['token', '*.token', 'seed', '*.seed', 'authorization', '*.authorization'], censor: '[redacted]' } }
  return format === 'pretty'
    ? pino(options, pretty({ destination: fd, colorize: process.stderr.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }))
    : pino(options, pino.destination({ dest: fd, sync: false }))
}
