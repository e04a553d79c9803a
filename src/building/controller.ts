// The building's controller: one step of every element for the orders in effect. The runtime
// runs it on the live plant; the planner (plan.ts) runs the same code on a copy, so what the
// building commits to is what it then does. Orders in effect add up:
//  - active power: demand response holds net import at most at (lowest baseline − Σ reductions,
//    each with what its window has fallen short so far: its settlement measures the window's mean),
//    peak shaving at most at (lowest cap − 1%); neither makes the building export. Frequency
//    regulation holds it at (baseline − Σ setpoint × capacity), charging as well as discharging.
//    Curtailable loads named by demand-response orders shed the reductions first (HVAC, then EV
//    chargers); the named racks cover the rest, shared in proportion to what each can give.
//  - reactive power: net var import is held at (lowest var baseline − Σ var asked), each
//    reactive-power order asking its setpoint, each voltage-support order its volt-var value.
// Holding a baseline rather than a fixed output is what the meter-before-event settlements
// measure: the own load's drift during the window is covered too.
import type { Battery } from './battery.js'
import { curtailablesOf, racksOf, type DispatchOrder } from './order.js'
import { LOAD_VAR_PER_W, type Plant } from './plant.js'
import type { RampStep } from './ramp.js'
// The curve is the settlement method's: the controller follows exactly what is measured.
import { voltVarSetpoint } from '../market/volt-var.js'

/** Peak shaving aims this far below the cap, so each interval's average stays under it. */
export const PEAK_MARGIN = 0.01
const MS_PER_H = 3_600_000
/** Float slack when comparing a demand with a limit (W, var). */
const SLACK = 0.5

export interface OrderInEffect {
  order: DispatchOrder
  /** meter-before-event baseline of net import, W (demand response and regulation need it) */
  baselineW?: number
  /** meter-before-event baseline of net var import (voltage support and reactive power need it) */
  baselineVar?: number
  /** regulation: the setpoint in force, per mille of capacity */
  setpointPm?: number
  /** demand response: extra reduction making up what the window has fallen short so far (ramps, sheds) */
  makeUpW?: number
}

export interface ControlInput {
  t: number
  dtMs: number
  /** EPS voltage at the PCC, per-unit x 1000, for volt-var */
  voltagePu1000: number
  orders: readonly OrderInEffect[]
  /** plans count continuous ratings only (the peak budget is kept for transients) and keep a margin above the reserve */
  planning?: { reserveMarginWh: number }
}

export type Limit = 'power' | 'energy'
export interface Caps { dischargeW: number, chargeW: number, dischargeBy: Limit, chargeBy: Limit }
export type ShortfallKind = Limit | 'kvar' | 'load'

export interface StepOutcome {
  /** own net load this step after curtailment: rest + HVAC + EV − PV */
  ownLoadW: number
  /** average active power of the racks through the inverter, positive = discharging */
  batteryW: number
  /** largest |P| of the inverter within the step */
  pPeakW: number
  /** how far the loads moved within the step (sheds ramping): the racks may carry that much more for a moment */
  loadSwingW: number
  pccW: number
  pccVar: number
  /** net import the active-power orders aim at (exact for regulation, a ceiling otherwise) */
  targetW?: number
  targetVar?: number
  /** reactive output asked for (the capability curve may have allowed less) */
  qDemandVar: number
  /** limits of the racks in use, at the step's start */
  caps: Caps
  racks: string[]
  /** what the orders asked that the limits did not allow (the first found) */
  shortfall?: { kind: ShortfallKind, detail: string }
  /** instantaneous PCC values `offsetMs` into the step */
  pccAt: (offsetMs: number) => number
  varAt: (offsetMs: number) => number
}

const min = (xs: number[]): number => xs.reduce((m, x) => Math.min(m, x), Infinity)
const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0)

