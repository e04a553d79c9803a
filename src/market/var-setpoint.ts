// `pairgrid/var-setpoint/1`: supply a constant reactive power (the request's quantity, var)
// over the window. Executed = meter-before-event baseline var − average var in the window,
// both from the cumulative varh registers.
import type { SettlementMethod } from './method.js'
import { mbeSpan } from './method.js'
import { averageW, capacityHours, clamp, netImportVarh } from './registers.js'
import { readingAt } from './dr-mbe.js'
import { mbeBaseline } from './baseline.js'

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
    const mbe = mbeBaseline(readings, window, 'reactive')
    const c = readingAt(readings, window.end)
    if (mbe === undefined || c === undefined) return undefined
    const { baseline } = mbe
    const during = netImportVarh(mbe.atStart, c)
    const executed = baseline - averageW(during, d)
    const committed = BigInt(quantity.value)
    return {
      baseline,
      executed,
      paid: clamp(mbe.energy - during, 0n, capacityHours(quantity.value, d)),
      performance: clamp((executed * 1000n) / committed, 0n, 1000n)
    }
  }
}
