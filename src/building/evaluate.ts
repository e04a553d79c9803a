// Step 2 of the protocol, building side: can this (simulated) building commit to a
// demand-response request, given its state of charge, its own-load reserve, the bounds of its
// coarse grid-commitment surface (one battery) and what it has already committed? Deliberately
// conservative: no charging is assumed before or between windows, so every commitment not yet
// finished draws on today's energy; load and overlapping power are checked minute by minute
// (sampled at each minute's start).
import type { Window } from '../records/common-schemas.js'
import type { BuildingSpec } from './spec.js'

const MINUTE_MS = 60_000
const MS_PER_H = 3_600_000

export interface Commitment { id: string, window: Window, reductionW: number }

export interface DrEvaluationInput {
  spec: BuildingSpec
  socWh: number
  now: number
  window: Window
  reductionW: number
  loadForecastW: (t: number) => number
  committed: readonly Commitment[]
  /** defaults to demand-response, the only service this controller executes */
  service?: string
}

export type RefusalReason = 'insufficient-power' | 'insufficient-energy' | 'insufficient-load' | 'conflict' | 'unsupported-service' | 'outside-surface'

export type DrEvaluation =
  | { ok: true, elements: string[] }
  | { ok: false, reason: RefusalReason, detail: string }

const refuse = (reason: RefusalReason, detail: string): DrEvaluation => ({ ok: false, reason, detail })
const iso = (t: number): string => new Date(t).toISOString()

export function evaluateDemandResponse (input: DrEvaluationInput): DrEvaluation {
  const { spec: { battery: b }, window, reductionW, now } = input
  if ((input.service ?? 'demand-response') !== 'demand-response') return refuse('unsupported-service', `this building executes demand-response, not ${input.service}`)
  if (!(window.end > window.start)) return refuse('outside-surface', 'the window is empty')
  if (window.start < now) return refuse('outside-surface', `the window starts at ${iso(window.start)}, before now (${iso(now)})`)
  if (!(Number.isFinite(reductionW) && reductionW > 0)) return refuse('outside-surface', `reduction ${reductionW} W is not a positive quantity`)
  if (reductionW > b.maxDischargeW) return refuse('insufficient-power', `reduction ${reductionW} W exceeds the continuous rating ${b.maxDischargeW} W`)

  const eff = b.dischargeEfficiencyPm / 1000
  const needWh = (w: number, from: number, to: number): number => w * Math.max(0, to - from) / MS_PER_H / eff
  const requestWh = needWh(reductionW, window.start, window.end)
  const floorWh = b.capacityWh * b.socFloorPm / 1000
  const usableWh = b.capacityWh * b.socCeilingPm / 1000 - floorWh - b.reserveWh
  if (requestWh > usableWh) return refuse('outside-surface', `the request needs ${Math.ceil(requestWh)} Wh, more than the ${Math.floor(usableWh)} Wh the battery can ever offer`)

  for (let tm = window.start; tm < window.end; tm += MINUTE_MS) {
    const loadW = input.loadForecastW(tm)
    if (reductionW > loadW) return refuse('insufficient-load', `reduction ${reductionW} W exceeds the forecast load ${Math.floor(loadW)} W at minute ${iso(tm)}`)
  }
  const availableWh = Math.max(0, input.socWh - floorWh - b.reserveWh)
  if (requestWh > availableWh) return refuse('insufficient-energy', `the request needs ${Math.ceil(requestWh)} Wh, ${Math.floor(availableWh)} Wh are available above floor and reserve`)

  for (let tm = window.start; tm < window.end; tm += MINUTE_MS) {
    const minuteEnd = Math.min(tm + MINUTE_MS, window.end)
    const overlapping = input.committed.filter(c => c.window.start < minuteEnd && c.window.end > tm)
    const totalW = overlapping.reduce((s, c) => s + c.reductionW, reductionW)
    if (totalW > b.maxDischargeW) return refuse('conflict', `at minute ${iso(tm)} the request and ${overlapping.map(c => c.id).join(', ')} need ${totalW} W, above the continuous rating ${b.maxDischargeW} W`)
  }
  const pending = input.committed.filter(c => c.window.end > now)
  const committedWh = pending.reduce((s, c) => s + needWh(c.reductionW, Math.max(c.window.start, now), c.window.end), 0)
  if (requestWh + committedWh > availableWh) {
    return refuse('conflict', `the request (${Math.ceil(requestWh)} Wh) and ${pending.map(c => c.id).join(', ')} (${Math.ceil(committedWh)} Wh) need more than the ${Math.floor(availableWh)} Wh available`)
  }
  return { ok: true, elements: ['battery'] }
}
