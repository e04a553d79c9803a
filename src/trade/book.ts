// Trade state derived from records only: replayed from the log at start, then fed every record
// once it is logged (and offers and bids as they are gossiped). One trade per acceptance.
import type { Verified } from '../records/envelope.js'
import type { RecordType } from '../records/registry.js'

export type TradeStatus = 'accepted' | 'confirmed' | 'refused' | 'settling' | 'settled' | 'disputed'

export interface Trade {
  id: string
  acceptance: Verified<'trade.acceptance'>
  answer?: Verified<'trade.confirmation'> | Verified<'trade.refusal'>
  settlement?: Verified<'trade.settlement'>
  certificate?: Verified<'trade.certificate'>
  dispute?: Verified<'trade.dispute'>
  retirement?: Verified<'trade.retirement'>
}

/** Two different signed records for one step of one trade by the same party. */
export interface TradeEquivocation { step: 'answer' | 'settlement' | 'certificate' | 'retirement', party: string, first: string, second: string }

export const TRADE_TYPES = ['trade.offer', 'trade.bid', 'trade.acceptance', 'trade.confirmation', 'trade.refusal', 'trade.settlement', 'trade.certificate', 'trade.dispute', 'trade.retirement'] as const satisfies readonly RecordType[]
export type TradeType = typeof TRADE_TYPES[number]

export function isTradeRecord (v: Verified): v is Verified<TradeType> {
  return (TRADE_TYPES as readonly string[]).includes(v.record.type)
}

/** The later version of a record (more signatures), or a conflict when the ids differ. */
function newer<T extends Verified> (current: T | undefined, next: T): { keep: T } | { conflict: string } {
  if (current === undefined || (current.id === next.id && next.record.sigs.length > current.record.sigs.length)) return { keep: next }
  return current.id === next.id ? { keep: current } : { conflict: current.id }
}

export class TradeBook {
  readonly offers = new Map<string, Verified<'trade.offer'>>()
  readonly bids = new Map<string, Verified<'trade.bid'>>()
  readonly trades = new Map<string, Trade>()
  readonly equivocations: TradeEquivocation[] = []
  private readonly byCertificate = new Map<string, string>()

  get (acceptanceId: string): Trade | undefined { return this.trades.get(acceptanceId) }

  tradeOfCertificate (certificateId: string): Trade | undefined {
    const id = this.byCertificate.get(certificateId)
    return id === undefined ? undefined : this.trades.get(id)
  }

  private step<K extends 'settlement' | 'certificate' | 'retirement'> (trade: Trade | undefined, key: K, v: NonNullable<Trade[K]>, party: string): void {
    if (trade === undefined) return
    const r = newer(trade[key] as Verified | undefined, v)
    if ('keep' in r) trade[key] = r.keep as Trade[K]
    else if (!this.equivocations.some(e => e.first === r.conflict && e.second === v.id)) this.equivocations.push({ step: key, party, first: r.conflict, second: v.id })
  }

  add (v: Verified): void {
    if (!isTradeRecord(v)) return
    switch (v.record.type) {
      case 'trade.offer':
        this.offers.set(v.id, v as Verified<'trade.offer'>)
        break
      case 'trade.bid':
        this.bids.set(v.id, v as Verified<'trade.bid'>)
        break
      case 'trade.acceptance':
        if (!this.trades.has(v.id)) this.trades.set(v.id, { id: v.id, acceptance: v as Verified<'trade.acceptance'> })
        break
      case 'trade.confirmation':
      case 'trade.refusal': {
        const answer = v as Verified<'trade.confirmation'> | Verified<'trade.refusal'>
        const trade = this.trades.get(answer.record.body.acceptance)
        if (trade === undefined) break
        if (trade.answer === undefined) trade.answer = answer
        else if (trade.answer.id !== answer.id && !this.equivocations.some(e => e.second === answer.id)) this.equivocations.push({ step: 'answer', party: answer.record.body.producer, first: trade.answer.id, second: answer.id })
        break
      }
      case 'trade.settlement': {
        const s = v as Verified<'trade.settlement'>
        this.step(this.trades.get(s.record.body.acceptance), 'settlement', s, s.record.body.producer)
        break
      }
      case 'trade.certificate': {
        const c = v as Verified<'trade.certificate'>
        const trade = this.trades.get(c.record.body.acceptance)
        this.step(trade, 'certificate', c, c.record.body.producer)
        if (trade !== undefined) this.byCertificate.set(c.id, trade.id)
        break
      }
      case 'trade.dispute': {
        const d = v as Verified<'trade.dispute'>
        const trade = this.trades.get(d.record.body.acceptance)
        if (trade !== undefined) trade.dispute = d
        break
      }
      case 'trade.retirement': {
        const r = v as Verified<'trade.retirement'>
        this.step(this.tradeOfCertificate(r.record.body.certificate), 'retirement', r, r.record.body.by)
        break
      }
    }
  }

  status (t: Trade): TradeStatus {
    if (t.dispute !== undefined) return 'disputed'
    if (t.settlement !== undefined) return t.settlement.record.sigs.length === 2 ? 'settled' : 'settling'
    if (t.answer === undefined) return 'accepted'
    return t.answer.record.type === 'trade.confirmation' ? 'confirmed' : 'refused'
  }

  /** Trades whose acceptance a producer confirmed, against one offer. */
  confirmedWh (offerId: string): number {
    let sum = 0
    for (const t of this.trades.values()) if (t.acceptance.record.body.offer === offerId && t.answer?.record.type === 'trade.confirmation') sum += t.acceptance.record.body.quantityWh
    return sum
  }

  /** Confirmed trades of one block on one meter: sold from it (the offer's meter) or bought to it. */
  confirmedOnMeter (meter: string, block: { start: number, end: number }, side: 'sold' | 'bought'): Trade[] {
    return [...this.trades.values()].filter(t => {
      if (t.answer?.record.type !== 'trade.confirmation') return false
      const a = t.acceptance.record.body
      const onMeter = side === 'bought' ? a.buyerMeter === meter : this.offers.get(a.offer)?.record.body.meter === meter
      return onMeter && a.block.start === block.start && a.block.end === block.end
    })
  }

  blockWh (meter: string, block: { start: number, end: number }, side: 'sold' | 'bought'): number {
    return this.confirmedOnMeter(meter, block, side).reduce((s, t) => s + t.acceptance.record.body.quantityWh, 0)
  }

  /** The records of one trade in protocol order, as an audit bundle carries them. */
  chain (t: Trade): Verified[] {
    const offer = this.offers.get(t.acceptance.record.body.offer)
    const bid = offer?.record.body.bid === undefined ? undefined : this.bids.get(offer.record.body.bid)
    const all: Array<Verified | undefined> = [offer, bid, t.acceptance, t.answer, t.settlement, t.certificate, t.dispute, t.retirement]
    return all.filter(v => v !== undefined)
  }

  /** Forgets gossiped offers and bids that expired before `before` and no trade refers to. */
  prune (before: number, logged: (id: string) => boolean): void {
    const referenced = new Set([...this.trades.values()].map(t => t.acceptance.record.body.offer))
    for (const [id, o] of this.offers) if (o.record.body.expiresAt < before && !referenced.has(id) && !logged(id)) this.offers.delete(id)
    for (const [id, b] of this.bids) if (b.record.body.expiresAt < before && !logged(id)) this.bids.delete(id)
  }
}
