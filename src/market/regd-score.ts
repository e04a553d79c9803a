// `pairgrid/regd-score/1`: frequency regulation scored in the manner of PJM Manual 12 — the
// mean of an accuracy (best correlation over delays up to 5 minutes), a delay score and a
// precision score, all per mille, in integer arithmetic. The signal is the requester's signed
// setpoint every 2 s; the response is the meter-before-event baseline minus each 2-s interval's
// average net import, normalised by the committed capacity.
import type { SettlementMethod } from './method.js'
import { mbeSpan } from './method.js'
import { capacityHours, clamp, isqrt, windowReadings } from './registers.js'
import { mbeBaseline } from './baseline.js'

export const REGD_SCORE = 'pairgrid/regd-score/1'
export const SIGNAL_INTERVAL_MS = 2000
/** Largest delay the accuracy search tries: 5 minutes of 2-s steps. */
export const MAX_DELAY_STEPS = 150

/**
 * Pearson correlation per mille, rounded toward zero: sign(num) · isqrt(⌊(1000·num)² / (dx·dy)⌋),
 * which is exactly ⌊1000·|r|⌋ with r's sign (⌊√⌊y⌋⌋ = ⌊√y⌋). 0 when either series is constant.
 */
export function correlationPm (x: readonly bigint[], y: readonly bigint[]): bigint {
  const n = BigInt(x.length)
  let sx = 0n; let sy = 0n; let sxx = 0n; let syy = 0n; let sxy = 0n
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!; const b = y[i]!
    sx += a; sy += b; sxx += a * a; syy += b * b; sxy += a * b
  }
  const dx = n * sxx - sx * sx
  const dy = n * syy - sy * sy
  if (dx <= 0n || dy <= 0n) return 0n
  const num = n * sxy - sx * sy
  const k = isqrt((num * 1000n) ** 2n / (dx * dy))
  return num < 0n ? -k : k
}

export interface RegScore { accuracy: bigint, delay: bigint, precision: bigint, score: bigint, delaySteps: number }

/** Scores a response series against a signal series (both per mille of capacity, equal length). */
export function regulationScore (signal: readonly bigint[], response: readonly bigint[]): RegScore {
  const n = signal.length
  const maxDelay = Math.min(MAX_DELAY_STEPS, Math.max(0, n - 2))
  let accuracy = -1001n
  let delaySteps = 0
  for (let d = 0; d <= maxDelay; d++) {
    const c = correlationPm(signal.slice(0, n - d), response.slice(d))
    if (c > accuracy) { accuracy = c; delaySteps = d }
  }
  accuracy = clamp(accuracy, 0n, 1000n)
  // With no correlation at any delay there is no response to time: the delay score is 0 too.
  const delay = accuracy === 0n ? 0n : (BigInt(MAX_DELAY_STEPS - delaySteps) * 1000n) / BigInt(MAX_DELAY_STEPS)
  let err = 0n; let mag = 0n
  for (let i = 0; i < n; i++) {
    const e = response[i]! - signal[i]!
    err += e < 0n ? -e : e
    mag += signal[i]! < 0n ? -signal[i]! : signal[i]!
  }
  const precision = mag === 0n ? (err === 0n ? 1000n : 0n) : clamp(1000n - (err * 1000n) / mag, 0n, 1000n)
  return { accuracy, delay, precision, score: (accuracy + delay + precision) / 3n, delaySteps }
}

export const regdScore: SettlementMethod = {
  id: REGD_SCORE,
  service: 'frequency-regulation',
  unit: 'W',
  divisible: true,
  signal: true,
  span: mbeSpan,
  outcome: ({ window, quantity, readings, signals }) => {
    const d = window.end - window.start
    if (d % SIGNAL_INTERVAL_MS !== 0) return undefined
    const mbe = mbeBaseline(readings, window, 'active')
    const during = windowReadings(readings, window.start, window.end)
    const steps = d / SIGNAL_INTERVAL_MS
    if (mbe === undefined || during.length !== steps || during.some((r, k) => r.t !== window.start + (k + 1) * SIGNAL_INTERVAL_MS)) return undefined
    const { baseline } = mbe
    const capacity = BigInt(quantity.value)
    // A slot the requester sent no setpoint for holds the previous one (0 before the first): what
    // a controller does between messages, so both sides score the signal the building could follow.
    const bySlot = new Map(signals.map(s => [s.t, BigInt(s.setpointPm)]))
    let held = 0n
    const signal = Array.from({ length: steps }, (_, k) => (held = bySlot.get(window.start + k * SIGNAL_INTERVAL_MS) ?? held))
    const response = during.map(r => clamp(((baseline - BigInt(r.avgW)) * 1000n) / capacity, -1000n, 1000n))
    const s = regulationScore(signal, response)
    return {
      baseline,
      executed: (capacity * s.score) / 1000n,
      paid: (capacityHours(quantity.value, d) * s.score) / 1000n,
      performance: s.score
    }
  }
}
