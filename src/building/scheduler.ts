// Arbitration among simultaneously admissible requests, from one or several marketplaces.
import type { Window } from '../records/common-schemas.js'
import { evaluate, type Evaluation, type EvaluationInput } from './evaluate.js'
import { MergedOrders } from './merged-orders.js'
import { isService, makeOrder, type DispatchOrder } from './order.js'

export interface ArbitrationCandidate {
  id: string
  service: string
  window: Window
  quantity: { value: number, unit: string }
  /** price rate in minor units per MWh (Mvarh) */
  rateMinor: number
  /** true when acceptance is expected (tariff, framework); false for a bid that may lose (auction) */
  firm: boolean
  issuedAt: number
}

export type ArbitrationBase = Omit<EvaluationInput, 'service' | 'window' | 'quantity'>

/**
 * The building's arbitration rule:
 *  1. own loads first — the own-load reserve and the forecast load are never sold: every
 *     candidate is evaluated with both counted (evaluate.ts);
 *  2. then firm commitments before tentative ones;
 *  3. then the higher price rate first;
 *  4. then the earlier issuedAt first (and the id, so that the order is total).
 * Candidates are evaluated one at a time in that order, each against the committed orders plus
 * the candidates admitted before it, so what is admitted never over-commits the building.
 * Decisions come back in that order.
 */
export function arbitrate (candidates: readonly ArbitrationCandidate[], base: ArbitrationBase): Array<{ id: string, decision: Evaluation }> {
  const ranked = [...candidates].sort((a, b) =>
    Number(b.firm) - Number(a.firm) || b.rateMinor - a.rateMinor || a.issuedAt - b.issuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const committed: DispatchOrder[] = [...base.committed]
  // Merged once for the batch and kept in step with what is admitted.
  let merged = MergedOrders.of(committed, base.state)
  return ranked.map(c => {
    const decision = evaluate({ ...base, committed, ...(merged === undefined ? {} : { merged: merged.orders }), service: c.service, window: c.window, quantity: c.quantity })
    if (decision.ok && isService(c.service)) {
      const order = makeOrder(c.id, c.service, c.window, c.quantity.value, decision.elements)
      committed.push(order)
      if (merged?.add(order) === false) merged = undefined
    }
    return { id: c.id, decision }
  })
}
