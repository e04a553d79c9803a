// Step 2 of the protocol, building side: can this (simulated) building commit to a request, given
// the state of charge of its racks, its own loads and their reserve, the bounds of its
// grid-commitment surface and everything it has already committed in every marketplace? The
// answer comes from planning the request together with the committed orders (plan.ts, the same
// controller the building then runs), after checks of the surface's static bounds. It also names
// the elements that serve the request: the whole building on a coarse surface; on a fine one the
// fewest racks that suffice (with the curtailable loads, for demand response), the ones least used
// by overlapping commitments and holding the most energy first.
import type { Window } from '../records/common-schemas.js'
import { actionStart, isService, isTracking, makeOrder, overlaps, quantityOf, unitOf, type DispatchOrder, type Service } from './order.js'
import { plan, upper, FR_ENERGY_SHARE, MAX_PLAN_MS, PLAN_STEP_MS, type PlanState, type PlanViolation } from './plan.js'
import { CANDIDATE, MergedOrders, num } from './merged-orders.js'
import { Plant } from './plant.js'
import { RESPONSE_TOLERANCE } from './responses.js'
import { WHOLE_BUILDING, type BuildingSpec } from './spec.js'

/** Longest window the building evaluates. */
export const MAX_WINDOW_MS = 24 * 3_600_000
/** Frequency regulation must reach a full swing within this (seed 000: under four seconds). */
export const FR_RESPONSE_MS = 4_000
const MS_PER_H = 3_600_000

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
  /** `committed` with alike orders merged (merged-orders.ts), where the caller keeps it; made here otherwise */
  merged?: readonly DispatchOrder[]
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
  // Whether the request fits is asked of the held orders merged where they are alike (the same
  // answer from far fewer orders); a refusal is worked out on the orders themselves, whose ids
  // its text names.
  const merged = input.merged ?? MergedOrders.of(input.committed, input.state)?.orders
  if (merged !== undefined && merged.length < input.committed.length) {
    for (const elements of sets) if (attempt(elements, merged) === undefined) return { ok: true, elements }
  }
  let last: PlanViolation | undefined
  for (const elements of sets) {
    last = attempt(elements, input.committed)
    if (last === undefined) return { ok: true, elements }
  }
  const all = sets.at(-1)!
  const alone = attempt(all, [])
  if (alone !== undefined) return refuse(alone.reason, alone.detail)
  // The plan of the last set with the committed orders, just run (plans are pure functions of their input).
  const together = last!
  const pending = input.committed.filter(c => c.window.end > now)
  const failsWithout = knownToFailWithout(input, makeOrder(CANDIDATE, service, window, q, all), together)
  const culprit = pending.find(c => !failsWithout(c) && attempt(all, input.committed.filter(x => x !== c)) === undefined) ??
    pending.find(c => together.active.includes(c.id)) ?? pending[0]
  // Only orders already over stand in the way (what they drew from the battery, their rebound).
  if (culprit === undefined) return refuse(together.reason, `the request fits alone, not after the orders already carried out: ${together.detail}`)
  return refuse('conflict', `the request fits alone, not with ${culprit.id} (${culprit.service}): ${together.reason}: ${together.detail}`, culprit.id)
}

/**
 * The culprit of a conflict is the first pending order without which the request fits: found by
 * planning once without each pending order in turn. This tells, without planning, that the plan
 * without a given order would fail too, where the planner (plan.ts) makes that certain. It is
 * asked about the pending orders in order, and only while the plans without the earlier ones
 * failed (those it answered false for were planned), so it holds:
 *  - an order the controller starts on only after the failing step, whose window edges fall after
 *    that step (or at its end when the step ends on a whole minute), and without which the plan
 *    still reaches that step's end: the plan is causal — an order counts in a step only once in
 *    effect; its edges only cut steps; its window is not in the baseline span of any order in
 *    effect by then (those spans end at the window start, except peak shaving's, whose
 *    uncertainties the plan does not use); demand-response reductions before now are of orders
 *    that started before now — so without it the plan runs the same steps, in the same state, and
 *    fails at the same one;
 *  - a demand-response or peak-shaving order alike in every respect but its id (service, window,
 *    quantity, elements, the baseline already fixed for it if any) to one already planned
 *    without, when neither id is used twice and every demand-response reduction is a safe
 *    integer: without either, the plan holds the same orders but for the ids and the place of
 *    that one in the list, and the only sums over such orders are of integer reductions (exact in
 *    any order), the rest minima and sets, so it gives the same answer (only a detail text could
 *    name other ids).
 * Both rest on how plan.ts computes (test/building-evaluate.test.ts replays recorded culprits).
 * False wherever this cannot be told: that order is planned without.
 */
