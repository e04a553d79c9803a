// What a committed service obliges the building to do, one order per transaction, and which of its
// elements an order may move: a coarse order names the whole building, a fine one names elements.
import type { Window } from '../records/common-schemas.js'
import { WHOLE_BUILDING, elementIds, type BuildingSpec } from './spec.js'

export type DispatchOrder = { id: string, window: Window, elements: string[] } & (
  | { service: 'demand-response', reductionW: number }
  | { service: 'peak-shaving', capW: number }
  | { service: 'frequency-regulation', capacityW: number }
  | { service: 'voltage-support', capacityVar: number }
  | { service: 'reactive-power', setpointVar: number })

export type Service = DispatchOrder['service']

export const SERVICES: readonly Service[] = ['demand-response', 'peak-shaving', 'frequency-regulation', 'voltage-support', 'reactive-power']

export const isService = (s: string): s is Service => (SERVICES as readonly string[]).includes(s)

export const unitOf = (s: Service): 'W' | 'var' => s === 'voltage-support' || s === 'reactive-power' ? 'var' : 'W'

/** The committed quantity: W for active-power services, var for reactive ones. */
export function quantityOf (o: DispatchOrder): number {
  switch (o.service) {
    case 'demand-response': return o.reductionW
    case 'peak-shaving': return o.capW
    case 'frequency-regulation': return o.capacityW
    case 'voltage-support': return o.capacityVar
    case 'reactive-power': return o.setpointVar
  }
}

export function makeOrder (id: string, service: Service, window: Window, value: number, elements: string[]): DispatchOrder {
  const base = { id, window, elements }
  switch (service) {
    case 'demand-response': return { ...base, service, reductionW: value }
    case 'peak-shaving': return { ...base, service, capW: value }
    case 'frequency-regulation': return { ...base, service, capacityW: value }
    case 'voltage-support': return { ...base, service, capacityVar: value }
    case 'reactive-power': return { ...base, service, setpointVar: value }
  }
}

export const overlaps = (a: Window, b: Window): boolean => a.start < b.end && b.start < a.end

/**
 * When the controller starts on an order: at its window start, except peak shaving, which starts
 * the inverter's full ramp earlier (its settlement has no baseline to disturb), so that the
 * window's first meter interval is already under the cap.
 */
export function actionStart (o: DispatchOrder, spec: BuildingSpec): number {
  if (o.service !== 'peak-shaving') return o.window.start
  return o.window.start - Math.ceil(spec.inverter.ratedVA / spec.inverter.rampWPerS) * 1000
}

export const activeAt = (o: DispatchOrder, spec: BuildingSpec, t: number): boolean => actionStart(o, spec) <= t && t < o.window.end

/** Services whose settlement tracks an exact trajectory of net W (regulation) or var (volt-var). */
export const isTracking = (s: Service): boolean => s === 'frequency-regulation' || s === 'voltage-support'

export const movesActivePower = (s: Service): boolean => unitOf(s) === 'W'

const named = (o: DispatchOrder, ids: string[]): string[] => o.elements.includes(WHOLE_BUILDING) ? ids : ids.filter(id => o.elements.includes(id))

/** Racks the order may charge or discharge. */
export const racksOf = (o: DispatchOrder, spec: BuildingSpec): string[] => movesActivePower(o.service) ? named(o, spec.racks.map(r => r.id)) : []

/** HVAC units and EV chargers the order may curtail (demand response only). */
export const curtailablesOf = (o: DispatchOrder, spec: BuildingSpec): string[] =>
  o.service === 'demand-response' ? named(o, [...(spec.hvac ?? []).map(h => h.id), ...(spec.ev ?? []).map(e => e.id)]) : []

/** Why the building cannot take this order as given; undefined when it can. */
export function orderProblem (o: DispatchOrder, spec: BuildingSpec): string | undefined {
  if (!isService(o.service)) return `the building does not execute ${String(o.service)}`
  if (!(Number.isFinite(o.window.start) && o.window.end > o.window.start)) return `order ${o.id}: window end must be after start`
  const q = quantityOf(o)
  if (!(Number.isInteger(q) && q > 0)) return `order ${o.id}: quantity must be a positive integer, got ${q}`
  if (o.elements.length === 0) return `order ${o.id}: names no element`
  const known = elementIds(spec)
  const unknown = o.elements.find(e => e !== WHOLE_BUILDING && !known.includes(e))
  if (unknown !== undefined) return `order ${o.id}: element ${unknown} is not part of this building`
  if (movesActivePower(o.service) && racksOf(o, spec).length === 0 && curtailablesOf(o, spec).length === 0) return `order ${o.id}: names no rack or curtailable load for ${o.service}`
  return undefined
}
