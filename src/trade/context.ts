// What both sides of a trade need from their node, and the sign → persist → send discipline.
import type { Logger } from 'pino'
import type { KeyPair } from '../identity/ed25519.js'
import type { RecordLog } from '../log/record-log.js'
import type { Envelope, Verified } from '../records/envelope.js'
import type { Clock } from '../node/clock.js'
import type { PairgridLibp2p } from '../net/libp2p.js'
import type { Directory } from '../credentials/directory.js'
import type { Location } from '../records/trade-schemas.js'
import type { TradeBook } from './book.js'
import type { TradeConfig } from './policy.js'
import type { PeerReadings } from './peer-readings.js'

/** The party's own meter at its point of common coupling (a building's, or an EV site's). */
export interface OwnMeter {
  id: string
  /** Signed readings closing at from <= t <= to, in time order. */
  readings: (from: number, to: number) => Promise<Envelope[]>
  /** Resolves once the reading closing at `t` is durable. */
  waitForReading: (t: number, signal?: AbortSignal) => Promise<void>
}

export interface TradeContext {
  keys: KeyPair
  log: RecordLog
  book: TradeBook
  clock: Clock
  net: PairgridLibp2p
  logger: Logger
  directory: Directory
  config: TradeConfig
  marketplaces: readonly string[]
  meter?: OwnMeter
  peerReadings: PeerReadings
  /** Refusals by code, inbound and our own: what status reports. */
  refusals: Record<string, number>
}

/** A trade action refused locally (API input, policy); `code` is stable. */
export class TradeError extends Error {
  constructor (readonly code: string, message: string) {
    super(message)
    this.name = 'TradeError'
  }
}

/** Logs records durably (one group commit), then books them: nothing is sent before it is on disk. */
export async function persist (ctx: TradeContext, ...records: Verified[]): Promise<void> {
  await Promise.all(records.map(async v => await ctx.log.append(v)))
  for (const v of records) ctx.book.add(v)
}

/** Counts and logs a refusal under its stable code. */
export function refused (ctx: TradeContext, code: string, fields: Record<string, unknown>, message: string): void {
  ctx.refusals[code] = (ctx.refusals[code] ?? 0) + 1
  ctx.logger.info({ ...fields, code }, message)
}

/** Our own location: the one our signed profile states. */
export function ownLocation (ctx: TradeContext): Location | undefined {
  return ctx.directory.store.profiles.get(ctx.keys.id)?.record.body.location
}

/** Retries with exponential backoff until `attempt` succeeds or simulated `deadline` passes. */
export async function retry<T> (ctx: TradeContext, what: string, deadline: number, attempt: () => Promise<T>, signal: AbortSignal): Promise<T> {
  for (let n = 1, delayMs = 200; ; n++, delayMs = Math.min(delayMs * 2, 5_000)) {
    try {
      return await attempt()
    } catch (err) {
      if (signal.aborted || ctx.clock.now() >= deadline) throw err
      ctx.logger.debug({ what, attempt: n, err: (err as Error).message, retryInMs: delayMs }, 'retrying')
      await new Promise(resolve => setTimeout(resolve, delayMs))
    }
  }
}
