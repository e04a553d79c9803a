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
import { actionStart, racksOf, type DispatchOrder } from './order.js'
import { LOAD_VAR_PER_W, Plant } from './plant.js'
import { pvW } from './pv.js'
import type { BuildingSpec, RackSpec } from './spec.js'

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
type Baseline = { w: number, var: number, dw: number, dvar: number }

/** First index in ascending `xs` whose value is above `x`. */
export function upper (xs: readonly number[], x: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid]! <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * Demand-response reductions in force at t < before, as `sum(orders active at t)` gives them:
 * constant between window edges, so each piece is summed once (in input order, the same float sums).
 */
function reductionsDue (orders: readonly DispatchOrder[], before: number): (t: number) => number {
  const dr = orders.filter((o): o is Extract<DispatchOrder, { service: 'demand-response' }> => o.service === 'demand-response' && o.window.start < before)
  const edges = new Set<number>()
  for (const o of dr) edges.add(o.window.start).add(o.window.end)
  const at = [...edges].sort((a, b) => a - b)
  const due = at.map(b => {
    let s = 0
    for (const o of dr) if (o.window.start <= b && b < o.window.end) s += o.reductionW
    return s
  })
  return t => {
    const k = upper(at, t) - 1
    return k < 0 ? 0 : due[k]!
  }
}

/**
 * Orders overlapping a span, in input order. Sorted by start with a running maximum of ends, so a
 * query reads only back to the last order that could still reach the span.
 */
function overlapIndex (orders: readonly DispatchOrder[]): (span: Window) => DispatchOrder[] {
  const byStart = orders.map((o, i) => ({ o, i })).sort((a, b) => a.o.window.start - b.o.window.start || a.i - b.i)
  const starts = byStart.map(x => x.o.window.start)
  const maxEnd: number[] = []
  for (const x of byStart) maxEnd.push(Math.max(maxEnd.at(-1) ?? -Infinity, x.o.window.end))
  return span => {
    const hits: Array<{ o: DispatchOrder, i: number }> = []
    for (let j = upper(starts, span.end) - 1; j >= 0 && maxEnd[j]! > span.start; j--) {
      const x = byStart[j]!
      if (x.o.window.start < span.end && x.o.window.end > span.start) hits.push(x)
    }
    return hits.sort((a, b) => a.i - b.i).map(x => x.o)
  }
}

