// A node's net position per counterparty and per marketplace, derived only from countersigned
// records: grid-service settlements and trade settlements carrying both signatures. Money is net
// of what we receive less what we pay, per currency; energy is what was paid for.
import type { TransactionBook } from '../grid/book.js'
import type { TradeBook } from './book.js'

export interface Position {
  moneyMinor: Record<string, number>
  /** Trade energy received at the buyer's PCC: sold by us, bought by us. */
  tradeWh: { sold: number, bought: number }
  /** Grid-service energy paid for (Wh services, varh services): provided by us, procured by us. */
  serviceWh: { provided: number, procured: number }
  serviceVarh: { provided: number, procured: number }
  settlements: number
}

export interface NetPositions { byCounterparty: Record<string, Position>, byMarketplace: Record<string, Position> }

const empty = (): Position => ({ moneyMinor: {}, tradeWh: { sold: 0, bought: 0 }, serviceWh: { provided: 0, procured: 0 }, serviceVarh: { provided: 0, procured: 0 }, settlements: 0 })

export function netPositions (self: string, grid: TransactionBook, trades: TradeBook): NetPositions {
  const out: NetPositions = { byCounterparty: {}, byMarketplace: {} }
  const book = (counterparty: string, marketplace: string, apply: (p: Position) => void): void => {
    for (const p of [out.byCounterparty[counterparty] ??= empty(), out.byMarketplace[marketplace] ??= empty()]) {
      apply(p)
      p.settlements++
    }
  }
  const money = (p: Position, currency: string, minor: number): void => { p.moneyMinor[currency] = (p.moneyMinor[currency] ?? 0) + minor }
  for (const tx of grid.txs.values()) {
    const s = tx.settlement?.record.body
    if (s === undefined || tx.settlement!.record.sigs.length !== 2) continue
    const provided = s.provider === self
    const reactive = s.committed.unit === 'var' || s.committed.unit === 'varh'
    book(provided ? s.requester : s.provider, s.marketplace, p => {
      money(p, s.amount.currency, provided ? s.amount.minor : -s.amount.minor)
      const energy = reactive ? p.serviceVarh : p.serviceWh
      if (provided) energy.provided += s.paidEnergy
      else energy.procured += s.paidEnergy
    })
  }
  for (const t of trades.trades.values()) {
    const s = t.settlement?.record.body
    if (s === undefined || t.settlement!.record.sigs.length !== 2) continue
    const sold = s.producer === self
    book(sold ? s.buyer : s.producer, s.marketplace, p => {
      money(p, s.amount.currency, sold ? s.amount.minor : -s.amount.minor)
      if (sold) p.tradeWh.sold += s.receivedWh
      else p.tradeWh.bought += s.receivedWh
    })
  }
  return out
}
