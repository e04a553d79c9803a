// The five settlement methods on constructed meter data: both parties run this arithmetic, so
// each figure is checked against a hand computation.
import { describe, it, expect } from 'vitest'
import type { ReadingBody } from '../src/records/meter-schemas.js'
import { settlementMethod } from '../src/market/methods.js'
import { voltVarSetpoint } from '../src/market/volt-var.js'
import { regulationScore, correlationPm } from '../src/market/regd-score.js'
import { amountMinor, underDelivered, settlementDue } from '../src/market/settlement.js'
import { isqrt, floorDiv } from '../src/market/registers.js'
import type { Quantity, Window } from '../src/records/common-schemas.js'
import type { SignalBody } from '../src/records/grid-schemas.js'

const T0 = Date.UTC(2026, 10, 21, 14, 0)
const MIN = 60_000

/** Readings every `interval` ms over [from, to], with net import `w(t)` W and var import `v(t)`. */
function meterSeries (from: number, to: number, interval: number, w: (t: number) => number, v: (t: number) => number = () => 0, volts: (t: number) => number = () => 1000): ReadingBody[] {
  const out: ReadingBody[] = []
  let imp = 0; let exp = 0; let impVar = 0; let expVar = 0
  for (let t = from, seq = 0; t <= to; t += interval, seq++) {
    if (t > from) {
      const wh = w(t) * interval / 3_600_000
      const varh = v(t) * interval / 3_600_000
      if (wh >= 0) imp += wh; else exp -= wh
      if (varh >= 0) impVar += varh; else expVar -= varh
    }
    out.push({ meter: 'm'.repeat(43), seq, t, intervalMs: interval, importWh: Math.floor(imp), exportWh: Math.floor(exp), importVarh: Math.floor(impVar), exportVarh: Math.floor(expVar), avgW: Math.round(w(t)), avgVar: Math.round(v(t)), voltagePu: volts(t), frequencyMHz: 60_000, rocofMHzPerS: 0 })
  }
  return out
}

function outcome (method: string, window: Window, quantity: Quantity, readings: ReadingBody[], signals: SignalBody[] = []): { baseline: bigint, executed: bigint, paid: bigint, performance: bigint } {
  const m = settlementMethod(method)!
  const o = m.outcome({ window, quantity, readings, signals })
  if (o === undefined) throw new Error('no outcome')
  return o
}

const window: Window = { start: T0 + 15 * MIN, end: T0 + 30 * MIN }

describe('integer helpers', () => {
  it('floor-divides toward negative infinity and takes exact integer square roots', () => {
    expect(floorDiv(-7n, 2n)).toBe(-4n)
    expect(floorDiv(7n, 2n)).toBe(3n)
    expect(isqrt(10n ** 30n)).toBe(10n ** 15n)
    expect(isqrt(10n ** 30n - 1n)).toBe(10n ** 15n - 1n)
  })
  it('rounds amounts down in minor units and dates settlements at the end of their interval', () => {
    expect(amountMinor(12_500n, { mechanism: 'tariff', reference: 't', currency: 'USD', rate: 150_000, rateUnit: 'MWh' })).toBe(1875n)
    expect(amountMinor(1n, { mechanism: 'tariff', reference: 't', currency: 'USD', rate: 999_999, rateUnit: 'MWh' })).toBe(0n)
    expect(settlementDue(T0 + 30 * MIN, 60 * MIN)).toBe(T0 + 60 * MIN)
    expect(settlementDue(T0 + 60 * MIN, 60 * MIN)).toBe(T0 + 60 * MIN)
    expect(underDelivered(900, 1000)).toBe(false)
    expect(underDelivered(899, 1000)).toBe(true)
  })
})

describe('pairgrid/dr-mbe/1', () => {
  it('executed = pre-window average − window average; paid energy capped at the commitment', () => {
    // One-minute intervals keep every interval's energy a whole number of Wh.
    const readings = meterSeries(T0, window.end, 60_000, t => t <= window.start ? 120_000 : 60_000)
    const o = outcome('pairgrid/dr-mbe/1', window, { value: 50_000, unit: 'W' }, readings)
    expect(o.baseline).toBe(120_000n)
    expect(o.executed).toBe(60_000n)
    expect(o.paid).toBe(12_500n)
    expect(o.performance).toBe(1000n)
    const short = outcome('pairgrid/dr-mbe/1', window, { value: 80_000, unit: 'W' }, readings)
    expect(short.paid).toBe(15_000n)
    expect(short.performance).toBe(750n)
    const over = outcome('pairgrid/dr-mbe/1', window, { value: 40_000, unit: 'W' }, readings)
    expect(over.paid).toBe(10_000n)
  })
})

