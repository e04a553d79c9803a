// What an accepted commitment obliges the building to do: one order per transaction.
import { makeOrder, type DispatchOrder } from '../building/order.js'
import type { CommitmentBody } from '../records/grid-schemas.js'

export type { DispatchOrder } from '../building/order.js'

export function orderOf (id: string, c: CommitmentBody): DispatchOrder {
  return makeOrder(id, c.service, c.window, c.quantity.value, c.elements)
}
