// `pairgrid/volt-var/1`: reactive support following an IEEE 1547 Category B style volt-var curve
// of the EPS voltage the meter measures. Performance = 1 − Σ|delivered − expected| / Σ capacity
// over the window's intervals; the requester pays for capacity-hours scaled by performance.
import type { SettlementMethod } from './method.js'
import { mbeSpan } from './method.js'
import { capacityHours, floorDiv, windowReadings } from './registers.js'
import { mbeBaseline } from './baseline.js'

export const VOLT_VAR = 'pairgrid/volt-var/1'

/** Curve points (per-unit × 1000 → share of capacity, per mille): (920, +1000), (990, 0), (1010, 0), (1080, −1000). */
export const VOLT_VAR_CURVE = [[920, 1000], [990, 0], [1010, 0], [1080, -1000]] as const

/** Reactive power to supply (var, positive = supplied to the grid) at a voltage, floor of the linear curve. */
export function voltVarSetpoint (voltagePu1000: number, capacityVar: number): number {
  const pts = VOLT_VAR_CURVE
  let share: bigint
  if (voltagePu1000 <= pts[0][0]) share = BigInt(pts[0][1]) * 1000n
  else if (voltagePu1000 >= pts[3][0]) share = BigInt(pts[3][1]) * 1000n
  else {
    let i = 0
    while (voltagePu1000 > pts[i + 1]![0]) i++
    const [v0, q0] = pts[i]!
    const [v1, q1] = pts[i + 1]!
    // share in millionths, linear between the two points
    share = BigInt(q0) * 1000n + floorDiv(BigInt(q1 - q0) * 1000n * BigInt(voltagePu1000 - v0), BigInt(v1 - v0))
  }
  return Number(floorDiv(share * BigInt(capacityVar), 1_000_000n))
}

export const voltVar: SettlementMethod = {
  id: VOLT_VAR,
  service: 'voltage-support',
  unit: 'var',
  divisible: true,
  signal: false,
  span: mbeSpan,
  outcome: ({ window, quantity, readings }) => {
    const d = window.end - window.start
    const mbe = mbeBaseline(readings, window, 'reactive')
    const during = windowReadings(readings, window.start, window.end)
    if (mbe === undefined || during.length === 0) return undefined
    const { baseline } = mbe
    let error = 0n
    let delivered = 0n
    for (const r of during) {
      const supplied = baseline - BigInt(r.avgVar)
      delivered += supplied
      const expected = BigInt(voltVarSetpoint(r.voltagePu, quantity.value))
      error += supplied > expected ? supplied - expected : expected - supplied
    }
    const scale = BigInt(during.length) * BigInt(quantity.value)
    const miss = (error * 1000n) / scale
    const performance = miss >= 1000n ? 0n : 1000n - miss
    return {
      baseline,
      executed: floorDiv(delivered, BigInt(during.length)),
      paid: (capacityHours(quantity.value, d) * performance) / 1000n,
      performance
    }
  }
}
