// `pairgrid/peak-cap/1`: hold net import at the PCC at or below a cap (the request's quantity)
// for every meter interval of the window. Performance = the share of compliant intervals;
// the requester pays for the peak actually shaved below the meter-before-event peak, up to the
// cap, scaled by compliance.
import type { SettlementMethod } from './method.js'
import { mbeSpan } from './method.js'
import { capacityHours, clamp, windowReadings } from './registers.js'

export const PEAK_CAP = 'pairgrid/peak-cap/1'

export const peakCap: SettlementMethod = {
  id: PEAK_CAP,
  service: 'peak-shaving',
  unit: 'W',
  divisible: false,
  signal: false,
  span: mbeSpan,
  outcome: ({ window, quantity, readings }) => {
    const before = windowReadings(readings, window.start - (window.end - window.start), window.start)
    const during = windowReadings(readings, window.start, window.end)
    if (before.length === 0 || during.length === 0) return undefined
    const cap = BigInt(quantity.value)
    const baselinePeak = before.reduce((m, r) => BigInt(r.avgW) > m ? BigInt(r.avgW) : m, BigInt(before[0]!.avgW))
    const achievedPeak = during.reduce((m, r) => BigInt(r.avgW) > m ? BigInt(r.avgW) : m, BigInt(during[0]!.avgW))
    const compliant = BigInt(during.filter(r => BigInt(r.avgW) <= cap).length)
    const performance = (compliant * 1000n) / BigInt(during.length)
    const shaved = clamp(baselinePeak - achievedPeak, 0n, clamp(baselinePeak - cap, 0n, baselinePeak))
    return {
      baseline: baselinePeak,
      executed: achievedPeak,
      paid: (capacityHours(Number(shaved), window.end - window.start) * performance) / 1000n,
      performance
    }
  }
}
