// What both sides of the protocol need from their node.
import type { Logger } from 'pino'
import { setMaxListeners } from 'node:events'
import type { KeyPair } from '../identity/ed25519.js'
import type { RecordLog } from '../log/record-log.js'
import { signRecord, type Verified } from '../records/envelope.js'
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

/**
 * How long past the settlement's due time a party keeps trying before it signs an expiry: one
 * more settlement interval (a monthly program waits a month, a 15-minute one a quarter hour).
 */
export function settlementDeadline (windowEnd: number, settlementIntervalMs: number): number {
  return Math.ceil(windowEnd / settlementIntervalMs) * settlementIntervalMs + settlementIntervalMs
}

/** When the requester signs an `unsettled` expiry: half an interval after the provider's deadline, so its retries have their chance first. */
export function settlementExpiry (windowEnd: number, settlementIntervalMs: number): number {
  return settlementDeadline(windowEnd, settlementIntervalMs) + settlementIntervalMs / 2
}

/** Signs and logs that we give up on a transaction at a stage; the transaction ends `expired`. */
export async function expire (ctx: PartyContext, tx: { id: string, commitment: { record: { body: { request: string, requester: string, provider: string } } } }, stage: 'unanswered' | 'unsettled' | 'uncountersigned', detail: string): Promise<void> {
  const c = tx.commitment.record.body
  const against = c.provider === ctx.keys.id ? c.requester : c.provider
  const expiry = signRecord('grid.expiry', { commitment: tx.id, request: c.request, by: ctx.keys.id, against, stage, detail: detail.slice(0, 500), issuedAt: ctx.clock.now() }, ctx.keys)
  await persist(ctx, expiry)
  ctx.logger.warn({ tx: tx.id, stage, detail }, 'transaction expired')
}

/** Every pending wait of a party listens on its stop signal: one per open transaction, unbounded. */
export function withUnboundedListeners (controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal)
  return controller
}
