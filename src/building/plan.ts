// Can the building carry a set of orders? Runs the controller (controller.ts) on a copy of the
// simulated plant from now to the end of the last order, in steps of at most a minute cut at every
// window edge, and reports the first moment a limit would bind: its answers are as good as the
// model (and, for a real building, its load forecast). Stated assumptions, all conservative:
//  - the racks' continuous ratings only (the peak budget is kept for transients), a margin of
//    MARGIN_PM of capacity above each floor and above the reserve, and of KVAR_MARGIN_PM of the
//    inverter's rating below its kvar capability (baselines and drift differ a little from plan);
//  - baselines are predicted from the plan's own net import (so an order in another order's
//    baseline span is counted), before now from the load forecast less the reductions then due;
//    a baseline span under a regulation or voltage-support window is uncertain by that order's
//    possible mean response, and plans take the side that costs more;
//  - regulation follows a signal of unknown shape: the expected path holds the baseline, and
//    each rack it uses keeps FR_ENERGY_SHARE x capacity x duration / efficiency of headroom both
//    down and up (a RegD-like signal is near energy-neutral), and full capacity of power both ways;
//  - voltage support may need its full capacity at any moment, of either sign; while sheds ramp
//    the racks bridge them for a moment, and the load's var lags;
//  - no charging between orders: the racks only move for orders.
import type { Window } from '../records/common-schemas.js'
import { controlStep, type OrderInEffect, type ShortfallKind } from './controller.js'
import type { EvState } from './ev-charger.js'
import type { HvacState } from './hvac.js'
import { actionStart, activeAt, racksOf, type DispatchOrder } from './order.js'
import { LOAD_VAR_PER_W, Plant } from './plant.js'
import { pvW } from './pv.js'
import type { BuildingSpec } from './spec.js'

export const PLAN_STEP_MS = 60_000
/** How far ahead the building plans: later windows are refused. */
export const MAX_PLAN_MS = 48 * 3_600_000
export const FR_ENERGY_SHARE = 0.25
/** Margin above floors and reserve, per mille of capacity. */
export const MARGIN_PM = 5
/** Margin below the kvar capability, per mille of the inverter's rating. */
export const KVAR_MARGIN_PM = 20
const MS_PER_H = 3_600_000
const SLACK = 0.5

/** What a plan starts from: per-rack state of charge, the loads' states, baselines already fixed. */
export interface PlanState {
  racks: ReadonlyArray<{ id: string, socWh: number, peakUsedMs?: number }>
  hvac?: ReadonlyArray<{ id: string } & HvacState>
  ev?: ReadonlyArray<{ id: string } & EvState>
  baselines?: Readonly<Record<string, { w?: number, var?: number }>>
}

export interface PlanInput {
  spec: BuildingSpec
  state: PlanState
  now: number
  /** forecast of the rest of the own load (without the HVAC, EV and PV the spec models) */
  loadForecastW: (t: number) => number
  orders: readonly DispatchOrder[]
}

export type PlanReason = 'insufficient-energy' | 'insufficient-power' | 'insufficient-kvar' | 'insufficient-load'

export interface PlanViolation { reason: PlanReason, t: number, detail: string, active: string[] }

const REASON: Record<ShortfallKind, PlanReason> = { power: 'insufficient-power', energy: 'insufficient-energy', kvar: 'insufficient-kvar', load: 'insufficient-load' }
const iso = (t: number): string => new Date(t).toISOString()
const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0)

interface Segment { t0: number, t1: number, w: number, var: number }

