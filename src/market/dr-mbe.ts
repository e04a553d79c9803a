// Settlement method `pairgrid/dr-mbe/1`: demand response against a meter-before-event baseline.
// Baseline = average net import over the span of equal length just before the window; executed
// = baseline - average net import in the window. protocols/settlement-methods.md is normative.
import type { ReadingBody } from '../records/meter-schemas.js'
import type { Window } from '../records/common-schemas.js'
import { averageW, netImportWh } from './registers.js'

export const DR_MBE = 'pairgrid/dr-mbe/1'

/** The telemetry span the method needs: [start - (end - start), end]. */
export function drTelemetrySpan (window: Window): { from: number, to: number } {
  return { from: window.start - (window.end - window.start), to: window.end }
}

/** Looks up the reading closing exactly at `t`; the method needs readings on the span boundaries. */
export function readingAt (readings: readonly ReadingBody[], t: number): ReadingBody | undefined {
  return readings.find(r => r.t === t)
}

export interface DrOutcome { baselineW: bigint, windowW: bigint, executedW: bigint, executedWh: bigint }

/** Baseline only (the controller needs it at window start, before the window's readings exist). */
export function drBaselineW (readings: readonly ReadingBody[], window: Window): bigint | undefined {
  const span = drTelemetrySpan(window)
  const a = readingAt(readings, span.from)
  const b = readingAt(readings, window.start)
  if (a === undefined || b === undefined) return undefined
  return averageW(netImportWh(a, b), window.start - span.from)
}

export function drOutcome (readings: readonly ReadingBody[], window: Window): DrOutcome | undefined {
  const a = readingAt(readings, window.start - (window.end - window.start))
  const b = readingAt(readings, window.start)
  const c = readingAt(readings, window.end)
  if (a === undefined || b === undefined || c === undefined) return undefined
  const duration = window.end - window.start
  const before = netImportWh(a, b)
  const during = netImportWh(b, c)
  const baselineW = averageW(before, duration)
  const windowW = averageW(during, duration)
  return { baselineW, windowW, executedW: baselineW - windowW, executedWh: before - during }
}