/** Per-rack and total limits of `racks` over the next `dtMs`, with the building-wide reserve and the inverter rating. */
function capsOf (plant: Plant, racks: readonly Battery[], dtMs: number, planning: ControlInput['planning']): Caps & { per: Array<{ d: number, c: number }> } {
  const per = racks.map(r => ({ d: r.dischargeCap(dtMs, planning === undefined), c: r.chargeCap(dtMs) }))
  let dischargeW = sum(per.map(p => p.d.w))
  let dischargeBy: Limit = per.some(p => p.d.by === 'energy') ? 'energy' : 'power'
  let chargeW = sum(per.map(p => p.c.w))
  let chargeBy: Limit = per.some(p => p.c.by === 'energy') ? 'energy' : 'power'
  // The reserve is never sold: no discharge may take the building's stored energy below it.
  const headroomWh = plant.storedAboveFloorWh() - plant.spec.reserveWh - (planning?.reserveMarginWh ?? 0)
  const eff = racks.length === 0 ? 1 : min(racks.map(r => r.spec.dischargeEfficiencyPm / 1000))
  const reserveW = Math.max(0, headroomWh) * eff / (dtMs / MS_PER_H)
  if (reserveW < dischargeW) { dischargeW = reserveW; dischargeBy = 'energy' }
  const va = plant.spec.inverter.ratedVA
  if (va < dischargeW) { dischargeW = va; dischargeBy = 'power' }
  if (va < chargeW) { chargeW = va; chargeBy = 'power' }
  return { dischargeW, chargeW, dischargeBy, chargeBy, per: per.map(p => ({ d: p.d.w, c: p.c.w })) }
}