describe('pairgrid/peak-cap/1', () => {
  it('counts compliant intervals and pays for the peak shaved down to the cap', () => {
    // Pre-window peak 130 kW; in the window 80 kW except two 10-s intervals at 95 kW.
    const spikes = new Set([window.start + 60_000, window.start + 70_000])
    const readings = meterSeries(T0, window.end, 10_000, t => t <= window.start ? (t === T0 + 5 * MIN ? 130_000 : 110_000) : spikes.has(t) ? 95_000 : 80_000)
    const o = outcome('pairgrid/peak-cap/1', window, { value: 90_000, unit: 'W' }, readings)
    expect(o.baseline).toBe(130_000n)
    expect(o.executed).toBe(95_000n)
    expect(o.performance).toBe(BigInt(Math.floor(88 * 1000 / 90)))
    // shaved = min(130 − 95, 130 − 90) = 35 kW for 15 min = 8750 Wh, scaled by compliance
    expect(o.paid).toBe(8750n * o.performance / 1000n)
  })
})

describe('pairgrid/volt-var/1', () => {
  it('follows the Category B style curve with integer arithmetic', () => {
    expect(voltVarSetpoint(900, 30_000)).toBe(30_000)
    expect(voltVarSetpoint(920, 30_000)).toBe(30_000)
    expect(voltVarSetpoint(955, 30_000)).toBe(15_000)
    expect(voltVarSetpoint(990, 30_000)).toBe(0)
    expect(voltVarSetpoint(1000, 30_000)).toBe(0)
    expect(voltVarSetpoint(1045, 30_000)).toBe(-15_000)
    expect(voltVarSetpoint(1100, 30_000)).toBe(-30_000)
  })
  it('scores delivered var against the curve of the measured voltage', () => {
    const volts = (t: number): number => t <= window.start ? 1000 : 955
    const perfect = meterSeries(T0, window.end, 10_000, () => 100_000, t => t <= window.start ? 20_000 : 20_000 - 15_000, volts)
    const o = outcome('pairgrid/volt-var/1', window, { value: 30_000, unit: 'var' }, perfect)
    expect(o.baseline).toBe(20_000n)
    expect(o.executed).toBe(15_000n)
    expect(o.performance).toBe(1000n)
    const none = meterSeries(T0, window.end, 10_000, () => 100_000, () => 20_000, volts)
    expect(outcome('pairgrid/volt-var/1', window, { value: 30_000, unit: 'var' }, none).performance).toBe(500n)
  })
})

describe('pairgrid/var-setpoint/1', () => {
  it('executed = baseline var − window var from the varh registers', () => {
    const readings = meterSeries(T0, window.end, 10_000, () => 100_000, t => t <= window.start ? 20_000 : 0)
    const o = outcome('pairgrid/var-setpoint/1', window, { value: 20_000, unit: 'var' }, readings)
    expect(o.executed).toBe(20_000n)
    expect(o.paid).toBe(5000n)
    expect(o.performance).toBe(1000n)
  })
})

describe('pairgrid/regd-score/1', () => {
  const signalOf = (t: number): number => Math.round(800 * Math.sin(t / 20_000))
  const signals = (w: Window): SignalBody[] => Array.from({ length: (w.end - w.start) / 2000 }, (_, k) => ({ commitment: 'c'.repeat(64), requester: 'r'.repeat(43), provider: 'p'.repeat(43), seq: k, t: w.start + 2000 * k, setpointPm: signalOf(w.start + 2000 * k) }))

  it('scores a perfect follower at 1000 and pays the full capacity-hours', () => {
    // The reading closing at t reflects the setpoint of the slot that began at t − 2 s; 108 kW is
    // a whole 60 Wh per 2-s interval, so the baseline from the registers is exact.
    const readings = meterSeries(T0, window.end, 2000, t => t <= window.start ? 108_000 : 108_000 - 40 * signalOf(t - 2000))
    const o = outcome('pairgrid/regd-score/1', window, { value: 40_000, unit: 'W' }, readings, signals(window))
    expect(o.performance).toBe(1000n)
    expect(o.paid).toBe(10_000n)
  })
  it('penalises delay, imprecision and non-response', () => {
    const s = Array.from({ length: 450 }, (_, k) => BigInt(signalOf(k * 2000)))
    expect(regulationScore(s, s).score).toBe(1000n)
    const late = [...Array(5).fill(0n), ...s.slice(0, -5)] as bigint[]
    const r = regulationScore(s, late)
    expect(r.delaySteps).toBe(5)
    expect(r.delay).toBe(966n)
    const half = s.map(v => v / 2n)
    expect(regulationScore(s, half).accuracy).toBeGreaterThan(990n)
    expect(regulationScore(s, half).precision).toBeLessThan(510n)
    expect(regulationScore(s, s.map(() => 0n)).score).toBe(0n)
    expect(correlationPm([1n, 2n, 3n], [3n, 2n, 1n])).toBeLessThan(-990n)
  })
  it('needs 2-s readings on the signal grid', () => {
    const readings = meterSeries(T0, window.end, 10_000, () => 100_000)
    expect(settlementMethod('pairgrid/regd-score/1')!.outcome({ window, quantity: { value: 40_000, unit: 'W' }, readings, signals: signals(window) })).toBeUndefined()
  })
})
