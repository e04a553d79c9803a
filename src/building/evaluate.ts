// Step 2 of the protocol, building side: can this (simulated) building commit to a request, given
// the state of charge of its racks, its own loads and their reserve, the bounds of its
// grid-commitment surface and everything it has already committed in every marketplace? The
// answer comes from planning the request together with the committed orders (plan.ts, the same
// controller the building then runs), after checks of the surface's static bounds. It also names
// the elements that serve the request: the whole building on a coarse surface; on a fine one the
// fewest racks that suffice (with the curtailable loads, for demand response), the ones least used
// by overlapping commitments and holding the most energy first.
import type { Window } from '../records/common-schemas.js'
import { isService, isTracking, makeOrder, overlaps, quantityOf, unitOf, type DispatchOrder, type Service } from './order.js'
import { plan, FR_ENERGY_SHARE, MAX_PLAN_MS, PLAN_STEP_MS, type PlanState } from './plan.js'
import { Plant } from './plant.js'
import { RESPONSE_TOLERANCE } from './responses.js'
import { WHOLE_BUILDING, type BuildingSpec } from './spec.js'

/** Longest window the building evaluates. */
export const MAX_WINDOW_MS = 24 * 3_600_000
/** Frequency regulation must reach a full swing within this (seed 000: under four seconds). */
export const FR_RESPONSE_MS = 4_000
const MS_PER_H = 3_600_000
const CANDIDATE = 'request'

export type RefusalReason = 'insufficient-energy' | 'insufficient-power' | 'insufficient-kvar' | 'insufficient-load' | 'conflict' | 'outside-surface' | 'unsupported-service'

export type Evaluation =
  | { ok: true, elements: string[] }
  | { ok: false, reason: RefusalReason, detail: string, conflictWith?: string }

export interface EvaluationInput {
  spec: BuildingSpec
  state: PlanState
  now: number
  service: string
  window: Window
  quantity: { value: number, unit: string }
  /** forecast of the rest of the own load (the HVAC, EV and PV the spec models are added) */
  loadForecastW: (t: number) => number
  /** orders of every commitment not yet settled, in every marketplace */
  committed: readonly DispatchOrder[]
}

const refuse = (reason: RefusalReason, detail: string, conflictWith?: string): Evaluation =>
  conflictWith === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, conflictWith }
const iso = (t: number): string => new Date(t).toISOString()
const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0)

export function evaluate (input: EvaluationInput): Evaluation {
  const { window, now } = input
  if (!isService(input.service)) return refuse('unsupported-service', `this building does not execute ${input.service}`)
  const service = input.service
  const unit = unitOf(service)
  const q = input.quantity.value
  if (input.quantity.unit !== unit) return refuse('outside-surface', `${service} is committed in ${unit}, the request asks for ${input.quantity.unit}`)
  if (!(Number.isInteger(q) && q > 0)) return refuse('outside-surface', `quantity ${q} ${unit} is not a positive integer`)
  if (!(window.end > window.start)) return refuse('outside-surface', 'the window is empty')
  if (window.start < now) return refuse('outside-surface', `the window starts at ${iso(window.start)}, before now (${iso(now)})`)
  if (window.end - window.start > MAX_WINDOW_MS) return refuse('outside-surface', `the window is longer than ${MAX_WINDOW_MS / MS_PER_H} h`)
  if (window.end > now + MAX_PLAN_MS) return refuse('outside-surface', `the window ends more than ${MAX_PLAN_MS / MS_PER_H} h from now, beyond what the building plans`)
  const bound = surfaceBound(input, service, q)
  if (bound !== undefined) return bound

  const clash = input.committed.find(c => overlaps(c.window, window) && unitOf(c.service) === unit && (isTracking(c.service) || isTracking(service)))
  if (clash !== undefined) {
    return refuse('conflict', `${clash.id} (${clash.service}) overlaps the window and is settled on the same metered ${unit}: the meter cannot tell a tracking service's response from the other order's`, clash.id)
  }

  const stacked = stackedBound(input, service, q)
  if (stacked !== undefined) return stacked

  const attempt = (elements: string[], committed: readonly DispatchOrder[]): ReturnType<typeof plan> =>
    plan({ spec: input.spec, state: input.state, now, loadForecastW: input.loadForecastW, orders: [...committed, makeOrder(CANDIDATE, service, window, q, elements)] })
  const sets = elementSets(input, service)
  for (const elements of sets) {
    if (attempt(elements, input.committed) === undefined) return { ok: true, elements }
  }
  const all = sets.at(-1)!
  const alone = attempt(all, [])
  if (alone !== undefined) return refuse(alone.reason, alone.detail)
  const together = attempt(all, input.committed)!
  const pending = input.committed.filter(c => c.window.end > now)
  const culprit = pending.find(c => attempt(all, input.committed.filter(x => x !== c)) === undefined) ??
    pending.find(c => together.active.includes(c.id)) ?? pending[0]!
  return refuse('conflict', `the request fits alone, not with ${culprit.id} (${culprit.service}): ${together.reason}: ${together.detail}`, culprit.id)
}