function knownToFailWithout (input: EvaluationInput, request: DispatchOrder, failing: PlanViolation): (c: DispatchOrder) => boolean {
  const { spec, now } = input
  const committed = input.committed
  if (new Set(committed).size !== committed.length) return () => false // the same order held twice: removed together
  // --- causality: the orders the plan holds, its horizon and the failing step's end
  const orders = [...committed, request].filter(o => o.window.end > now)
  const edgesOf = (o: DispatchOrder): number[] => [actionStart(o, spec), o.window.start, o.window.end]
  const finite = orders.every(o => edgesOf(o).every(Number.isFinite))
  let end1 = -Infinity
  let end1Count = 0
  let end2 = -Infinity
  for (const o of orders) {
    const e = o.window.end
    if (e > end1) { end2 = end1; end1 = e; end1Count = 1 } else if (e === end1) end1Count++
    else if (e > end2) end2 = e
  }
  const tF = failing.t
  const minute = (Math.floor(tF / PLAN_STEP_MS) + 1) * PLAN_STEP_MS
  let stepEnd = Math.min(minute, Math.min(end1, now + MAX_PLAN_MS))
  for (const o of orders) for (const e of edgesOf(o)) if (e > tF && e < stepEnd) stepEnd = e
  const afterFailure = (c: DispatchOrder): boolean => {
    if (!finite) return false
    const first = Math.min(...edgesOf(c))
    if (!(first > stepEnd || (first === stepEnd && stepEnd === minute))) return false
    const lastWithout = c.window.end === end1 && end1Count === 1 ? end2 : end1
    return Math.min(lastWithout, now + MAX_PLAN_MS) >= stepEnd
  }
  // --- orders alike
  const ids = new Map<string, number>()
  for (const o of [...committed, request]) ids.set(o.id, (ids.get(o.id) ?? 0) + 1)
  let reductions = 0
  let integral = true
  for (const o of [...committed, request]) {
    if (o.service !== 'demand-response') continue
    integral &&= Number.isSafeInteger(o.reductionW)
    reductions += Math.abs(o.reductionW)
  }
  integral &&= reductions <= Number.MAX_SAFE_INTEGER
  const tried = new Set<string>()
  const alikeTried = (c: DispatchOrder): boolean => {
    if (!integral || (c.service !== 'demand-response' && c.service !== 'peak-shaving') || ids.get(c.id) !== 1) return false
    // A baseline already fixed is part of what the order is (the plan reads its w and var).
    const known: unknown = input.state.baselines?.[c.id]
    if (known !== undefined && (typeof known !== 'object' || known === null)) return false
    const w = num((known as { w?: unknown } | undefined)?.w)
    const v = num((known as { var?: unknown } | undefined)?.var)
    if (w === undefined || v === undefined) return false
    const key = `${c.service} ${num(c.window.start)} ${num(c.window.end)} ${num(quantityOf(c))} ${JSON.stringify(c.elements)} ${known === undefined ? '-' : `${w} ${v}`}`
    if (tried.has(key)) return true
    tried.add(key)
    return false
  }
  return c => afterFailure(c) || alikeTried(c)
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
  const times = [window.start, ...same.map(c => c.window.start).filter(t => t > window.start && t < window.end)]
  const over = (t: number): Evaluation | undefined => {
    const on = same.filter(c => c.window.start <= t && t < c.window.end)
    const total = on.reduce((a, c) => a + quantityOf(c), q)
    if (!(total > bound)) return undefined
    const largest = on.reduce((m, c) => quantityOf(c) > quantityOf(m) ? c : m)
    return refuse('conflict', `with ${on.map(c => c.id).join(', ')} the building would hold ${total} ${unit} committed at ${iso(t)}, above the surface's ${bound} ${unit}`, largest.id)
  }
  // What is committed at t is what started by t less what ended by t: with safe-integer
  // quantities (sums exact in any order) and finite, non-empty windows, prefix sums over the
  // sorted starts and ends tell which t is the first over the bound, in O(n log n); only that one
  // is then summed as above, for its text. Otherwise, each t as above (quadratic).
  let mass = Math.abs(q)
  let exact = Number.isSafeInteger(q)
  for (const c of same) {
    const x = quantityOf(c)
    exact &&= Number.isSafeInteger(x) && Number.isFinite(c.window.start) && Number.isFinite(c.window.end) && c.window.start < c.window.end
    mass += Math.abs(x)
  }
  if (!exact || !(mass <= Number.MAX_SAFE_INTEGER)) {
    for (const t of times) {
      const refusal = over(t)
      if (refusal !== undefined) return refusal
    }
    return undefined
  }
  const prefix = (key: 'start' | 'end'): { at: number[], sum: number[] } => {
    const sorted = same.map(c => ({ t: c.window[key], x: quantityOf(c) })).sort((a, b) => a.t - b.t)
    const sum = [0]
    for (const e of sorted) sum.push(sum.at(-1)! + e.x)
    return { at: sorted.map(e => e.t), sum }
  }
  const starts = prefix('start')
  const ends = prefix('end')
  const upTo = (p: { at: number[], sum: number[] }, t: number): number => p.sum[upper(p.at, t)]!
  const first = times.find(t => q + upTo(starts, t) - upTo(ends, t) > bound)
  return first === undefined ? undefined : over(first)
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
