// `pairgrid/var-setpoint/1`: supply a constant reactive power (the request's quantity, var)
// over the window. Executed = meter-before-event baseline var − average var in the window,
// both from the cumulative varh registers.
import type { SettlementMethod } from './method.js'
import { mbeSpan } from './method.js'
import { averageW, capacityHours, clamp, netImportVarh } from './registers.js'
import { readingAt } from './dr-mbe.js'

export const VAR_SETPOINT = 'pairgrid/var-setpoint/1'

export const varSetpoint: SettlementMethod = {
  id: VAR_SETPOINT,
  service: 'reactive-power',
  unit: 'var',
  divisible: true,
  signal: false,
  span: mbeSpan,
  outcome: ({ window, quantity, readings }) => {
    const d = window.end - window.start
    const a = readingAt(readings, window.start - d)
    const b = readingAt(readings, window.start)
    const c = readingAt(readings, window.end)
    if (a === undefined || b === undefined || c === undefined) return undefined
    const baseline = averageW(netImportVarh(a, b), d)
    const executed = baseline - averageW(netImportVarh(b, c), d)
    const committed = BigInt(quantity.value)
    return {
      baseline,
      executed,
      paid: clamp(netImportVarh(a, b) - netImportVarh(b, c), 0n, capacityHours(quantity.value, d)),
      performance: clamp((executed * 1000n) / committed, 0n, 1000n)
    }
  }
}