/** The surface's ratings: the racks' continuous ratings through the inverter, and the curtailable loads'. */
function ratings (spec: BuildingSpec): { va: number, dischargeW: number, chargeW: number, flexW: number } {
  const va = spec.inverter.ratedVA
  return {
    va,
    dischargeW: Math.min(va, sum(spec.racks.map(r => r.maxDischargeW))),
    chargeW: Math.min(va, sum(spec.racks.map(r => r.maxChargeW))),
    flexW: sum((spec.hvac ?? []).map(h => h.flexW)) + sum((spec.ev ?? []).map(e => e.maxW))
  }
}

/** Bounds of the surface no state of charge or plan can lift. */
function surfaceBound (input: EvaluationInput, service: Service, q: number): Evaluation | undefined {
  const { spec, window } = input
  const { va, dischargeW, chargeW, flexW } = ratings(spec)
  const durationMs = window.end - window.start
  const hours = durationMs / MS_PER_H
  const eff = Math.max(...spec.racks.map(r => r.dischargeEfficiencyPm / 1000))
  const sellableWh = sum(spec.racks.map(r => r.capacityWh * (r.socCeilingPm - r.socFloorPm) / 1000)) - spec.reserveWh
  const natural = new Plant(spec, input.loadForecastW)
  const minutes: number[] = []
  for (let t = window.start; t < window.end; t += PLAN_STEP_MS) minutes.push(t)
  let needWh = 0
  switch (service) {
    case 'demand-response': {
      if (q > dischargeW + flexW) return refuse('insufficient-power', `reduction ${q} W exceeds what the racks (${dischargeW} W continuous through the inverter) and the curtailable loads (${flexW} W) can give`)
      const short = minutes.find(t => natural.naturalNetW(t) < q)
      if (short !== undefined) return refuse('insufficient-load', `reduction ${q} W exceeds the forecast load ${Math.floor(natural.naturalNetW(short))} W at minute ${iso(short)}`)
      const curtailWh = sum((spec.hvac ?? []).map(h => h.flexW * Math.min(durationMs, h.maxCurtailMs) / MS_PER_H))
      needWh = Math.max(0, q * hours - curtailWh) / eff
      break
    }
    case 'peak-shaving':
      needWh = sum(minutes.map(t => Math.max(0, natural.naturalNetW(t) - q) * Math.min(PLAN_STEP_MS, window.end - t) / MS_PER_H)) / eff
      break
    case 'frequency-regulation': {
      if (q > Math.min(dischargeW, chargeW)) return refuse('insufficient-power', `regulation capacity ${q} W exceeds the racks' continuous rating through the inverter (${Math.min(dischargeW, chargeW)} W each way)`)
      const swingMs = (2 - RESPONSE_TOLERANCE) * q / spec.inverter.rampWPerS * 1000
      if (swingMs > FR_RESPONSE_MS) return refuse('insufficient-power', `a full swing of ±${q} W takes ${Math.ceil(swingMs)} ms at the inverter's ramp of ${spec.inverter.rampWPerS} W/s, beyond the ${FR_RESPONSE_MS} ms regulation response`)
      needWh = FR_ENERGY_SHARE * q * hours / eff
      break
    }
    case 'voltage-support':
    case 'reactive-power':
      if (q > va) return refuse('insufficient-kvar', `${q} var exceeds the inverter's rating of ${va} VA`)
      return undefined
  }
  if (needWh > sellableWh) return refuse('outside-surface', `the request needs ${Math.ceil(needWh)} Wh, more than the ${Math.floor(sellableWh)} Wh the racks can ever offer above floors and reserve`)
  return undefined
}

