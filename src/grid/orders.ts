// What an accepted commitment obliges the building to do: one order per transaction.
import type { Window } from '../records/common-schemas.js'
import type { CommitmentBody } from '../records/grid-schemas.js'

export type DispatchOrder = { id: string, window: Window, elements: string[] } & (
  | { service: 'demand-response', reductionW: number }
  | { service: 'peak-shaving', capW: number }
  | { service: 'frequency-regulation', capacityW: number }
  | { service: 'voltage-support', capacityVar: number }
  | { service: 'reactive-power', setpointVar: number })

export function orderOf (id: string, c: CommitmentBody): DispatchOrder {
  const base = { id, window: c.window, elements: c.elements }
  const q = c.quantity.value
  switch (c.service) {
    case 'demand-response': return { ...base, service: c.service, reductionW: q }
    case 'peak-shaving': return { ...base, service: c.service, capW: q }
    case 'frequency-regulation': return { ...base, service: c.service, capacityW: q }
    case 'voltage-support': return { ...base, service: c.service, capacityVar: q }
    case 'reactive-power': return { ...base, service: c.service, setpointVar: q }
  }
}