export function controlStep (plant: Plant, input: ControlInput): StepOutcome {
  const { t, dtMs } = input
  const spec = plant.spec
  // One pass, each kind in input order (the sums below add in that order).
  const dr: OrderInEffect[] = []
  const peak: OrderInEffect[] = []
  const fr: OrderInEffect[] = []
  const reactive: OrderInEffect[] = []
  for (const o of input.orders) {
    switch (o.order.service) {
      case 'demand-response': if (o.baselineW !== undefined) dr.push(o); break
      case 'peak-shaving': peak.push(o); break
      case 'frequency-regulation': if (o.baselineW !== undefined) fr.push(o); break
      case 'voltage-support':
      case 'reactive-power': if (o.baselineVar !== undefined) reactive.push(o); break
    }
  }
  let shortfall: StepOutcome['shortfall']

  // Active-power target.
  let upper: number | undefined
  if (dr.length > 0) {
    let lowest = Infinity
    let asked = 0
    for (const o of dr) {
      lowest = Math.min(lowest, o.baselineW!)
      asked += (o.order.service === 'demand-response' ? o.order.reductionW : 0) + (o.makeUpW ?? 0)
    }
    upper = lowest - asked
  }
  if (peak.length > 0) {
    let cap = Infinity
    for (const o of peak) cap = Math.min(cap, o.order.service === 'peak-shaving' ? o.order.capW : Infinity)
    upper = Math.min(upper ?? Infinity, cap * (1 - PEAK_MARGIN))
  }
  let targetW: number | undefined
  const tracking = fr.length > 0
  if (tracking) {
    let lowest = Infinity
    let asked = 0
    for (const o of fr) {
      lowest = Math.min(lowest, o.baselineW!)
      asked += o.order.service === 'frequency-regulation' ? (o.setpointPm ?? 0) / 1000 * o.order.capacityW : 0
    }
    targetW = lowest - asked
    if (upper !== undefined) targetW = Math.min(targetW, upper)
  } else if (upper !== undefined) {
    if (upper < 0) shortfall = { kind: 'load', detail: `the orders ask net import down to ${Math.round(upper)} W; demand response and peak shaving do not export` }
    targetW = Math.max(0, upper)
  }

  // Loads: curtail what demand-response orders name, HVAC first, before the racks are asked.
  // Once every element is named, further orders cannot add to the sets: stop there.
  const curtailable = new Set<string>()
  const flexCount = (spec.hvac?.length ?? 0) + (spec.ev?.length ?? 0)
  for (const o of dr) {
    if (curtailable.size === flexCount) break
    for (const id of curtailablesOf(o.order, spec)) curtailable.add(id)
  }
  const rest = plant.restW(t, dtMs)
  const pv = plant.pvW(t, dtMs)
  // The loads shed the committed reductions, not the momentary need: what they do then depends on
  // the orders alone, so a plan foresees their budgets and rebounds exactly; the racks take the
  // rest (the load's drift, the sheds' ramps).
  let toShed = 0
  if (!tracking) for (const o of dr) toShed += o.order.service === 'demand-response' ? o.order.reductionW : 0
  const shed = (id: string, flexW: number): number => {
    if (!curtailable.has(id) || toShed <= 0) return 0
    const w = Math.min(flexW, toShed)
    toShed -= w
    return w
  }
  const hvacCmd = plant.hvac.map(h => shed(h.id, h.flexW(t, dtMs)))
  const evCmd = plant.ev.map(e => shed(e.id, e.flexW(t, dtMs, input.planning !== undefined)))
  const loads: RampStep[] = [...plant.hvac.map((h, i) => h.step(t, dtMs, hvacCmd[i]!, curtailable.has(h.id))), ...plant.ev.map((e, i) => e.step(t, dtMs, evCmd[i]!))]
  const consumptionW = rest + sum(loads.map(l => l.avg))
  const ownLoadW = consumptionW - pv

  // Racks: those the orders name; with no order in effect, those still ramping down.
  const rackIds = new Set<string>(dr.length + peak.length + fr.length > 0 ? [] : plant.inverter.racks)
  for (const kind of [dr, peak, fr]) {
    for (const o of kind) {
      if (rackIds.size === spec.racks.length) break
      for (const id of racksOf(o.order, spec)) rackIds.add(id)
    }
  }
  const racks = plant.racks.filter(r => rackIds.has(r.id))
  const caps = capsOf(plant, racks, dtMs, input.planning)
  const batteryFor = (loadW: number): number => targetW === undefined ? 0 : tracking ? loadW - targetW : Math.max(0, loadW - targetW)
  const desiredW = batteryFor(ownLoadW)
  // Limits are judged against where the loads settle: a shed still ramping is a transient.
  const settledW = batteryFor(rest - pv + sum(loads.map(l => l.settled)))
  const named = (): string => [...rackIds].join(', ') || 'no rack'
  if (settledW > caps.dischargeW + SLACK) shortfall ??= { kind: caps.dischargeBy, detail: `the racks (${named()}) would need to give ${Math.round(settledW)} W; their ${caps.dischargeBy} allows ${Math.floor(caps.dischargeW)} W` }
  if (-settledW > caps.chargeW + SLACK) shortfall ??= { kind: caps.chargeBy, detail: `the racks (${named()}) would need to take ${Math.round(-settledW)} W; their ${caps.chargeBy} allows ${Math.floor(caps.chargeW)} W` }
  const p = plant.inverter.stepP(desiredW, caps.dischargeW, caps.chargeW, dtMs, racks.map(r => r.id))
  const share = p.avg >= 0 ? caps.per.map(c => c.d) : caps.per.map(c => c.c)
  const shareSum = sum(share)
  const batteryW = sum(racks.map((r, i) => shareSum > 0 ? r.step(p.avg * share[i]! / shareSum, dtMs) : 0))

  // Reactive power, within what the active power leaves of the inverter's rating.
  const loadVar = consumptionW * LOAD_VAR_PER_W
  let targetVar: number | undefined
  let qDemandVar = 0
  if (reactive.length > 0) {
    const askedVar = sum(reactive.map(o => o.order.service === 'reactive-power'
      ? o.order.setpointVar
      : o.order.service === 'voltage-support' ? voltVarSetpoint(input.voltagePu1000, o.order.capacityVar) : 0))
    targetVar = min(reactive.map(o => o.baselineVar!)) - askedVar
    qDemandVar = loadVar - targetVar
  }
  const pPeakW = Math.max(Math.abs(p.at(0)), Math.abs(p.end))
  const qLimitVar = plant.inverter.qLimitVar(p.at(0), p.end)
  if (Math.abs(qDemandVar) > qLimitVar + SLACK) shortfall ??= { kind: 'kvar', detail: `the inverter would need ${Math.round(Math.abs(qDemandVar))} var; at ${Math.round(pPeakW)} W its capability curve allows ${Math.floor(qLimitVar)} var` }
  const q = plant.inverter.stepQ(qDemandVar, qLimitVar, dtMs)

  const base = rest - pv
  return {
    ownLoadW,
    batteryW,
    pPeakW,
    loadSwingW: sum(loads.map(l => Math.abs(l.at(0) - l.end))),
    pccW: ownLoadW - batteryW,
    pccVar: loadVar - q.avg,
    ...(targetW === undefined ? {} : { targetW }),
    ...(targetVar === undefined ? {} : { targetVar }),
    qDemandVar,
    caps: { dischargeW: caps.dischargeW, chargeW: caps.chargeW, dischargeBy: caps.dischargeBy, chargeBy: caps.chargeBy },
    racks: racks.map(r => r.id),
    ...(shortfall === undefined ? {} : { shortfall }),
    pccAt: o => base + sum(loads.map(l => l.at(o))) - p.at(o),
    varAt: o => (rest + sum(loads.map(l => l.at(o)))) * LOAD_VAR_PER_W - q.at(o)
  }
}
