// How fast the building responds to its orders, kept for the last KEPT_ORDERS orders: the
// software path in wall time, and the modeled physical response in simulated time.
import type { Service } from './order.js'

export const KEPT_ORDERS = 100
/** A response is reached within this share of the committed quantity. */
export const RESPONSE_TOLERANCE = 0.05
/** Instants probed within a step when looking for the moment a response is reached. */
const PROBES = 20

export interface ResponseMeasure {
  orderId: string
  service: Service
  /**
   * Software path, wall ms, the worst so far: from when an order became due (the later of its
   * dispatch and its window start) to the controller's first step on it; for a regulation
   * setpoint, from its receipt to the command handed to the plant model.
   */
  wallMs?: number
  /**
   * Modeled physical response, simulated ms, the worst so far: from the window start (regulation:
   * also each setpoint's receipt) until the PCC is within 5% of the committed quantity of the
   * target (demand response and peak shaving: at or below it).
   */
  physicalMs?: number
  /** responses physicalMs covers */
  samples: number
  /** responses superseded (a newer setpoint) or ended before they were reached */
  unreached: number
}

export class ResponseLog {
  private readonly byOrder = new Map<string, ResponseMeasure>()

  /** A fresh measure for an order (a re-dispatched order starts over). */
  open (orderId: string, service: Service): ResponseMeasure {
    this.byOrder.delete(orderId)
    const m: ResponseMeasure = { orderId, service, samples: 0, unreached: 0 }
    this.byOrder.set(orderId, m)
    for (const id of this.byOrder.keys()) {
      if (this.byOrder.size <= KEPT_ORDERS) break
      this.byOrder.delete(id)
    }
    return m
  }

  list (): ResponseMeasure[] { return [...this.byOrder.values()].map(m => ({ ...m })) }
}

/** The first probed instant of the step [t, t + dtMs) at which `within` holds. */
export function reachedAt (t: number, dtMs: number, within: (offsetMs: number) => boolean): number | undefined {
  for (let i = 0; i <= PROBES; i++) {
    const o = dtMs * i / PROBES
    if (within(o)) return t + o
  }
  return undefined
}