export function plan (input: PlanInput): PlanViolation | undefined {
  const { spec, state, now } = input
  const orders = input.orders.filter(o => o.window.end > now)
  if (orders.length === 0) return undefined
  const horizon = Math.min(Math.max(...orders.map(o => o.window.end)), now + MAX_PLAN_MS)
  const plant = new Plant(spec, input.loadForecastW, {
    racks: Object.fromEntries(state.racks.map(r => [r.id, { socWh: r.socWh, peakUsedMs: r.peakUsedMs ?? 0 }])),
    hvac: Object.fromEntries((state.hvac ?? []).map(({ id, ...s }) => [id, s])),
    ev: Object.fromEntries((state.ev ?? []).map(({ id, ...s }) => [id, s]))
  })
  const edges = [...new Set(orders.flatMap(o => [actionStart(o, spec), o.window.start, o.window.end]))].sort((a, b) => a - b)
  const segments: Segment[] = []

  // Net import before now: the forecast, less the demand-response reductions then in force.
  const past = (t: number): { w: number, var: number } => {
    const due = sum(input.orders.filter(o => activeAt(o, spec, t)).map(o => o.service === 'demand-response' ? o.reductionW : 0))
    const natural = plant.naturalNetW(t)
    return { w: Math.max(0, natural - due), var: (natural + pvW(spec.pv, t)) * LOAD_VAR_PER_W }
  }
  const average = (w: Window, key: 'w' | 'var'): number => {
    let acc = 0
    for (let a = w.start; a < Math.min(w.end, now);) {
      const b = Math.min(a + PLAN_STEP_MS, w.end, now)
      acc += past((a + b) / 2)[key] * (b - a)
      a = b
    }
    for (const s of segments) acc += s[key] * Math.max(0, Math.min(s.t1, w.end) - Math.max(s.t0, w.start))
    return acc / (w.end - w.start)
  }
  // A baseline span under a tracking order holds that order's unknown response: a regulation
  // signal's mean within FR_ENERGY_SHARE of its capacity, a volt-var output within its capacity.
  const uncertainty = (span: Window, key: 'w' | 'var'): number => sum(orders.map(c => {
    const share = Math.max(0, Math.min(c.window.end, span.end) - Math.max(c.window.start, span.start)) / (span.end - span.start)
    if (key === 'w' && c.service === 'frequency-regulation') return FR_ENERGY_SHARE * c.capacityW * share
    if (key === 'var' && c.service === 'voltage-support') return c.capacityVar * share
    return 0
  }))
  const baselines = new Map<string, { w: number, var: number, dw: number, dvar: number }>()
  const baselineOf = (o: DispatchOrder): { w: number, var: number, dw: number, dvar: number } => {
    let b = baselines.get(o.id)
    if (b === undefined) {
      const known = state.baselines?.[o.id]
      const span = { start: 2 * o.window.start - o.window.end, end: o.window.start }
      b = {
        w: known?.w ?? average(span, 'w'),
        var: known?.var ?? average(span, 'var'),
        dw: known?.w !== undefined ? 0 : uncertainty(span, 'w'),
        dvar: known?.var !== undefined ? 0 : uncertainty(span, 'var')
      }
      baselines.set(o.id, b)
    }
    return b
  }
  // Demand response plans with the lowest baseline it may meet (the most reduction to give).
  const inEffect = (o: DispatchOrder): OrderInEffect => {
    const b = baselineOf(o)
    return { order: o, baselineW: o.service === 'demand-response' ? b.w - b.dw : b.w, baselineVar: b.var, setpointPm: 0 }
  }

  const band = new Map(spec.racks.map(r => [r.id, { down: 0, up: 0 }]))
  const initial = new Map(plant.racks.map(r => [r.id, r.socWh]))
  const initialStoredWh = plant.storedAboveFloorWh()
  const capacityWh = sum(spec.racks.map(r => r.capacityWh))
  const reserveMarginWh = capacityWh * MARGIN_PM / 1000
  let lastPWorst = 0
  for (let t = now; t < horizon;) {
    let next = Math.min((Math.floor(t / PLAN_STEP_MS) + 1) * PLAN_STEP_MS, horizon)
    for (const e of edges) if (e > t && e < next) next = e
    const dtMs = next - t
    const active = orders.filter(o => activeAt(o, spec, t))
    const ids = active.map(o => o.id)
    const fail = (reason: PlanReason, detail: string): PlanViolation => ({ reason, t, detail: `${detail} at ${iso(t)}`, active: ids })
    const out = controlStep(plant, { t, dtMs, voltagePu1000: 1000, orders: active.map(inEffect), planning: { reserveMarginWh } })
    segments.push({ t0: t, t1: next, w: out.pccW, var: out.pccVar })
    if (out.shortfall !== undefined) return fail(REASON[out.shortfall.kind], out.shortfall.detail)

    // Regulation may swing its full capacity, plus its baseline's uncertainty, either way.
    const fr = active.filter(o => o.service === 'frequency-regulation')
    const frW = sum(fr.map(o => (o.service === 'frequency-regulation' ? o.capacityW : 0) + baselineOf(o).dw))
    if (frW > 0) {
      if (out.batteryW + frW > out.caps.dischargeW + SLACK) return fail(REASON[out.caps.dischargeBy], `regulation needs ${Math.round(out.batteryW + frW)} W of discharge in reserve; the racks ${out.racks.join(', ')} allow ${Math.floor(out.caps.dischargeW)} W`)
      if (frW - out.batteryW > out.caps.chargeW + SLACK) return fail(REASON[out.caps.chargeBy], `regulation needs ${Math.round(frW - out.batteryW)} W of charge in reserve; the racks ${out.racks.join(', ')} allow ${Math.floor(out.caps.chargeW)} W`)
      for (const o of fr) {
        if (o.service !== 'frequency-regulation') continue
        const racks = spec.racks.filter(r => racksOf(o, spec).includes(r.id))
        const total = sum(racks.map(r => r.maxDischargeW))
        for (const r of racks) {
          const wh = (FR_ENERGY_SHARE * o.capacityW + baselineOf(o).dw) * r.maxDischargeW / total * dtMs / MS_PER_H
          const b = band.get(r.id)!
          b.down += wh / (r.dischargeEfficiencyPm / 1000)
          b.up += wh * r.chargeEfficiencyPm / 1000
        }
      }
    }

    // Voltage support may need its full capacity of either sign; reactive baselines may be off by their uncertainty.
    const reactive = active.filter(o => o.service === 'voltage-support' || o.service === 'reactive-power')
    const vsVar = sum(reactive.map(o => (o.service === 'voltage-support' ? o.capacityVar : 0) + baselineOf(o).dvar))
    // While sheds ramp the racks bridge them and the load's var lags; an inverter still ramping
    // down from the last step's worst output carries it into this one.
    const pWorst = Math.max(out.pPeakW + out.loadSwingW + frW, lastPWorst)
    lastPWorst = out.pPeakW + out.loadSwingW + frW
    if (reactive.length > 0) {
      const limit = Math.sqrt(Math.max(0, spec.inverter.ratedVA ** 2 - pWorst ** 2)) - spec.inverter.ratedVA * KVAR_MARGIN_PM / 1000
      const need = Math.abs(out.qDemandVar) + vsVar + out.loadSwingW * LOAD_VAR_PER_W
      if (need > limit + SLACK) return fail('insufficient-kvar', `the inverter would need ${Math.round(need)} var; with up to ${Math.round(pWorst)} W of active power its capability curve allows ${Math.floor(limit)} var`)
    }

    let loStoredWh = 0
    for (const r of plant.racks) {
      const b = band.get(r.id)!
      const lo = r.socWh - b.down
      const hi = r.socWh + b.up
      const margin = r.spec.capacityWh * MARGIN_PM / 1000
      loStoredWh += lo - r.floorWh
      if (lo < initial.get(r.id)! - SLACK && lo < r.floorWh + margin) return fail('insufficient-energy', `rack ${r.id} would fall to ${Math.floor(lo)} Wh, below its floor ${Math.ceil(r.floorWh)} Wh plus margin`)
      if (hi > initial.get(r.id)! + SLACK && hi > r.ceilingWh - margin) return fail('insufficient-energy', `rack ${r.id} would need to absorb up to ${Math.ceil(hi)} Wh, above its ceiling ${Math.floor(r.ceilingWh)} Wh less margin`)
    }
    if (loStoredWh < initialStoredWh - SLACK && loStoredWh < spec.reserveWh + reserveMarginWh) return fail('insufficient-energy', `the racks would hold ${Math.floor(loStoredWh)} Wh above their floors, into the ${spec.reserveWh} Wh own-load reserve`)
    t = next
  }
  return undefined
}
