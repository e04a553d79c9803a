// The sealed-bid clearing rule of counterparty-operated auctions (seed 000: "the counterparty
// selects winning bids and the four-step protocol executes against the winning price"):
//  1. bids above the reserve rate, or below the marketplace's minimum bid, lose;
//  2. the rest are taken in merit order — rate ascending, then earlier issuedAt, then bid id —
//     each whole (bids are indivisible) while the demand is not exceeded; a bid that would
//     exceed it is skipped and cheaper-to-fit later bids are still tried;
//  3. every winner is paid the uniform clearing rate: the highest winning rate (pay-as-clear).
export interface Bid { id: string, quantity: number, rate: number, issuedAt: number }

export type LossReason = 'above-reserve' | 'below-minimum' | 'not-needed'

export interface Clearing {
  winners: string[]
  losers: Array<{ id: string, reason: LossReason }>
  clearingRate: number | undefined
  cleared: number
}

export function clearAuction (bids: readonly Bid[], demand: number, reserveRate: number, minimumBid: number): Clearing {
  const losers: Clearing['losers'] = []
  const eligible: Bid[] = []
  for (const b of bids) {
    if (b.rate > reserveRate) losers.push({ id: b.id, reason: 'above-reserve' })
    else if (b.quantity < minimumBid) losers.push({ id: b.id, reason: 'below-minimum' })
    else eligible.push(b)
  }
  eligible.sort((a, b) => a.rate - b.rate || a.issuedAt - b.issuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const winners: Bid[] = []
  let cleared = 0
  for (const b of eligible) {
    if (cleared + b.quantity <= demand) {
      winners.push(b)
      cleared += b.quantity
    } else {
      losers.push({ id: b.id, reason: 'not-needed' })
    }
  }
  return {
    winners: winners.map(w => w.id),
    losers,
    clearingRate: winners.length === 0 ? undefined : Math.max(...winners.map(w => w.rate)),
    cleared
  }
}
