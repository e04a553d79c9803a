// Ledger state of a trade settlement, checked by the buyer before it countersigns: the buyer's own
// checkpoint must be what its log was at that size, and the producer's must extend the last
// checkpoint of the producer's log the buyer holds (src/ledger). Checks against one producer run
// one at a time, and a settlement signed before one already verified (concurrent trades) is
// proved a prefix of what is held instead of being mistaken for a fork.
import type { Ledger } from '../ledger/ledger.js'
import { checkpointAt, isConsistent, type LogCheckpoint } from '../log/checkpoint.js'
import type { RecordLog } from '../log/record-log.js'
import type { PairgridLibp2p } from '../net/libp2p.js'
import { call } from '../net/rpc.js'
import { PROTOCOL_CHECKPOINT } from '../net/protocol-ids.js'
import { CHECKPOINT_LIMITS } from '../grid/limits.js'
import { peerIdOfParty } from '../identity/peer.js'
import type { TradeSettlementBody } from '../records/trade-schemas.js'

export type LedgerVerdict =
  | { ok: true }
  | { ok: false, reason: 'fork-detected' | 'ledger-mismatch', detail: string }
  | { ok: false, reason: 'unreachable', detail: string }

interface ProofAnswer { checkpoint?: LogCheckpoint, proof?: unknown }

export class LedgerCheck {
  private readonly queue = new Map<string, Promise<unknown>>()

  constructor (private readonly ledger: Ledger, private readonly log: RecordLog, private readonly net: PairgridLibp2p) {}

  async check (s: TradeSettlementBody): Promise<LedgerVerdict> {
    const mine = s.ledger.buyer
    if (mine.size > this.log.head.size || checkpointAt(this.log, mine.size).root !== mine.root) {
      return { ok: false, reason: 'ledger-mismatch', detail: `the settlement states our log at size ${mine.size} as ${mine.root.slice(0, 12)}…, which it never was` }
    }
    const prev = this.queue.get(s.producer) ?? Promise.resolve()
    const next = prev.catch(() => {}).then(async () => await this.producer(s.producer, s.ledger.producer))
    this.queue.set(s.producer, next)
    try {
      return await next
    } finally {
      if (this.queue.get(s.producer) === next) this.queue.delete(s.producer)
    }
  }

  private async producer (party: string, at: LogCheckpoint): Promise<LedgerVerdict> {
    const held = this.ledger.held(party)
    if (held === undefined || at.size > held.size) {
      const x = await this.ledger.exchange(party, at)
      return x.ok ? { ok: true } : x
    }
    if (at.size === held.size) return at.root === held.root ? { ok: true } : { ok: false, reason: 'fork-detected', detail: `the producer's log at size ${at.size} has root ${at.root.slice(0, 12)}…, we verified ${held.root.slice(0, 12)}…` }
    let answer: ProofAnswer
    try {
      answer = await call(this.net, peerIdOfParty(party), PROTOCOL_CHECKPOINT, { from: at.size, to: held.size }, CHECKPOINT_LIMITS) as ProofAnswer
    } catch (err) {
      return { ok: false, reason: 'unreachable', detail: (err as Error).message }
    }
    const proof = Array.isArray(answer.proof) && answer.proof.every(p => typeof p === 'string') ? answer.proof as string[] : undefined
    if (answer.checkpoint?.size !== held.size || answer.checkpoint.root !== held.root || proof === undefined || !isConsistent(at, held, proof)) {
      return { ok: false, reason: 'fork-detected', detail: `the producer's checkpoint of size ${at.size} is not a prefix of the size-${held.size} log we verified` }
    }
    return { ok: true }
  }
}