/**
 * The surface's ratings bound what is committed at once, whatever the load does: reductions and
 * regulation capacity add up to at most the racks' continuous rating through the inverter (plus
 * the curtailable loads, for demand response), var to at most the inverter's rating.
 */
function stackedBound (input: EvaluationInput, service: Service, q: number): Evaluation | undefined {
  if (service === 'peak-shaving') return undefined
  const { window } = input
  const unit = unitOf(service)
  const { va, dischargeW, chargeW, flexW } = ratings(input.spec)
  const bound = unit === 'var' ? va : service === 'demand-response' ? dischargeW + flexW : Math.min(dischargeW, chargeW)
  const same = input.committed.filter(c => overlaps(c.window, window) && unitOf(c.service) === unit && c.service !== 'peak-shaving')
  for (const t of [window.start, ...same.map(c => c.window.start).filter(t => t > window.start && t < window.end)]) {
    const on = same.filter(c => c.window.start <= t && t < c.window.end)
    const total = on.reduce((a, c) => a + quantityOf(c), q)
    if (total > bound) {
      const largest = on.reduce((m, c) => quantityOf(c) > quantityOf(m) ? c : m)
      return refuse('conflict', `with ${on.map(c => c.id).join(', ')} the building would hold ${total} ${unit} committed at ${iso(t)}, above the surface's ${bound} ${unit}`, largest.id)
    }
  }
  return undefined
}

/** Element sets to try, smallest first; the last is the most the surface can offer. */
function elementSets (input: EvaluationInput, service: Service): string[][] {
  const { spec, window } = input
  if (spec.surface === 'coarse') return [[WHOLE_BUILDING]]
  if (service === 'voltage-support' || service === 'reactive-power') return [[spec.inverter.id]]
  const natural = new Plant(spec, input.loadForecastW)
  const inWindow = (draw: (t: number) => number): boolean => {
    for (let t = window.start; t < window.end; t += PLAN_STEP_MS) if (draw(t) > 0) return true
    return false
  }
  const flex = service !== 'demand-response'
    ? []
    : [...natural.hvac.filter(h => h.spec.flexW > 0 && h.spec.maxCurtailMs > 0).map(h => h.id), ...natural.ev.filter(e => inWindow(t => e.naturalW(t))).map(e => e.id)]
  const busy = new Set(input.committed.filter(c => overlaps(c.window, window)).flatMap(c => c.elements.includes(WHOLE_BUILDING) ? spec.racks.map(r => r.id) : c.elements))
  const stored = (id: string): number => {
    const r = spec.racks.find(x => x.id === id)!
    return (input.state.racks.find(x => x.id === id)?.socWh ?? 0) - r.capacityWh * r.socFloorPm / 1000
  }
  const racks = spec.racks.map(r => r.id).sort((a, b) => Number(busy.has(a)) - Number(busy.has(b)) || stored(b) - stored(a))
  // Curtailable loads never serve alone: they shed the committed reduction, and only a rack
  // covers the load's drift over the baseline and the sheds' ramps.
  return racks.map((_, i) => [...flex, ...racks.slice(0, i + 1)])
}
