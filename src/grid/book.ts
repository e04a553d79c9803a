// Transaction state derived from records only. At start the node replays its log into a book;
// while running, every record is added after it is logged. State that could be derived is not
// stored a second time.
import type { Verified } from '../records/envelope.js'

export type TxStatus = 'proposed' | 'accepted' | 'rejected' | 'settling' | 'settled' | 'disputed'

export interface Tx {
  id: string
  commitment: Verified<'grid.commitment'>
  answer?: Verified<'grid.acceptance'> | Verified<'grid.rejection'>
  settlement?: Verified<'grid.settlement'>
  dispute?: Verified<'grid.dispute'>
}

export class TransactionBook {
  readonly requests = new Map<string, Verified<'grid.request'>>()
  readonly txs = new Map<string, Tx>()

  add (v: Verified): void {
    switch (v.record.type) {
      case 'grid.request':
        this.requests.set(v.id, v as Verified<'grid.request'>)
        break
      case 'grid.commitment':
        if (!this.txs.has(v.id)) this.txs.set(v.id, { id: v.id, commitment: v as Verified<'grid.commitment'> })
        break
      case 'grid.acceptance':
      case 'grid.rejection': {
        const tx = this.txs.get((v as Verified<'grid.acceptance'>).record.body.commitment)
        if (tx !== undefined) tx.answer = v as Verified<'grid.acceptance'> | Verified<'grid.rejection'>
        break
      }
      case 'grid.settlement': {
        const tx = this.txs.get((v as Verified<'grid.settlement'>).record.body.commitment)
        if (tx !== undefined && (tx.settlement === undefined || tx.settlement.record.sigs.length < v.record.sigs.length)) tx.settlement = v as Verified<'grid.settlement'>
        break
      }
      case 'grid.dispute': {
        const tx = this.txs.get((v as Verified<'grid.dispute'>).record.body.commitment)
        if (tx !== undefined) tx.dispute = v as Verified<'grid.dispute'>
        break
      }
      default:
        break
    }
  }

  status (tx: Tx): TxStatus {
    if (tx.dispute !== undefined) return 'disputed'
    if (tx.settlement !== undefined) return tx.settlement.record.sigs.length === 2 ? 'settled' : 'settling'
    if (tx.answer === undefined) return 'proposed'
    return tx.answer.record.type === 'grid.acceptance' ? 'accepted' : 'rejected'
  }

  /** Quantity already accepted against a request. */
  filled (requestId: string): number {
    let sum = 0
    for (const tx of this.txs.values()) {
      if (tx.commitment.record.body.request === requestId && tx.answer?.record.type === 'grid.acceptance') sum += tx.commitment.record.body.quantity.value
    }
    return sum
  }

  /** The records of one transaction in protocol order, as an audit bundle carries them. */
  chain (tx: Tx): Verified[] {
    const request = this.requests.get(tx.commitment.record.body.request)
    const all: Array<Verified | undefined> = [request, tx.commitment, tx.answer, tx.settlement, tx.dispute]
    return all.filter(v => v !== undefined)
  }
}
