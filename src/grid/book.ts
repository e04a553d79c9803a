// Transaction state derived from records only. At start the node replays its log into a book;
// while running, every record is added after it is logged. State that could be derived is not
// stored a second time.
import type { Verified } from '../records/envelope.js'

export type TxStatus = 'proposed' | 'accepted' | 'rejected' | 'settling' | 'settled' | 'disputed' | 'expired'

export interface Tx {
  id: string
  commitment: Verified<'grid.commitment'>
  answer?: Verified<'grid.acceptance'> | Verified<'grid.rejection'>
  settlement?: Verified<'grid.settlement'>
  dispute?: Verified<'grid.dispute'>
  expiry?: Verified<'grid.expiry'>
}

/** Two different signed records for one protocol step by the same party. */
export interface Equivocation { step: 'commitment' | 'answer' | 'settlement', party: string, first: string, second: string }

export class TransactionBook {
  readonly requests = new Map<string, Verified<'grid.request'>>()
  readonly txs = new Map<string, Tx>()
  readonly equivocations: Equivocation[] = []
  private readonly commitmentOf = new Map<string, string>()
  private readonly ofRequest = new Map<string, Tx[]>()
  /** Transactions not yet rejected, settled or disputed: capacity still in use. */
  private readonly live = new Set<Tx>()

  /** The commitment a provider already made to a request, if any. */
  commitmentBy (requestId: string, provider: string): string | undefined {
    return this.commitmentOf.get(`${requestId}|${provider}`)
  }

  private conflict (step: Equivocation['step'], party: string, first: string, second: string): void {
    if (first !== second && !this.equivocations.some(e => e.first === first && e.second === second)) this.equivocations.push({ step, party, first, second })
  }

  add (v: Verified): void {
    switch (v.record.type) {
      case 'grid.request':
        this.requests.set(v.id, v as Verified<'grid.request'>)
        break
      case 'grid.commitment': {
        const c = (v as Verified<'grid.commitment'>).record.body
        const key = `${c.request}|${c.provider}`
        const earlier = this.commitmentOf.get(key)
        if (earlier === undefined) this.commitmentOf.set(key, v.id)
        else this.conflict('commitment', c.provider, earlier, v.id)
        if (!this.txs.has(v.id)) {
          const tx: Tx = { id: v.id, commitment: v as Verified<'grid.commitment'> }
          this.txs.set(v.id, tx)
          this.live.add(tx)
          const siblings = this.ofRequest.get(c.request)
          if (siblings === undefined) this.ofRequest.set(c.request, [tx])
          else siblings.push(tx)
        }
        break
      }
      case 'grid.acceptance':
      case 'grid.rejection': {
        const tx = this.txs.get((v as Verified<'grid.acceptance'>).record.body.commitment)
        if (tx?.answer !== undefined) this.conflict('answer', tx.commitment.record.body.requester, tx.answer.id, v.id)
        else if (tx !== undefined) tx.answer = v as Verified<'grid.acceptance'> | Verified<'grid.rejection'>
        break
      }
      case 'grid.settlement': {
        const tx = this.txs.get((v as Verified<'grid.settlement'>).record.body.commitment)
        if (tx?.settlement !== undefined && tx.settlement.id !== v.id) this.conflict('settlement', tx.commitment.record.body.provider, tx.settlement.id, v.id)
        else if (tx !== undefined && (tx.settlement === undefined || tx.settlement.record.sigs.length < v.record.sigs.length)) tx.settlement = v as Verified<'grid.settlement'>
        break
      }
      case 'grid.expiry': {
        const tx = this.txs.get((v as Verified<'grid.expiry'>).record.body.commitment)
        if (tx !== undefined) tx.expiry ??= v as Verified<'grid.expiry'>
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
    const commitment = (v.record.body as { commitment?: unknown }).commitment
    const tx = typeof commitment === 'string' ? this.txs.get(commitment) : undefined
    if (tx !== undefined && ['rejected', 'settled', 'disputed'].includes(this.status(tx))) this.live.delete(tx)
  }

  /** Transactions not rejected, settled or disputed. */
  unfinished (): Iterable<Tx> { return this.live }

  /** The transactions (commitments) made to one request. */
  ofRequestId (requestId: string): readonly Tx[] { return this.ofRequest.get(requestId) ?? [] }

  status (tx: Tx): TxStatus {
    if (tx.dispute !== undefined) return 'disputed'
    if (tx.settlement?.record.sigs.length === 2) return 'settled'
    if (tx.expiry !== undefined) return 'expired'
    if (tx.settlement !== undefined) return 'settling'
    if (tx.answer === undefined) return 'proposed'
    return tx.answer.record.type === 'grid.acceptance' ? 'accepted' : 'rejected'
  }

  /** Quantity already accepted against a request. */
  filled (requestId: string): number {
    let sum = 0
    for (const tx of this.ofRequestId(requestId)) {
      if (tx.answer?.record.type === 'grid.acceptance') sum += tx.commitment.record.body.quantity.value
    }
    return sum
  }

  /** Every party we have a transaction with. */
  counterparties (self: string): string[] {
    const out = new Set<string>()
    for (const tx of this.txs.values()) {
      const c = tx.commitment.record.body
      out.add(c.provider === self ? c.requester : c.provider)
    }
    return [...out]
  }

  /** The records of one transaction in protocol order, as an audit bundle carries them. */
  chain (tx: Tx): Verified[] {
    const request = this.requests.get(tx.commitment.record.body.request)
    const all: Array<Verified | undefined> = [request, tx.commitment, tx.answer, tx.settlement, tx.dispute, tx.expiry]
    return all.filter(v => v !== undefined)
  }
}