export function plan (input: PlanInput): PlanViolation | undefined {
  const { spec, state, now } = input
  const orders = input.orders.filter(o => o.window.end > now)
  if (orders.length === 0) return undefined
  let last = -Infinity
  for (const o of orders) last = Math.max(last, o.window.end)
  const horizon = Math.min(last, now + MAX_PLAN_MS)
  const plant = new Plant(spec, input.loadForecastW, {
    racks: Object.fromEntries(state.racks.map(r => [r.id, { socWh: r.socWh, peakUsedMs: r.peakUsedMs ?? 0 }])),
    hvac: Object.fromEntries((state.hvac ?? []).map(({ id, ...s }) => [id, s])),
    ev: Object.fromEntries((state.ev ?? []).map(({ id, ...s }) => [id, s]))
  })
  const starts = orders.map(o => actionStart(o, spec))
  // Hundreds of orders share a few edges: gathered without an array per order (as in reductionsDue).
  const edgeSet = new Set<number>()
  orders.forEach((o, i) => { edgeSet.add(starts[i]!).add(o.window.start).add(o.window.end) })
  const edges = [...edgeSet].sort((a, b) => a - b)
  const segments: Segment[] = []
  const segmentEnds: number[] = []

  // Net import before now: the forecast, less the demand-response reductions then in force.
  let due: ((t: number) => number) | undefined
  const past = (t: number): { w: number, var: number } => {
    due ??= reductionsDue(input.orders, now)
    const natural = plant.naturalNetW(t)
    return { w: Math.max(0, natural - due(t)), var: (natural + pvW(spec.pv, t)) * LOAD_VAR_PER_W }
  }
  // Segments are contiguous from now; those outside the span add exactly 0, so only the overlap is read.
  const average = (w: Window, key: 'w' | 'var'): number => {
    let acc = 0
    for (let a = w.start; a < Math.min(w.end, now);) {
      const b = Math.min(a + PLAN_STEP_MS, w.end, now)
      acc += past((a + b) / 2)[key] * (b - a)
      a = b
    }
    for (let j = upper(segmentEnds, w.start); j < segments.length && segments[j]!.t0 < w.end; j++) {
      const s = segments[j]!
      acc += s[key] * Math.max(0, Math.min(s.t1, w.end) - Math.max(s.t0, w.start))
    }
    return acc / (w.end - w.start)
  }
  // A baseline span under a tracking order holds that order's unknown response: a regulation
  // signal's mean within FR_ENERGY_SHARE of its capacity, a volt-var output within its capacity.
  // Orders not overlapping the span add exactly 0: only those overlapping are summed.
  const frIn = overlapIndex(orders.filter(o => o.service === 'frequency-regulation'))
  const vsIn = overlapIndex(orders.filter(o => o.service === 'voltage-support'))
  const uncertainty = (span: Window, key: 'w' | 'var'): number => sum((key === 'w' ? frIn : vsIn)(span).map(c => {
    const share = Math.max(0, Math.min(c.window.end, span.end) - Math.max(c.window.start, span.start)) / (span.end - span.start)
    return c.service === 'frequency-regulation' ? FR_ENERGY_SHARE * c.capacityW * share : c.service === 'voltage-support' ? c.capacityVar * share : 0
  }))
  const baselines = new Map<string, Baseline>()
  // Orders over one window predict one baseline from the same segments: hundreds of orders in a
  // window (a busy marketplace) compute it once. Valid for the segments planned so far, which is
  // all the prediction reads (they only grow, so a span keeps its latest prediction alone).
  const predicted = new Map<number, Map<number, { segments: number, b: Baseline }>>()
  const predict = (span: Window): Baseline => {
    let byEnd = predicted.get(span.start)
    if (byEnd === undefined) predicted.set(span.start, byEnd = new Map())
    const known = byEnd.get(span.end)
    if (known !== undefined && known.segments === segments.length) return known.b
    const b = { w: average(span, 'w'), var: average(span, 'var'), dw: uncertainty(span, 'w'), dvar: uncertainty(span, 'var') }
    byEnd.set(span.end, { segments: segments.length, b })
    return b
  }
  const baselineOf = (o: DispatchOrder): Baseline => {
    let b = baselines.get(o.id)
    if (b === undefined) {
      const known = state.baselines?.[o.id]
      const span = { start: 2 * o.window.start - o.window.end, end: o.window.start }
      const p = known?.w !== undefined && known.var !== undefined ? undefined : predict(span)
      b = {
        w: known?.w ?? p!.w,
        var: known?.var ?? p!.var,
        dw: known?.w !== undefined ? 0 : p!.dw,
        dvar: known?.var !== undefined ? 0 : p!.dvar
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
  const planning = { reserveMarginWh }
  let lastPWorst = 0
  // The orders in effect change only at their edges: a sweep over starts and ends keeps them, in
  // input order, with what each step needs of them.
  const byStart = orders.map((_, i) => i).sort((a, b) => starts[a]! - starts[b]! || a - b)
  let added = 0
  let nextEdge = 0
  let inForce: number[] = []
  let firstEnd = Infinity
  let active: DispatchOrder[] = []
  let ids: string[] = []
  let effects: OrderInEffect[] = []
  let fr: Array<{ o: DispatchOrder, racks: RackSpec[], total: number }> = []
  let frW = 0
  let reactive: DispatchOrder[] = []
  let vsVar = 0
  for (let t = now; t < horizon;) {
    let next = Math.min((Math.floor(t / PLAN_STEP_MS) + 1) * PLAN_STEP_MS, horizon)
    while (nextEdge < edges.length && edges[nextEdge]! <= t) nextEdge++
    if (nextEdge < edges.length && edges[nextEdge]! < next) next = edges[nextEdge]!
    const dtMs = next - t
    if ((added < byStart.length && starts[byStart[added]!]! <= t) || firstEnd <= t) {
      const fresh: number[] = []
      while (added < byStart.length && starts[byStart[added]!]! <= t) fresh.push(byStart[added++]!)
      inForce = [...inForce, ...fresh].filter(i => t < orders[i]!.window.end).sort((a, b) => a - b)
      firstEnd = Infinity
      for (const i of inForce) firstEnd = Math.min(firstEnd, orders[i]!.window.end)
      active = inForce.map(i => orders[i]!)
      ids = active.map(o => o.id)
      effects = active.map(inEffect)
      fr = active.filter(o => o.service === 'frequency-regulation').map(o => {
        const racks = spec.racks.filter(r => racksOf(o, spec).includes(r.id))
        return { o, racks, total: sum(racks.map(r => r.maxDischargeW)) }
      })
      // Regulation may swing its full capacity, plus its baseline's uncertainty, either way.
      frW = sum(fr.map(({ o }) => (o.service === 'frequency-regulation' ? o.capacityW : 0) + baselineOf(o).dw))
      // Voltage support may need its full capacity of either sign; reactive baselines may be off by their uncertainty.
      reactive = active.filter(o => o.service === 'voltage-support' || o.service === 'reactive-power')
      vsVar = sum(reactive.map(o => (o.service === 'voltage-support' ? o.capacityVar : 0) + baselineOf(o).dvar))
    }
    const fail = (reason: PlanReason, detail: string): PlanViolation => ({ reason, t, detail: `${detail} at ${iso(t)}`, active: ids })
    const out = controlStep(plant, { t, dtMs, voltagePu1000: 1000, orders: effects, planning })
    segments.push({ t0: t, t1: next, w: out.pccW, var: out.pccVar })
    segmentEnds.push(next)
    if (out.shortfall !== undefined) return fail(REASON[out.shortfall.kind], out.shortfall.detail)

    if (frW > 0) {
      if (out.batteryW + frW > out.caps.dischargeW + SLACK) return fail(REASON[out.caps.dischargeBy], `regulation needs ${Math.round(out.batteryW + frW)} W of discharge in reserve; the racks ${out.racks.join(', ')} allow ${Math.floor(out.caps.dischargeW)} W`)
      if (frW - out.batteryW > out.caps.chargeW + SLACK) return fail(REASON[out.caps.chargeBy], `regulation needs ${Math.round(frW - out.batteryW)} W of charge in reserve; the racks ${out.racks.join(', ')} allow ${Math.floor(out.caps.chargeW)} W`)
      for (const { o, racks, total } of fr) {
        if (o.service !== 'frequency-regulation') continue
        for (const r of racks) {
          const wh = (FR_ENERGY_SHARE * o.capacityW + baselineOf(o).dw) * r.maxDischargeW / total * dtMs / MS_PER_H
          const b = band.get(r.id)!
          b.down += wh / (r.dischargeEfficiencyPm / 1000)
          b.up += wh * r.chargeEfficiencyPm / 1000
        }
      }
    }

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
