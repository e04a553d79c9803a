// What both sides of the protocol need from their node.
import type { Logger } from 'pino'
import type { KeyPair } from '../identity/ed25519.js'
import type { RecordLog } from '../log/record-log.js'
import type { Verified } from '../records/envelope.js'
import type { Clock } from '../node/clock.js'
import type { PairgridLibp2p } from '../net/libp2p.js'
import type { TransactionBook } from './book.js'
import type { NodeDb } from '../log/db.js'
import type { Ledger } from '../ledger/ledger.js'

export interface PartyContext {
  keys: KeyPair
  db: NodeDb
  log: RecordLog
  book: TransactionBook
  clock: Clock
  net: PairgridLibp2p
  ledger: Ledger
  logger: Logger
}

/** Logs records durably (one group commit), then adds them to the book: nothing is sent before it is on disk. */
export async function persist (ctx: PartyContext, ...records: Verified[]): Promise<void> {
  await Promise.all(records.map(async v => await ctx.log.append(v)))
  for (const v of records) ctx.book.add(v)
}

/** Retries `attempt` with exponential backoff until it succeeds or `deadline` (simulated ms) passes. */
export async function withRetry<T> (ctx: PartyContext, what: string, deadline: number, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let delayMs = 200
  for (let n = 1; ; n++) {
    try {
      return await attempt()
    } catch (err) {
      if (signal?.aborted === true) throw err
      const remaining = deadline - ctx.clock.now()
      if (remaining <= 0) throw err
      ctx.logger.warn({ what, attempt: n, err: (err as Error).message, retryInMs: delayMs }, 'retrying')
      await new Promise(resolve => setTimeout(resolve, delayMs))
      delayMs = Math.min(delayMs * 2, 5_000)
    }
  }
}
