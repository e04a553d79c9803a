// Ledger state of a trade settlement, checked by the buyer before it countersigns: its own
// checkpoint must be what its log was at that size, and the producer's must extend the last
// checkpoint of the producer's log the buyer holds (src/ledger) — else the producer rewrote its
// history since, and the buyer disputes with `fork-detected`.
import type { Ledger } from '../ledger/ledger.js'
import { checkpointAt } from '../log/checkpoint.js'
import type { RecordLog } from '../log/record-log.js'
import type { TradeSettlementBody } from '../records/trade-schemas.js'

export type LedgerVerdict =
  | { ok: true }
  | { ok: false, reason: 'fork-detected' | 'ledger-mismatch', detail: string }
  | { ok: false, reason: 'unreachable', detail: string }

export class LedgerCheck {
  constructor (private readonly ledger: Ledger, private readonly log: RecordLog) {}

  async check (s: TradeSettlementBody): Promise<LedgerVerdict> {
    const mine = s.ledger.buyer
    if (mine.size > this.log.head.size || checkpointAt(this.log, mine.size).root !== mine.root) {
      return { ok: false, reason: 'ledger-mismatch', detail: `the settlement states our log at size ${mine.size} as ${mine.root.slice(0, 12)}…, which it never was` }
    }
    const x = await this.ledger.exchange(s.producer, s.ledger.producer)
    if (x.ok) return { ok: true }
    return x.reason === 'unreachable' ? { ok: false, reason: 'unreachable', detail: x.detail } : { ok: false, reason: x.reason, detail: x.detail }
  }
}
